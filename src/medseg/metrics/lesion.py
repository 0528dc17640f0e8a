"""Lesion-wise metrics, BraTS-2023 style: each reference lesion is scored on its own.

Steps (binary masks, ``spacing`` in array-axis order, mm):

1. Lesions are the connected components (``cc3d``; 26-/8-connectivity by default) of the reference
   and the prediction; components smaller than ``min_size_voxels`` or ``min_size_mm3`` are dropped
   from both before anything else.
2. Matching by overlap: a predicted component matches a reference lesion when it overlaps that
   lesion dilated by ``dilation_iterations`` (0 = plain overlap; BraTS uses 3) full-connectivity
   dilations. A reference lesion with a match is detected (true positive).
3. Each reference lesion is scored against the union of the predicted components that match it:
   Dice, HD95 and NSD. A missed lesion (false negative) scores Dice 0, NSD 0 and HD95 =
   ``max_distance`` (default: the image diagonal in mm, BraTS uses a fixed 374 mm).
4. Every predicted component that matches no reference lesion is a false positive lesion, scored
   Dice 0, NSD 0 and HD95 = ``max_distance``.
5. The lesion-wise value is the sum over reference lesions and false positives divided by their
   number, so false positives pull the mean down. Detection rate = detected / reference lesions.

Empty cases: no reference lesion and no predicted lesion -> Dice/NSD/detection ``empty_value`` (1),
HD95 0; no reference lesion but false positives -> Dice/NSD 0, HD95 ``max_distance``, detection
``empty_value`` (nothing could be missed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from medseg.metrics._inputs import ArrayLike, as_mask_pair, as_spacing
from medseg.metrics.surface_dice import normalized_surface_dice
from medseg.metrics.surface_distance import hd95, image_diagonal

Connectivity = Literal[4, 6, 8, 18, 26]


@dataclass(frozen=True)
class LesionScores:
    """Lesion-wise results of one case; the per-lesion lists are in reference-label order, then FPs."""

    dice: float
    hd95: float
    nsd: float
    detection_rate: float
    n_reference: int
    n_detected: int
    n_false_positive: int
    lesion_dice: tuple[float, ...]
    lesion_hd95: tuple[float, ...]
    lesion_nsd: tuple[float, ...]


def lesion_components(
    mask: np.ndarray,
    spacing: Sequence[float],
    min_size_voxels: int = 0,
    min_size_mm3: float = 0.0,
    connectivity: int | None = None,
) -> tuple[np.ndarray, int]:
    """Connected-component labels (0 = background, 1..n) with lesions under the size limits removed."""
    import cc3d

    conn = connectivity if connectivity is not None else (26 if mask.ndim == 3 else 8)
    if conn not in ((4, 8) if mask.ndim == 2 else (6, 18, 26)):
        raise ValueError(f"connectivity {conn} is not valid for a {mask.ndim}-D mask")
    labels = np.asarray(
        cc3d.connected_components(mask.astype(np.uint8), connectivity=cast(Connectivity, conn))
    )
    n = int(labels.max())
    if n == 0:
        return labels.astype(np.int64), 0
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    limit = max(float(min_size_voxels), min_size_mm3 / float(np.prod(spacing)))
    keep = sizes >= limit
    keep[0] = False
    new_ids = np.zeros(n + 1, dtype=np.int64)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1)
    return new_ids[labels], int(keep.sum())


def _union_box(boxes: Sequence[tuple[slice, ...] | None]) -> tuple[slice, ...]:
    real = [b for b in boxes if b is not None]
    return tuple(
        slice(min(b[a].start for b in real), max(b[a].stop for b in real)) for a in range(len(real[0]))
    )


def _dilated(
    labels: np.ndarray, lesion_id: int, box: tuple[slice, ...], iterations: int
) -> tuple[tuple[slice, ...], np.ndarray]:
    """The box of lesion ``lesion_id`` grown by ``iterations`` and the dilated lesion inside it."""
    from scipy import ndimage

    grown_box = tuple(slice(max(b.start - iterations, 0), b.stop + iterations) for b in box)
    local = labels[grown_box] == lesion_id
    if iterations > 0:
        structure = ndimage.generate_binary_structure(labels.ndim, labels.ndim)
        local = ndimage.binary_dilation(local, structure, iterations=iterations)
    return grown_box, local


def lesion_wise_scores(
    pred: ArrayLike,
    ref: ArrayLike,
    spacing: float | Sequence[float] | None = None,
    *,
    min_size_voxels: int = 0,
    min_size_mm3: float = 0.0,
    dilation_iterations: int = 0,
    tolerance_mm: float = 1.0,
    max_distance: float | None = None,
    connectivity: int | None = None,
    empty_value: float = 1.0,
) -> LesionScores:
    """BraTS-style lesion-wise Dice, HD95, NSD and detection rate of two binary masks."""
    from scipy import ndimage

    p, r = as_mask_pair(pred, ref)
    sp = as_spacing(spacing, p.ndim)
    worst = image_diagonal(p.shape, sp) if max_distance is None else float(max_distance)
    ref_labels, n_ref = lesion_components(r, sp, min_size_voxels, min_size_mm3, connectivity)
    pred_labels, n_pred = lesion_components(p, sp, min_size_voxels, min_size_mm3, connectivity)
    pred_boxes, ref_boxes = ndimage.find_objects(pred_labels), ndimage.find_objects(ref_labels)
    dices: list[float] = []
    hds: list[float] = []
    nsds: list[float] = []
    matched_pred: set[int] = set()
    n_detected = 0
    for lesion_id in range(1, n_ref + 1):
        ref_box = ref_boxes[lesion_id - 1]
        assert ref_box is not None
        box, grown = _dilated(ref_labels, lesion_id, ref_box, dilation_iterations)
        hits = {int(v) for v in np.unique(pred_labels[box][grown]) if v != 0}
        if not hits:
            dices.append(0.0)
            hds.append(worst)
            nsds.append(0.0)
            continue
        n_detected += 1
        matched_pred |= hits
        # score inside the union box of the lesion and its matches (exact: both are 0 outside it)
        union = _union_box([ref_box, *(pred_boxes[h - 1] for h in hits)])
        matched = np.isin(pred_labels[union], sorted(hits))
        lesion = ref_labels[union] == lesion_id
        inter = float(np.count_nonzero(matched & lesion))
        dices.append(2 * inter / (float(matched.sum()) + float(lesion.sum())))
        hds.append(hd95(matched, lesion, sp))
        nsds.append(normalized_surface_dice(matched, lesion, tolerance_mm, sp))
    n_fp = n_pred - len(matched_pred)
    dices += [0.0] * n_fp
    hds += [worst] * n_fp
    nsds += [0.0] * n_fp
    count = len(dices)
    return LesionScores(
        dice=sum(dices) / count if count else empty_value,
        hd95=sum(hds) / count if count else 0.0,
        nsd=sum(nsds) / count if count else empty_value,
        detection_rate=n_detected / n_ref if n_ref else empty_value,
        n_reference=n_ref,
        n_detected=n_detected,
        n_false_positive=n_fp,
        lesion_dice=tuple(dices),
        lesion_hd95=tuple(hds),
        lesion_nsd=tuple(nsds),
    )
