"""Notion frontend: MIP Candy's experiment board, one database row per run, updated as it trains.

The integration token is read from ``NOTION_TOKEN`` only (share the database with the integration).
At start the database's columns are read; the board columns that are missing are added (unless
``create_columns`` is off): :data:`BOARD` = Status, Progress, Epoch, Trainer, Model, MACs (G),
Params (M), Best score, Predicted final, Time, Folder. The row's title is the run name (whatever the
database's title column is called). Each column is written in its own type (a ``Status`` column of
type status or select, numbers, text, dates); columns the database lacks are skipped. A metric whose
name is a number column of the database (``val_score``, ``dice_Anterior``) is written too. The
parameters and the Plan go into the page body. ``transport`` and ``api_url`` let tests talk to a
local server.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from typing_extensions import override

from medseg.core.errors import ConfigError
from medseg.core.vocab import RunStatus
from medseg.tracking.base import STATUS_LABELS, ArtifactKind, BaseFrontend, flat_params, redact

Transport = Callable[[str, str, dict[str, str], dict[str, Any] | None], dict[str, Any]]
API = "https://api.notion.com/v1"
TIMEOUT_S = 10.0
#: board column -> (summary key, the column's definition when it is created)
BOARD: dict[str, tuple[str, dict[str, Any]]] = {
    "Status": ("status", {"select": {"options": [{"name": n} for n in STATUS_LABELS.values()]}}),
    "Progress": ("progress", {"number": {"format": "percent"}}),
    "Epoch": ("epoch", {"number": {}}),
    "Trainer": ("trainer", {"rich_text": {}}),
    "Model": ("model", {"rich_text": {}}),
    "MACs (G)": ("macs_g", {"number": {}}),
    "Params (M)": ("params_m", {"number": {}}),
    "Best score": ("best_score", {"number": {}}),
    "Predicted final": ("predicted_final", {"number": {}}),
    "Time": ("started", {"date": {}}),
    "Folder": ("folder", {"rich_text": {}}),
}
_TEXT_LIMIT = 2000  # characters per rich-text item


def _urllib_transport(
    method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        with contextlib.suppress(ValueError, AttributeError):
            detail = str(json.loads(detail).get("message", detail))
        raise RuntimeError(f"Notion {method} {url.split('/v1', 1)[-1]}: HTTP {exc.code} {detail}") from None


def _rich_text(text: str) -> list[dict[str, Any]]:
    chunks = [text[i : i + _TEXT_LIMIT] for i in range(0, min(len(text), 100 * _TEXT_LIMIT), _TEXT_LIMIT)]
    return [{"type": "text", "text": {"content": c}} for c in chunks or [""]]


def property_value(kind: str, value: Any, end: Any = None) -> dict[str, Any] | None:
    """The Notion property value of ``value`` for a column of type ``kind`` (None: cannot be written)."""
    if kind == "number":
        try:
            return {"number": float(value)}
        except (TypeError, ValueError):
            return None
    if kind in ("select", "status"):
        return {kind: {"name": str(value)[:100]}}
    if kind in ("rich_text", "title"):
        return {kind: _rich_text(str(value))}
    if kind == "date":
        return {"date": {"start": str(value), "end": str(end) if end else None}}
    if kind == "url":
        return {"url": str(value)}
    return None


class NotionFrontend(BaseFrontend):
    """Creates a row in ``database_id`` at start and updates its columns (see the module docstring)."""

    name = "notion"

    def __init__(
        self,
        database_id: str,
        title_property: str | None = None,
        number_properties: tuple[str, ...] = (),
        transport: Transport | None = None,
        api_url: str | None = None,
        create_columns: bool = True,
    ) -> None:
        token = os.environ.get("NOTION_TOKEN")
        if not token:
            raise ConfigError("NOTION_TOKEN: environment variable not set (the Notion frontend needs it)")
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Notion-Version": "2022-06-28",
            "Content-Type": "application/json",
        }
        self.database_id = database_id
        self.title_property = title_property
        self.number_properties = number_properties
        self.transport = transport or _urllib_transport
        self.api_url = (api_url or API).rstrip("/")
        self.create_columns = create_columns
        self.columns: dict[str, str] = {}
        self.page_id: str | None = None
        self.summary: dict[str, Any] = {}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.transport(method, f"{self.api_url}/{path}", self._headers, body)

    def _read_columns(self) -> None:
        schema = self._call("GET", f"databases/{self.database_id}")
        self.columns = {name: str(spec.get("type")) for name, spec in schema.get("properties", {}).items()}
        missing = {c: spec for c, (_, spec) in BOARD.items() if c not in self.columns}
        if missing and self.create_columns:
            self._call("PATCH", f"databases/{self.database_id}", {"properties": missing})
            self.columns.update({c: next(iter(spec)) for c, spec in missing.items()})
        if self.title_property is None:
            self.title_property = next((n for n, t in self.columns.items() if t == "title"), "Name")

    @override
    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Read (and complete) the board's columns; create the run's row, or continue row ``run_id``."""
        self._read_columns()
        if run_id is not None:
            self.page_id = run_id
            return run_id
        assert self.title_property is not None
        summary = "; ".join(f"{k}={v}" for k, v in flat_params(params).items())
        body = {
            "parent": {"database_id": self.database_id},
            "properties": {self.title_property: {"title": _rich_text(run_name[:_TEXT_LIMIT])}},
            "children": [
                {"object": "block", "type": "paragraph", "paragraph": {"rich_text": _rich_text(summary)}}
            ],
        }
        self.page_id = str(self._call("POST", "pages", body)["id"])
        return self.page_id

    def _update(self, properties: dict[str, Any]) -> None:
        if properties:
            self._call("PATCH", f"pages/{self.page_id}", {"properties": properties})

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Metrics named like a number column of the database (or listed in ``number_properties``)."""
        props: dict[str, Any] = {}
        for key, value in metrics.items():
            if key in self.number_properties or self.columns.get(key) == "number":
                prop = property_value("number", value)
                if prop is not None and prop["number"] == prop["number"]:
                    props[key] = prop
        self._update(props)

    @override
    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Write the board columns the database has."""
        self.summary.update(summary)
        props: dict[str, Any] = {}
        for column, (key, _) in BOARD.items():
            kind = self.columns.get(column)
            if kind is None or summary.get(key) is None:
                continue
            end = self.summary.get("ended") if key == "started" else None
            prop = property_value(kind, redact(summary[key]), end)
            if prop is not None:
                props[column] = prop
        self._update(props)

    @override
    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Append the document to the page body as a JSON code block under a heading."""
        text = json.dumps(redact(dict(document)), indent=1)
        children = [
            {"object": "block", "type": "heading_3", "heading_3": {"rich_text": _rich_text(name)}},
            {"object": "block", "type": "code", "code": {"language": "json", "rich_text": _rich_text(text)}},
        ]
        self._call("PATCH", f"blocks/{self.page_id}/children", {"children": children})

    @override
    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Notion pages cannot receive local files through the API; nothing to do."""

    @override
    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Set the Status column to the run's end (Completed, Interrupted or Failed) if not already."""
        label = STATUS_LABELS[status]
        if self.page_id is not None and self.summary.get("status") != label:
            self.log_summary({"status": label})
