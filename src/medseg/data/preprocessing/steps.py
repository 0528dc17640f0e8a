"""Preprocessing of one case in memory, and its exact inverse for predictions.

The steps, in order: label values -> training indices (``plan.labels``, :mod:`medseg.config.labels`)
-> reorient (``plan.orientation``) -> crop to the nonzero box
(``plan.crop_to_nonzero``) -> normalise each channel (``plan.normalization``) -> resample to
``plan.target_spacing`` (``plan.resampling``). Every shape and box is recorded in the case's
``properties`` so that :func:`invert_preprocessing` can take a prediction back to the original grid.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from medseg.config.labels import encode_labels
from medseg.config.plan import Plan
from medseg.core.errors import DatasetError
from medseg.data.case import Case
from medseg.data.preprocessing.crop import crop_to_box, nonzero_box, uncrop
from medseg.data.preprocessing.normalize import normalize
from medseg.data.preprocessing.orient import orientation_of, reorient
from medseg.data.preprocessing.resample import resample_array, resample_label, shape_for_spacing
from medseg.io.geometry import Geometry

MAX_LOCATIONS = 10_000


@dataclass
class PreprocessedArrays:
    """The result of preprocessing one case, before it is written."""

    image: np.ndarray
    label: np.ndarray | None
    properties: dict[str, Any]
    locations: dict[int, np.ndarray]


def target_spacing_for(plan: Plan, spacing: tuple[float, ...]) -> list[float]:
    """The plan's target spacing for a grid of ``spacing``; a 2D plan on 3D data keeps axis 0."""
    target = [float(s) for s in plan.target_spacing]
    if len(target) == len(spacing) - 1:
        return [float(spacing[0]), *target]
    if len(target) != len(spacing):
        raise DatasetError(f"plan.target_spacing {target} does not fit a {len(spacing)}D image")
    return target


def class_locations(label: np.ndarray, case_id: str, limit: int = MAX_LOCATIONS) -> dict[int, np.ndarray]:
    """Up to ``limit`` voxel indices ``(n, ndim)`` per foreground class, drawn reproducibly per case."""
    rng = np.random.default_rng(zlib.crc32(case_id.encode("utf-8")))
    flat = label.reshape(-1)
    shape = label.shape[1:]
    out: dict[int, np.ndarray] = {}
    for value in np.unique(flat):
        if value == 0:
            continue
        hits = np.flatnonzero(flat == value)
        if hits.size > limit:
            hits = np.sort(rng.choice(hits, size=limit, replace=False))
        out[int(value)] = np.stack(np.unravel_index(hits, shape), axis=1).astype(np.int32)
    return out


def _check_case(case: Case, plan: Plan) -> None:
    channels = case.image.num_channels
    source = case.image.meta.get("source")
    where = f"case {case.case_id}" + (f" ({source})" if source else "")
    if channels != len(plan.channel_names):
        raise DatasetError(f"{where}: {channels} image channels, the plan expects {len(plan.channel_names)}")
    dims = case.image.array.ndim - 1
    if dims not in (plan.spatial_dims, plan.spatial_dims + 1):
        raise DatasetError(f"{where}: a {dims}D image, but the plan is for {plan.spatial_dims}D images")


def preprocess_case(case: Case, plan: Plan) -> PreprocessedArrays:
    """Reorient, crop, normalise and resample one case as the plan says (see the module docstring)."""
    _check_case(case, plan)
    image, geometry = case.image.array, case.image.geometry
    label = case.label.array if case.label is not None else None
    props: dict[str, Any] = {
        "case_id": case.case_id,
        "num_channels": int(image.shape[0]),
        "original_shape": list(image.shape[1:]),
        "original_geometry": geometry.to_dict(),
        "original_orientation": orientation_of(geometry) if geometry.dim == 3 else None,
        "orientation": None,
    }
    if plan.orientation is not None and geometry.dim == 3:
        image, oriented = reorient(image, geometry, plan.orientation)
        if label is not None:
            label, _ = reorient(label, geometry, plan.orientation)
        geometry = oriented
        props["orientation"] = plan.orientation.upper()
    props["reoriented_geometry"] = geometry.to_dict()
    props["shape_after_reorient"] = list(image.shape[1:])
    box = nonzero_box(image) if plan.crop_to_nonzero else [(0, int(s)) for s in image.shape[1:]]
    image = crop_to_box(image, box)
    props["crop_box"] = [list(b) for b in box]
    props["shape_after_crop"] = list(image.shape[1:])
    image = normalize(image, plan.normalization)
    spacing = geometry.array_spacing
    target = target_spacing_for(plan, spacing)
    new_shape = shape_for_spacing(image.shape[1:], spacing, target)
    res = plan.resampling
    image = resample_array(image, new_shape, res.image_order, res.separate_z_axis, res.separate_z_order)
    props["spacing_before_resampling"] = list(spacing)
    props["spacing_after_resampling"] = target
    props["shape_after_resampling"] = new_shape
    locations: dict[int, np.ndarray] = {}
    if label is not None:
        label = crop_to_box(encode_labels(label, plan, case.case_id), box)
        label = resample_label(label, new_shape, res.label_mode, res.separate_z_axis, res.separate_z_order)
        locations = class_locations(label, case.case_id)
        values, counts = np.unique(label, return_counts=True)
        props["class_voxel_counts"] = {str(int(v)): int(n) for v, n in zip(values, counts, strict=True)}
    return PreprocessedArrays(np.ascontiguousarray(image), label, props, locations)


def invert_preprocessing(
    array: np.ndarray, properties: dict[str, Any], order: int = 1, probabilities: bool | None = None
) -> np.ndarray:
    """Take a ``(C, *spatial)`` prediction on the preprocessed grid back to the original grid.

    Integer arrays (label maps) are resampled nearest-neighbour; floating arrays with a spline of
    ``order``. Outside the crop box labels are 0; probability maps (``probabilities``, by default
    any floating array with more than one channel) get 1 in channel 0 (background) and 0 elsewhere.
    The result is reoriented back to the original orientation; its geometry is
    ``Geometry.from_dict(properties["original_geometry"])``.
    """
    expected = list(properties["shape_after_resampling"])
    if list(array.shape[1:]) != expected:
        raise ValueError(
            f"case {properties['case_id']}: prediction shape {array.shape[1:]} != preprocessed {expected}"
        )
    crop_shape = properties["shape_after_crop"]
    if array.dtype.kind in "iub":
        out = resample_label(array, crop_shape, "nearest")
    else:
        out = resample_array(array, crop_shape, order)
    is_prob = probabilities if probabilities is not None else (array.dtype.kind == "f" and array.shape[0] > 1)
    fill = [1.0 if (is_prob and c == 0) else 0.0 for c in range(out.shape[0])]
    box = [tuple(b) for b in properties["crop_box"]]
    out = uncrop(out, box, properties["shape_after_reorient"], fill)
    original = properties["original_orientation"]
    if properties["orientation"] is not None and original is not None:
        out, _ = reorient(out, Geometry.from_dict(properties["reoriented_geometry"]), original)
    return out
