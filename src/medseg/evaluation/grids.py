"""A prediction is scored on its reference's grid: same shape, spacing, origin and direction.

Comparing arrays of different grids voxel by voxel gives numbers that mean nothing (a prediction
shifted by 51 mm scored Dice 1.0), so a mismatch is an error naming both grids, unless the user asks
to resample the prediction onto the reference (nearest neighbour, in physical space).
"""

from __future__ import annotations

import numpy as np

from medseg.core.errors import DatasetError
from medseg.io import Image


def _describe(image: Image) -> str:
    g = image.geometry
    spacing = ", ".join(f"{v:g}" for v in g.spacing)
    origin = ", ".join(f"{v:g}" for v in g.origin)
    return f"shape {list(image.spatial_shape)}, spacing ({spacing}), origin ({origin})"


def prediction_on_reference_grid(
    prediction: Image, reference: Image, case_id: str, resample: bool = False, source: str = ""
) -> np.ndarray:
    """The prediction's label map on the reference's grid (or one-line :class:`DatasetError`)."""
    same = tuple(prediction.spatial_shape) == tuple(reference.spatial_shape) and prediction.geometry.is_close(
        reference.geometry
    )
    if same:
        return prediction.array[0]
    if resample:
        from medseg.io.resample import resample_like

        return resample_like(prediction, reference, is_label=True).array[0]
    where = f"{source}: " if source else ""
    raise DatasetError(
        f"{where}case {case_id}: the prediction's grid ({_describe(prediction)}) differs from the "
        f"reference's ({_describe(reference)}); resample it onto the reference with --resample"
    )
