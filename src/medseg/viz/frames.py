"""Animation frames: panels side by side under a caption line, with the class legend strip below."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from medseg.viz.legend import draw_legend_strip

BACKGROUND = (20, 20, 20)
_GAP = 4
_FONT = 11
#: frames are at least this wide, so that caption and legend fit
_MIN_WIDTH = 360


def evenly_spaced(count: int, cap: int) -> list[int]:
    """``range(count)`` when ``count <= cap``, else ``cap`` indices spread evenly from first to last."""
    if count <= cap:
        return list(range(count))
    return sorted({round(float(v)) for v in np.linspace(0, count - 1, cap)})


def compose_frame(
    panels: Sequence[np.ndarray], titles: Sequence[str], caption: str, legend: Mapping[int, str]
) -> np.ndarray:
    """One ``(h, w, 3)`` uint8 frame: ``caption``, then the titled panels in a row, then the legend."""
    from PIL import Image, ImageDraw, ImageFont

    line = _FONT + 6
    height = max(p.shape[0] for p in panels)
    width = max(sum(p.shape[1] for p in panels) + _GAP * (len(panels) + 1), _MIN_WIDTH)
    strip = draw_legend_strip(legend, width, _FONT)
    canvas = Image.new("RGB", (width, 2 * line + height + _GAP + strip.shape[0]), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=_FONT)
    draw.text((_GAP, 2), caption, fill=(255, 255, 255), font=font)
    x = _GAP
    for panel, title in zip(panels, titles):
        draw.text((x, line + 1), title, fill=(200, 200, 200), font=font)
        canvas.paste(Image.fromarray(np.ascontiguousarray(panel), "RGB"), (x, 2 * line))
        x += panel.shape[1] + _GAP
    if strip.shape[0]:
        canvas.paste(Image.fromarray(strip, "RGB"), (0, 2 * line + height + _GAP))
    return np.asarray(canvas, dtype=np.uint8)
