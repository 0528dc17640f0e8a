"""Physical geometry of a voxel grid: spacing, origin and direction.

Conventions (decided once, used everywhere):

* ``spacing``, ``origin`` and ``direction`` follow ITK/SimpleITK, i.e. physical axis order
  ``(x, y, z)`` in LPS millimetres, and ``direction`` is the row-major ``d x d`` matrix whose
  *columns* are the directions of the grid's index axes. These are the numbers a user sees in
  ITK-SNAP, 3D Slicer or ``SimpleITK.Image.GetSpacing()``.
* Arrays are in NumPy order, channels first: ``(C, z, y, x)`` for 3D and ``(C, y, x)`` for 2D.
  :attr:`Geometry.array_spacing` gives the spacing in that array-axis order, which is what
  planning, resampling and networks need.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _as_floats(values: Sequence[float], name: str) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"Geometry.{name} must be finite, got {out}")
    return out


@dataclass(frozen=True)
class Geometry:
    """Where a voxel grid sits in physical space (ITK convention, see the module docstring)."""

    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    def __post_init__(self) -> None:
        spacing = _as_floats(self.spacing, "spacing")
        origin = _as_floats(self.origin, "origin")
        direction = _as_floats(self.direction, "direction")
        dim = len(spacing)
        if dim not in (2, 3):
            raise ValueError(f"Geometry must be 2D or 3D, got spacing {spacing}")
        if len(origin) != dim or len(direction) != dim * dim:
            raise ValueError(
                f"Geometry sizes disagree: spacing {spacing}, origin {origin}, direction {direction}"
            )
        if any(s <= 0 for s in spacing):
            raise ValueError(f"Geometry.spacing must be positive, got {spacing}")
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "direction", direction)

    @classmethod
    def identity(cls, dim: int = 3, spacing: Sequence[float] | None = None) -> Geometry:
        """A grid at the origin with identity direction and the given (ITK-order) spacing."""
        sp = tuple(spacing) if spacing is not None else (1.0,) * dim
        return cls(sp, (0.0,) * dim, tuple(np.eye(dim).ravel().tolist()))

    @classmethod
    def from_array_spacing(cls, array_spacing: Sequence[float]) -> Geometry:
        """An identity geometry from a spacing given in array-axis order ``(z, y, x)``."""
        return cls.identity(len(array_spacing), tuple(reversed(tuple(array_spacing))))

    @property
    def dim(self) -> int:
        """Number of spatial dimensions (2 or 3)."""
        return len(self.spacing)

    @property
    def array_spacing(self) -> tuple[float, ...]:
        """Spacing in NumPy array-axis order, e.g. ``(z, y, x)`` for 3D."""
        return tuple(reversed(self.spacing))

    @property
    def direction_matrix(self) -> np.ndarray:
        """Direction as a ``(d, d)`` array; column ``i`` is the physical direction of index axis ``i``."""
        return np.asarray(self.direction, dtype=np.float64).reshape(self.dim, self.dim)

    def index_to_physical(self, index_xyz: np.ndarray) -> np.ndarray:
        """Map continuous ITK-order indices ``(..., d)`` (x first) to physical points ``(..., d)``."""
        idx = np.asarray(index_xyz, dtype=np.float64)
        scaled = idx * np.asarray(self.spacing)
        return scaled @ self.direction_matrix.T + np.asarray(self.origin)

    def physical_to_index(self, points: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`index_to_physical`."""
        pts = np.asarray(points, dtype=np.float64) - np.asarray(self.origin)
        return (pts @ np.linalg.inv(self.direction_matrix).T) / np.asarray(self.spacing)

    def is_close(self, other: Geometry, *, rtol: float = 1e-5, atol: float = 1e-4) -> bool:
        """True when both grids coincide up to floating-point noise in header storage."""
        return (
            self.dim == other.dim
            and np.allclose(self.spacing, other.spacing, rtol=rtol, atol=atol)
            and np.allclose(self.origin, other.origin, rtol=rtol, atol=atol)
            and np.allclose(self.direction, other.direction, rtol=rtol, atol=atol)
        )

    def to_dict(self) -> dict[str, list[float]]:
        """A JSON-serialisable representation."""
        return {"spacing": list(self.spacing), "origin": list(self.origin), "direction": list(self.direction)}

    @classmethod
    def from_dict(cls, data: dict[str, Sequence[float]]) -> Geometry:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["spacing"]), tuple(data["origin"]), tuple(data["direction"]))
