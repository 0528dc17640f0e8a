"""A local HTTP server that answers like the Notion API (the calls the Notion frontend makes)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeNotion:
    """One database (``db-1``) with a title column ``Exp ID``; records every request."""

    def __init__(self) -> None:
        self.columns: dict[str, dict[str, Any]] = {
            "Exp ID": {"type": "title"},
            "Note": {"type": "rich_text"},
            "val_score": {"type": "number"},
        }
        self.pages: dict[str, dict[str, Any]] = {}
        self.children: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path, headers, body))
        if headers.get("Authorization") != "Bearer notion-secret-123":
            return 401, {"message": "API token is invalid."}
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if parts[0] == "databases" and method == "GET":
            return 200, {"properties": {k: {"type": v["type"]} for k, v in self.columns.items()}}
        if parts[0] == "databases" and method == "PATCH":
            for name, spec in body["properties"].items():
                self.columns[name] = {"type": next(iter(spec))}
            return 200, {}
        if parts == ["pages"] and method == "POST":
            page_id = f"page-{len(self.pages) + 1}"
            self.pages[page_id] = dict(body["properties"])
            self.children[page_id] = list(body.get("children", []))
            return 200, {"id": page_id}
        if parts[0] == "pages" and method == "PATCH":
            unknown = [k for k in body["properties"] if k not in self.columns]
            if unknown:
                return 400, {"message": f"{unknown[0]} is not a property that exists."}
            self.pages[parts[1]].update(body["properties"])
            return 200, {"id": parts[1]}
        if parts[0] == "blocks" and method == "PATCH":
            self.children[parts[1]].extend(body["children"])
            return 200, {}
        return 404, {"message": f"no route {method} {path}"}


@contextmanager
def serve() -> Iterator[tuple[FakeNotion, str]]:
    """Run a :class:`FakeNotion` on a free port of 127.0.0.1; yields it and its API base URL."""
    notion = FakeNotion()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = notion.handle(self.command, self.path, dict(self.headers), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield notion, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
