"""HTML pieces of the static report: escaping, embedded images, sortable tables, the page itself.

Everything is inline (CSS, JavaScript, images as ``data:`` URIs), so one file works offline and can
be mailed or archived. Clicking a table header sorts by that column (again: reverse). When the page
has loaded, ``<body>`` gets ``data-images-ok`` ("true" when every image decoded),
``data-images-total`` and ``data-images-broken``, which a headless browser test can read.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MIME = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;
background:#f6f7f9}
header{background:#1f3b57;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85;font-size:13px}nav{padding:8px 28px;background:#e6ebf0;font-size:13px}
nav a{margin-right:14px;color:#1f3b57}main{max-width:1240px;margin:0 auto;padding:8px 28px 40px}
section{background:#fff;border:1px solid #dde3e9;border-radius:6px;margin:18px 0;padding:12px 18px}
h2{font-size:18px;margin:6px 0 10px;color:#1f3b57}h3{font-size:15px;margin:14px 0 6px}
.na{color:#8a5a00;background:#fff7e0;border-left:3px solid #e0a800;padding:6px 10px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #d5dbe1;padding:3px 8px}
th{background:#eef2f6;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}table.sortable th.asc:after{content:" \\25B2"}
table.sortable th.desc:after{content:" \\25BC"}tbody tr:nth-child(even){background:#f8fafb}
.scroll{max-height:520px;overflow:auto}figure{display:inline-block;margin:6px 10px 6px 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #dde3e9}figcaption{font-size:12px;color:#56616c}
ul.reasons li{margin:2px 0}code{background:#eef2f6;padding:0 3px;border-radius:3px}
"""

SCRIPT = """
function medsegKey(cell, numeric) {
  var v = cell.getAttribute('data-v');
  if (v === null) { v = cell.textContent; }
  if (!numeric) { return v; }
  return v === '' ? NaN : Number(v);
}
function medsegSort(th) {
  var table = th.closest('table');
  var index = Array.prototype.indexOf.call(th.parentNode.children, th);
  var ascending = !th.classList.contains('asc');
  var numeric = th.getAttribute('data-type') === 'num';
  table.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
  th.classList.add(ascending ? 'asc' : 'desc');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = medsegKey(a.cells[index], numeric), y = medsegKey(b.cells[index], numeric);
    if (numeric) {
      if (isNaN(x) && isNaN(y)) { return 0; }
      if (isNaN(x)) { return 1; }
      if (isNaN(y)) { return -1; }
      if (x === y) { return 0; }
      return ascending ? (x < y ? -1 : 1) : (x < y ? 1 : -1);
    }
    return ascending ? String(x).localeCompare(String(y)) : String(y).localeCompare(String(x));
  });
  rows.forEach(function (r) { body.appendChild(r); });
}
document.addEventListener('click', function (event) {
  var th = event.target.closest('table.sortable th');
  if (th) { medsegSort(th); }
});
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.setAttribute('data-images-total', String(images.length));
  document.body.setAttribute('data-images-broken', String(broken.length));
  document.body.setAttribute('data-images-ok', broken.length === 0 ? 'true' : 'false');
});
"""


def esc(value: object) -> str:
    """``value`` as HTML-escaped text."""
    return html.escape(str(value), quote=True)


def data_uri(data: bytes, mime: str) -> str:
    """A ``data:`` URI holding ``data``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def file_data_uri(path: Path) -> str:
    """The image file at ``path`` as a ``data:`` URI (type from its suffix)."""
    return data_uri(path.read_bytes(), MIME.get(path.suffix.lower(), "application/octet-stream"))


def figure_data_uri(fig: Figure, dpi: int = 90) -> str:
    """A matplotlib Figure rendered to PNG, as a ``data:`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return data_uri(buffer.getvalue(), "image/png")


def image(src: str, caption: str, width: int | None = None) -> str:
    """A captioned ``<figure>`` with an ``<img>`` of ``src`` (a data URI)."""
    style = f' style="max-width:{width}px"' if width else ""
    return (
        f'<figure><img src="{src}" alt="{esc(caption)}"{style}>'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def not_available(what: str, reason: str = "") -> str:
    """The notice shown instead of a missing piece."""
    detail = f" ({esc(reason)})" if reason else ""
    return f'<p class="na">{esc(what)}: not available{detail}</p>'


def link(href: str, text: str) -> str:
    """A relative link."""
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def _cell(value: object, digits: int) -> tuple[str, str | None, bool]:
    """(text, sort key or None, numeric?) of one table cell."""
    if isinstance(value, bool) or value is None:
        return ("" if value is None else str(value)), None, False
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value), None, False
        if math.isnan(number):
            return "", "", True
        if math.isinf(number):
            return ("inf" if number > 0 else "-inf"), ("Infinity" if number > 0 else "-Infinity"), True
        integral = number.is_integer() and abs(number) < 1e15 and not isinstance(value, float)
        text = str(int(number)) if integral else f"{number:.{digits}g}"
        return text, repr(number), True
    return str(value), None, False


def table(
    frame: pd.DataFrame,
    *,
    table_id: str = "",
    sortable: bool = True,
    digits: int = 4,
    sorted_by: str | None = None,
    scroll: bool = False,
    markup: Sequence[str] = (),
) -> str:
    """``frame`` as an HTML table (index not shown); numeric cells carry their exact value for sorting.

    Cells of the ``markup`` columns are HTML already (links) and are inserted as they are.
    """
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns}
    heads = []
    for c in frame.columns:
        kind = ' data-type="num"' if numeric[c] else ""
        order = ' class="asc"' if sorted_by is not None and c == sorted_by else ""
        heads.append(f"<th{kind}{order}>{esc(c)}</th>")
    body = []
    raw = [c in markup for c in frame.columns]
    for row in frame.itertuples(index=False):
        cells = []
        for value, is_raw in zip(row, raw):
            if is_raw:
                cells.append(f"<td>{value}</td>")
                continue
            text, key, is_num = _cell(value, digits)
            attr = f' data-v="{esc(key)}"' if key is not None else ""
            cls = ' class="num"' if is_num else ""
            cells.append(f"<td{cls}{attr}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    cls = ' class="sortable"' if sortable else ""
    html_ = (
        f"<table{ident}{cls}><thead><tr>{''.join(heads)}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return f'<div class="scroll">{html_}</div>' if scroll else html_


def section(anchor: str, title: str, body: str) -> str:
    """One titled ``<section>``."""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document: header, a navigation line, then ``(anchor, title, body)`` sections."""
    nav = "".join(link(f"#{anchor}", name) for anchor, name, _ in sections)
    main = "".join(section(anchor, name, body) for anchor, name, body in sections)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><nav>{nav}</nav>"
        f"<main>{main}</main><script>{SCRIPT}</script></body></html>\n"
    )
