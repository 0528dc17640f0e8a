"""One colour per class value, the same in every figure, GIF and report; value 0 is never drawn.

Values 1-12 get hand-picked, well separated colours (1 red, 2 green, 3 blue, ... as in ITK-SNAP's
defaults); higher values (TotalSegmentator has 117 classes) get hues stepped by the golden angle,
so neighbouring values still differ. Class names are ``{value: name}``; a Plan's ``labels``
(``{name: value}``) is accepted too.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Mapping

import numpy as np

_FIXED: tuple[tuple[int, int, int], ...] = (
    (230, 25, 35),  # 1 red
    (40, 190, 60),  # 2 green
    (40, 100, 240),  # 3 blue
    (250, 210, 20),  # 4 yellow
    (0, 210, 220),  # 5 cyan
    (220, 40, 210),  # 6 magenta
    (245, 130, 40),  # 7 orange
    (145, 60, 200),  # 8 purple
    (170, 255, 120),  # 9 lime
    (255, 150, 190),  # 10 pink
    (150, 100, 40),  # 11 brown
    (0, 128, 128),  # 12 teal
)
_GOLDEN = 0.618033988749895


def class_color(value: int) -> tuple[int, int, int]:
    """The RGB colour (0-255) of class ``value`` (``value >= 1``); deterministic and stable."""
    value = int(value)
    if value < 1:
        raise ValueError(f"class value {value} has no colour: background (0) is transparent")
    if value <= len(_FIXED):
        return _FIXED[value - 1]
    hue = (value * _GOLDEN) % 1.0
    sat = 0.65 + 0.3 * ((value * 7) % 3) / 2
    val = 0.95 - 0.2 * ((value * 5) % 2)
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return round(r * 255), round(g * 255), round(b * 255)


def rgb01(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    """A 0-255 RGB colour as matplotlib's 0-1 floats."""
    return colour[0] / 255.0, colour[1] / 255.0, colour[2] / 255.0


def color_table(max_value: int) -> np.ndarray:
    """``(max_value + 1, 3)`` uint8 lookup table; row 0 (background) is black and never drawn."""
    table = np.zeros((max(int(max_value), 0) + 1, 3), dtype=np.uint8)
    for v in range(1, len(table)):
        table[v] = class_color(v)
    return table


def class_names_of(
    names: Mapping[int, str] | Mapping[str, int] | None, values: Iterable[int] = ()
) -> dict[int, str]:
    """``{value: name}`` for the named classes plus ``values`` (unnamed ones become ``class <v>``).

    Background (0) is left out; a mapping of ``{name: value}`` (a Plan's ``labels``) is inverted.
    """
    out: dict[int, str] = {}
    for key, item in (names or {}).items():
        if isinstance(key, str) and not key.lstrip("-").isdigit():
            value, name = int(item), key  # {name: value}
        else:
            value, name = int(key), str(item)
        if value != 0:
            out[value] = name
    for v in values:
        v = int(v)
        if v != 0 and v not in out:
            out[v] = f"class {v}"
    return dict(sorted(out.items()))


def present_values(*labels: np.ndarray | None) -> list[int]:
    """Sorted foreground values found in any of the label arrays."""
    found: set[int] = set()
    for label in labels:
        if label is not None:
            found.update(int(v) for v in np.unique(label) if v != 0)
    return sorted(found)
