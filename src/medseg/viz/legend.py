"""The class colour legend: a matplotlib legend for figures, a drawn strip for GIF frames."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from medseg.viz.colors import class_color, rgb01

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

#: a legend longer than this lists only the classes present in the figure
MAX_ENTRIES = 24


def legend_entries(names: Mapping[int, str], present: list[int]) -> dict[int, str]:
    """``{value: name}`` to list: every named class, or only the present ones when too many."""
    entries = {v: n for v, n in names.items() if v != 0}
    if len(entries) > MAX_ENTRIES:
        entries = {v: n for v, n in entries.items() if v in present}
    return entries


def add_class_legend(fig: Figure, entries: Mapping[int, str], **kwargs: Any) -> Legend | None:
    """A legend of colour patches, one per class, below the figure's axes (``None`` if no classes)."""
    if not entries:
        return None
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=rgb01(class_color(v)), edgecolor="black", linewidth=0.5, label=f"{v}: {n}")
        for v, n in entries.items()
    ]
    options: dict[str, Any] = {
        "loc": "lower center",
        "ncol": min(len(handles), 6),
        "fontsize": 8,
        "frameon": False,
    }
    options.update(kwargs)
    return fig.legend(handles=handles, **options)


def legend_rows(entries: Mapping[int, str], width: int, font_size: int = 11) -> int:
    """Number of rows :func:`draw_legend_strip` needs for ``entries`` at ``width`` pixels."""
    return len(_layout(entries, width, font_size))


def _layout(entries: Mapping[int, str], width: int, font_size: int) -> list[list[tuple[int, str, int]]]:
    from PIL import ImageFont

    font = ImageFont.load_default(size=font_size)
    rows: list[list[tuple[int, str, int]]] = [[]]
    x = 4
    for value, name in entries.items():
        text = f"{value}: {name}"
        w = font_size + 4 + int(font.getlength(text)) + 10
        if rows[-1] and x + w > width:
            rows.append([])
            x = 4
        rows[-1].append((value, text, x))
        x += w
    return rows if rows[0] else []


def draw_legend_strip(entries: Mapping[int, str], width: int, font_size: int = 11) -> np.ndarray:
    """``(h, width, 3)`` uint8 strip: a colour swatch and ``value: name`` per class (``h = 0`` if none)."""
    from PIL import Image, ImageDraw, ImageFont

    rows = _layout(entries, width, font_size)
    line = font_size + 6
    strip = Image.new("RGB", (width, line * len(rows)), (20, 20, 20))
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=font_size)
    for r, row in enumerate(rows):
        top = r * line + 3
        for value, text, x in row:
            swatch = [x, top, x + font_size, top + font_size]
            draw.rectangle(swatch, fill=class_color(value), outline=(255, 255, 255))
            draw.text((x + font_size + 4, top - 1), text, fill=(235, 235, 235), font=font)
    return np.asarray(strip, dtype=np.uint8).reshape(line * len(rows), width, 3)
