"""Pieces both report kinds share: guarded sections, plan facts, embedded image galleries, file links."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from medseg.viz.html import MIME, esc, file_data_uri, image, link, not_available, table

#: images larger than this are linked, not embedded
MAX_EMBED_BYTES = 8 * 1024 * 1024

Section = tuple[str, str, str]


def guarded(what: str, build: Callable[[], str]) -> str:
    """``build()``, or a "not available" notice naming the error: a report never fails on bad input."""
    try:
        return build()
    except FileNotFoundError as exc:
        return not_available(what, f"missing {Path(exc.filename).name}" if exc.filename else str(exc))
    except Exception as exc:
        return not_available(what, f"{type(exc).__name__}: {exc}")


def href(path: Path, root: Path) -> str:
    """The relative URL of ``path`` from the report in ``root``."""
    return quote(path.relative_to(root).as_posix())


def _compact(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def facts_table(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of ``(key, value)`` facts, skipping missing values."""
    import pandas as pd

    rows = [(k, _compact(v)) for k, v in pairs if v is not None and v != {} and v != []]
    if not rows:
        return not_available("facts")
    return table(pd.DataFrame(rows, columns=["key", "value"]), sortable=False)


def reasons_list(reasons: Sequence[str], what: str) -> str:
    """The planner's reasons as a bulleted list."""
    if not reasons:
        return not_available(what)
    return '<ul class="reasons">' + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>"


def gallery(paths: Sequence[Path], root: Path, what: str) -> str:
    """Every image of ``paths`` embedded with its relative path as caption ("not available" if none)."""
    shown = [p for p in paths if p.suffix.lower() in MIME]
    if not shown:
        return not_available(what, "no image files")
    parts = []
    for path in shown:
        if path.stat().st_size > MAX_EMBED_BYTES:
            parts.append(f"<p>{link(href(path, root), path.name)} (too large to embed)</p>")
        else:
            parts.append(image(file_data_uri(path), href(path, root)))
    return "".join(parts)


def _size(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def file_links(root: Path, patterns: Sequence[str]) -> str:
    """A list of relative links to the files matching ``patterns`` under ``root``, with their sizes."""
    found: list[Path] = []
    for pattern in patterns:
        found.extend(p for p in sorted(root.glob(pattern)) if p.is_file() and p not in found)
    if not found:
        return not_available("files")
    items = "".join(
        f"<li>{link(href(p, root), href(p, root))} <small>({_size(p)})</small></li>" for p in found
    )
    return f"<ul>{items}</ul>"
