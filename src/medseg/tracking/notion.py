"""Notion frontend: one database row per run, updated with the latest metrics.

The integration token is read from ``NOTION_TOKEN`` only. The database needs a title property
(``Name`` by default); metrics are written into number properties of the same name when the
database has them, and the full latest metrics as text in ``Summary`` when it has that property.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from medseg.core.errors import ConfigError
from medseg.tracking.base import flat_params

Transport = Callable[[str, str, dict[str, str], dict[str, Any]], dict[str, Any]]
API = "https://api.notion.com/v1"


def _urllib_transport(method: str, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


class NotionFrontend:
    """Creates a page in ``database_id`` at start and patches its properties after each epoch."""

    def __init__(self, database_id: str, title_property: str = "Name", number_properties: tuple[str, ...] = (),
                 transport: Transport | None = None) -> None:
        token = os.environ.get("NOTION_TOKEN")
        if not token:
            raise ConfigError("NOTION_TOKEN: environment variable not set (the Notion frontend needs it)")
        self._headers = {"Authorization": f"Bearer {token}", "Notion-Version": "2022-06-28",
                         "Content-Type": "application/json"}
        self.database_id = database_id
        self.title_property = title_property
        self.number_properties = number_properties
        self.transport = transport or _urllib_transport
        self.page_id: str | None = None

    def start(self, run_name: str, params: Mapping[str, Any]) -> None:
        """Create the run's row."""
        summary = "; ".join(f"{k}={v}" for k, v in flat_params(params).items())[:1900]
        body = {"parent": {"database_id": self.database_id},
                "properties": {self.title_property: {"title": [{"text": {"content": run_name}}]}},
                "children": [{"object": "block", "type": "paragraph",
                              "paragraph": {"rich_text": [{"text": {"content": summary}}]}}]}
        self.page_id = str(self.transport("POST", f"{API}/pages", self._headers, body)["id"])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Write the chosen metrics into the row's number properties."""
        props: dict[str, Any] = {k: {"number": float(metrics[k])} for k in self.number_properties if k in metrics}
        if not props:
            return
        self.transport("PATCH", f"{API}/pages/{self.page_id}", self._headers, {"properties": props})

    def log_artifact(self, path: Path) -> None:
        """Notion pages cannot receive local files through the API; nothing to do."""

    def finish(self) -> None:
        """Nothing to close."""
