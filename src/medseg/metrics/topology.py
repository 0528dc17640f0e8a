"""clDice (Shit et al. 2021): overlap of centrelines, the metric for thin tubular structures.

``Tprec = |skel(pred) & ref| / |skel(pred)|`` (how much of the predicted centreline lies inside the
reference) and ``Tsens = |skel(ref) & pred| / |skel(ref)|`` (how much of the reference centreline is
covered); clDice is their harmonic mean. Skeletons come from scikit-image's ``skeletonize`` (2D and
3D). Both masks empty: 1.0; one empty: 0.0 (the overlap metrics' rule).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medseg.metrics._inputs import ArrayLike, as_mask_pair


def skeleton(mask: np.ndarray) -> np.ndarray:
    """The morphological skeleton of a 2D or 3D binary mask."""
    from skimage.morphology import skeletonize

    return np.asarray(skeletonize(mask.astype(bool)), dtype=bool)


def cldice(pred: ArrayLike, ref: ArrayLike, spacing: Sequence[float] | None = None) -> float:
    """clDice of two binary masks (``spacing`` is accepted for the registry's signature, not used)."""
    p, r = as_mask_pair(pred, ref)
    p, r = np.asarray(p, dtype=bool), np.asarray(r, dtype=bool)
    if not p.any() and not r.any():
        return 1.0
    if not p.any() or not r.any():
        return 0.0
    sp, sr = skeleton(p), skeleton(r)
    tprec = (sp & r).sum() / max(sp.sum(), 1)
    tsens = (sr & p).sum() / max(sr.sum(), 1)
    return float(0.0 if tprec + tsens == 0 else 2 * tprec * tsens / (tprec + tsens))
