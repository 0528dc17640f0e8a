"""Rotation and scaling matrices in array-axis order, and their conversion to a sampling grid.

Matrices act on voxel coordinates relative to the patch centre, in NumPy array-axis order
(axis 0 first). A point ``c`` of the output is read from ``M @ c`` of the input (a "pull" map), so
a scale above one shows a larger field of view (nnU-Net's convention for ``scaling=(0.7, 1.4)``).
"""

from __future__ import annotations

import torch
from torch import Tensor


def plane_rotation(angle: Tensor, dims: int, first: int, second: int) -> Tensor:
    """``(N, dims, dims)`` rotations by ``angle`` (radians, ``(N,)``) in the plane of two array axes."""
    matrix = torch.eye(dims, dtype=angle.dtype, device=angle.device).repeat(angle.shape[0], 1, 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    matrix[:, first, first] = cos
    matrix[:, first, second] = -sin
    matrix[:, second, first] = sin
    matrix[:, second, second] = cos
    return matrix


def rotation_matrix(degrees: Tensor, dims: int) -> Tensor:
    """Pull matrices that turn the content by angles in degrees: ``(N,)`` in 2D, ``(N, 3)`` in 3D.

    In 2D a positive angle turns the content like ``torch.rot90(k=1)`` on spatial axes ``(0, 1)``.
    In 3D angle ``a`` is about array axis ``a`` and turns like ``torch.rot90(k=1)`` on the spatial
    axes ``(1, 2)``, ``(2, 0)`` and ``(0, 1)`` respectively; the pull matrix is ``P0 @ P1 @ P2``
    (the content turns about axis 2 first, then 1, then 0).
    """
    radians = -torch.deg2rad(degrees)
    if dims == 2:
        return plane_rotation(radians.reshape(-1), 2, 0, 1)
    radians = radians.reshape(-1, 3)
    r0 = plane_rotation(radians[:, 0], 3, 1, 2)
    r1 = plane_rotation(radians[:, 1], 3, 2, 0)
    r2 = plane_rotation(radians[:, 2], 3, 0, 1)
    return r0 @ r1 @ r2


def sampling_grid(matrix: Tensor, shape: tuple[int, ...], displacement: Tensor | None = None) -> Tensor:
    """The ``grid_sample`` grid (``(N, *shape, dims)``, x-y-z order, ``align_corners=False``) of a pull map.

    ``matrix`` is ``(N, dims, dims)`` in array order and voxel units; ``displacement`` an optional
    ``(N, dims, *shape)`` field in voxels (array order) added to the mapped coordinates.
    """
    n, dims = matrix.shape[0], len(shape)
    half = torch.tensor(shape, dtype=matrix.dtype, device=matrix.device) / 2
    # normalised pull map, rows reversed so that the last grid axis is x-y-z
    rows = (matrix * half[None, None, :] / half[None, :, None]).flip(1)
    # sum of per-axis outer products: only the last addition touches the full grid (affine_grid's
    # batched matrix product is several times slower on the CPU)
    grid: Tensor | None = None
    for axis, size in enumerate(shape):
        line = (2 * torch.arange(size, dtype=matrix.dtype, device=matrix.device) + 1) / size - 1
        view = [1] * (dims + 2)
        view[axis + 1] = size
        term = line.reshape(view) * rows[:, :, axis].reshape(n, *([1] * dims), dims)
        grid = term if grid is None else grid + term
    assert grid is not None
    if displacement is not None:
        scaled = displacement / half.reshape(1, dims, *([1] * dims))
        grid = grid + scaled.flip(1).movedim(1, -1)
    return grid
