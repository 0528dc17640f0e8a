"""Statistics of one case: shape, spacing, orientation, intensities, classes, boxes and samples."""

from __future__ import annotations

import zlib

import numpy as np

from medseg.core.errors import DatasetError
from medseg.data.case import Case
from medseg.data.inspection.fingerprint import Box, CaseFingerprint, ChannelStats
from medseg.io import Geometry

DEFAULT_MAX_LOCATIONS = 10_000
DEFAULT_MAX_INTENSITIES = 10_000


def orientation_code(geometry: Geometry) -> str | None:
    """The three-letter DICOM orientation code (e.g. ``"LPS"``) of a 3D grid; ``None`` for 2D."""
    if geometry.dim != 3:
        return None
    import SimpleITK as sitk

    return str(sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(geometry.direction))


def channel_stats(values: np.ndarray) -> ChannelStats:
    """Mean, std, min, max and the 0.5/99.5 percentiles of a 1-D array of intensities."""
    v = np.asarray(values, dtype=np.float64)
    low, high = np.percentile(v, [0.5, 99.5])
    return ChannelStats(
        mean=float(v.mean()),
        std=float(v.std()),
        min=float(v.min()),
        max=float(v.max()),
        p00_5=float(low),
        p99_5=float(high),
    )


def case_rng(case_id: str) -> np.random.Generator:
    """A generator seeded from the case id, so samples do not depend on worker or order."""
    return np.random.default_rng(zlib.crc32(case_id.encode("utf-8")))


def _box_of(slices: tuple[slice, ...]) -> Box:
    return Box(start=[int(s.start) for s in slices], stop=[int(s.stop) for s in slices])


def _sample_indices(window_mask: np.ndarray, box: Box, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``limit`` distinct voxel indices ``(n, ndim)`` where ``window_mask`` (the mask cut to
    ``box``) is true, drawn uniformly, in whole-image coordinates."""
    flat = np.flatnonzero(window_mask)
    if flat.size > limit:
        flat = np.sort(rng.choice(flat, size=limit, replace=False))
    local = np.stack(np.unravel_index(flat, window_mask.shape), axis=1)
    return (local + np.asarray(box.start)).astype(np.int32)


def _window(box: Box) -> tuple[slice, ...]:
    return tuple(slice(a, b) for a, b in zip(box.start, box.stop))


def inspect_case(
    case: Case,
    max_locations: int = DEFAULT_MAX_LOCATIONS,
    max_intensities: int = DEFAULT_MAX_INTENSITIES,
) -> tuple[CaseFingerprint, dict[str, np.ndarray]]:
    """The fingerprint of one case and its samples (keys as in :class:`Fingerprint`)."""
    from scipy import ndimage

    image = np.asarray(case.image.array)
    spatial = image.shape[1:]
    rng = case_rng(case.case_id)
    label = None if case.label is None else np.asarray(case.label.array[0])
    counts: dict[int, int] = {}
    class_boxes: dict[int, Box] = {}
    samples: dict[str, np.ndarray] = {}
    if label is not None and label.shape != spatial:
        raise DatasetError(
            f"case {case.case_id}: label shape {label.shape} differs from image shape {spatial}"
        )
    if label is not None:
        if label.min() < 0:
            assert case.label is not None
            source = case.label.meta.get("source")
            where = f"{source}: label of case {case.case_id}" if source else f"case {case.case_id}: label"
            raise DatasetError(
                f"{where} has negative values (down to {int(label.min())}); labels are class values >= 0"
            )
        label_int = label.astype(np.int64, copy=False)
        counts = {v: int(n) for v, n in enumerate(np.bincount(label_int.ravel())) if n > 0}
        for value, slices in enumerate(ndimage.find_objects(label_int), start=1):
            if slices is not None:
                class_boxes[value] = _box_of(slices)
        for value, box in class_boxes.items():
            samples[f"{case.case_id}/locations/{value}"] = _sample_indices(
                label[_window(box)] == value, box, max_locations, rng
            )
    foreground_box = None
    if class_boxes:
        starts = np.min([b.start for b in class_boxes.values()], axis=0)
        stops = np.max([b.stop for b in class_boxes.values()], axis=0)
        foreground_box = Box(start=starts.tolist(), stop=stops.tolist())
    if label is not None and foreground_box is not None:
        region = label > 0
        region_name = "foreground"
        picked = _sample_indices(region[_window(foreground_box)], foreground_box, max_intensities, rng)
        samples[f"{case.case_id}/intensities"] = image[(slice(None), *picked.T)].astype(np.float32)
        channels = [channel_stats(image[c][region]) for c in range(image.shape[0])]
    else:
        region_name = "image"
        whole = Box(start=[0] * len(spatial), stop=list(spatial))
        picked = _sample_indices(np.ones(spatial, dtype=bool), whole, max_intensities, rng)
        samples[f"{case.case_id}/intensities"] = image[(slice(None), *picked.T)].astype(np.float32)
        channels = [channel_stats(image[c].ravel()) for c in range(image.shape[0])]
    nonzero = np.any(image != 0, axis=0)
    found = ndimage.find_objects(nonzero.astype(np.int8))
    if found and found[0] is not None:
        nonzero_box = _box_of(found[0])
    else:
        nonzero_box = Box(start=[0] * len(spatial), stop=list(spatial))
    kept = float(np.prod(nonzero_box.extent)) / float(np.prod(spatial))
    fingerprint = CaseFingerprint(
        case_id=case.case_id,
        shape=[int(s) for s in spatial],
        spacing=[float(s) for s in case.geometry.array_spacing],
        orientation=orientation_code(case.geometry),
        intensity_region=region_name,
        channels=channels,
        class_voxels=counts,
        foreground_box=foreground_box,
        class_boxes=class_boxes,
        nonzero_box=nonzero_box,
        nonzero_removed_fraction=1.0 - kept,
    )
    return fingerprint, samples
