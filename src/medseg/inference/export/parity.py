"""The parity check of an export: the exported graph against PyTorch on real windows.

Inputs are window batches of the patch size, what the sliding window feeds the network: windows of
the cases the user names (preprocessed with the Plan, exactly as the predictors do), else of the
training data's preprocessed cases (the work folder's ``preprocessed/cases/*/image.npy``) when the
experiment folder still sits in its work folder, plus a few random normal patches (the scale of
z-scored intensities). Each batch holds two windows (the centre and a random one), so the batch axis
is checked too. The figure is the largest absolute logit difference; it is accepted up to the
tolerance times the largest absolute logit when that exceeds 1 (:func:`parity_limit`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medseg.config.plan import Plan

Runner = Callable[[np.ndarray], np.ndarray]
#: real cases and random patches checked by default
MAX_CASES = 4
RANDOM_PATCHES = 2


@dataclass(frozen=True)
class ParityInput:
    """One window batch ``(n, C, *patch)`` and where it came from."""

    name: str
    batch: np.ndarray


def _windows(image: np.ndarray, patch: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """The centre window and a random window of a preprocessed ``(C, *spatial)`` image, zero-padded."""
    if image.ndim - 1 == len(patch) + 1:  # a 2D plan on 3D data: the middle slice
        image = image[:, image.shape[1] // 2]
    pad = [(0, 0)] + [
        (max(p - s, 0) // 2, max(p - s, 0) - max(p - s, 0) // 2)
        for s, p in zip(image.shape[1:], patch, strict=True)
    ]
    image = np.pad(np.asarray(image, dtype=np.float32), pad)
    centre = [(s - p) // 2 for s, p in zip(image.shape[1:], patch, strict=True)]
    random = [int(rng.integers(0, s - p + 1)) for s, p in zip(image.shape[1:], patch, strict=True)]
    crops = [
        image[(slice(None), *(slice(c, c + p) for c, p in zip(corner, patch, strict=True)))]
        for corner in (centre, random)
    ]
    return np.ascontiguousarray(np.stack(crops), dtype=np.float32)


def preprocessed_cache(experiment: Path) -> Path | None:
    """``WORK/preprocessed/cases`` of the work folder holding ``experiment`` (up to 3 levels up)."""
    for parent in [experiment, *experiment.parents][:4]:
        cases = parent / "preprocessed" / "cases"
        if cases.is_dir():
            return cases
    return None


def parity_inputs(
    plan: Plan,
    experiment: Path,
    cases: Sequence[Path] | None = None,
    *,
    max_cases: int = MAX_CASES,
    random_patches: int = RANDOM_PATCHES,
    seed: int = 0,
) -> list[ParityInput]:
    """Window batches to compare on: ``cases`` (image files/folders), else the preprocessed cache; plus random."""
    rng = np.random.default_rng(seed)
    patch = list(plan.patch_size)
    out: list[ParityInput] = []
    if cases:
        from medseg.data.predictant import parse_predictant
        from medseg.data.preprocessing.steps import preprocess_case

        for path in cases:
            for case in parse_predictant(path, spacing=plan.target_spacing):
                image = preprocess_case(case, plan).image
                out.append(ParityInput(case.case_id, _windows(image, patch, rng)))
    else:
        cache = preprocessed_cache(experiment)
        folders = sorted(p for p in cache.iterdir() if (p / "image.npy").is_file()) if cache else []
        for folder in folders[:max_cases]:
            image = np.load(folder / "image.npy", mmap_mode="r")
            if image.shape[0] == len(plan.channel_names):
                out.append(
                    ParityInput(f"{folder.name} (preprocessed)", _windows(np.asarray(image), patch, rng))
                )
    for i in range(random_patches):
        batch = rng.standard_normal((2, len(plan.channel_names), *patch)).astype(np.float32)
        out.append(ParityInput(f"random patch {i}", batch))
    return out


def max_abs_differences(
    reference: Runner,
    candidate: Runner,
    inputs: Sequence[ParityInput],
    scales: dict[str, float] | None = None,
) -> dict[str, float]:
    """The largest absolute output difference per input between two runners (NaN anywhere: inf);
    ``scales``, when given, receives the largest absolute reference logit per input."""
    out: dict[str, float] = {}
    for item in inputs:
        want, got = reference(item.batch), candidate(item.batch)
        if scales is not None:
            scales[item.name] = float(np.abs(want).max()) if want.size else 0.0
        if want.shape != got.shape:
            out[item.name] = float("inf")
            continue
        diff = np.abs(want.astype(np.float64) - got.astype(np.float64))
        out[item.name] = float(diff.max()) if np.isfinite(diff).all() else float("inf")
    return out


def parity_limit(tolerance: float, scale: float) -> float:
    """The largest accepted max abs logit difference: ``tolerance`` for logits up to 1 in magnitude,
    ``tolerance * scale`` above.

    Two correct fp32 implementations differ by rounding that grows with the size of the values
    (another summation order, FMA or not): on an AVX2-only CPU a trained hippocampus U-Net (logits
    up to 40-70) differed from ONNX Runtime by up to 6e-4 while the label maps of all 8 held-out cases
    were identical, and a fixed 1e-4 refused that export. A real export fault (a wrong op, a lost
    normalisation) is orders of magnitude larger than ``tolerance`` at any scale.
    """
    return tolerance * max(1.0, scale)
