"""The Fingerprint: what :func:`~medseg.data.inspection.inspect` learnt about a dataset.

The JSON part (per-case statistics and the dataset summary) is a pydantic model; the bulky samples
(foreground intensities and per-class voxel locations) live in a safetensors file next to the JSON,
so the JSON stays readable. All spatial lists are in NumPy array-axis order ``(z, y, x)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from typing_extensions import override

from medseg.config.plan import RegionSpec
from medseg.core.atomic import write_bytes_atomic
from medseg.core.errors import DatasetError

#: 2: labels hold every value found in the data (declared names kept), regions are recorded
FINGERPRINT_VERSION = 2


class Box(BaseModel):
    """A half-open voxel box ``[start, stop)`` per array axis."""

    model_config = ConfigDict(extra="forbid")

    start: list[int]
    stop: list[int]

    @property
    def extent(self) -> list[int]:
        """Size of the box per axis, in voxels."""
        return [b - a for a, b in zip(self.start, self.stop)]


class ChannelStats(BaseModel):
    """Intensity statistics of one channel over a region (the foreground, or the whole image)."""

    model_config = ConfigDict(extra="forbid")

    mean: float
    std: float
    min: float
    max: float
    p00_5: float
    p99_5: float


class CaseFingerprint(BaseModel):
    """Statistics of one case (see the module docstring for axis order)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    shape: list[int]
    spacing: list[float]
    orientation: str | None
    intensity_region: str = Field(description="'foreground' (label > 0) or 'image' when none")
    channels: list[ChannelStats]
    class_voxels: dict[int, int]
    foreground_box: Box | None
    class_boxes: dict[int, Box]
    nonzero_box: Box
    nonzero_removed_fraction: float


class AxisSummary(BaseModel):
    """Per-axis distribution of a quantity over cases: median, min, max, 10th and 90th percentile."""

    model_config = ConfigDict(extra="forbid")

    median: list[float]
    min: list[float]
    max: list[float]
    p10: list[float]
    p90: list[float]

    @classmethod
    def of(cls, values: np.ndarray) -> AxisSummary:
        """Summarise a ``(cases, axes)`` array."""
        v = np.asarray(values, dtype=np.float64)
        return cls(
            median=np.median(v, axis=0).tolist(),
            min=v.min(axis=0).tolist(),
            max=v.max(axis=0).tolist(),
            p10=np.percentile(v, 10, axis=0).tolist(),
            p90=np.percentile(v, 90, axis=0).tolist(),
        )


class DatasetSummary(BaseModel):
    """Dataset-level distributions computed from the case fingerprints and samples."""

    model_config = ConfigDict(extra="forbid")

    spacing: AxisSummary
    shape: AxisSummary
    resampled_spacing: list[float]
    resampled_shape: AxisSummary
    class_frequencies: dict[int, float]
    class_case_fractions: dict[int, float]
    foreground_intensity: list[ChannelStats | None]
    foreground_roi_mm: list[float] | None
    median_size_after_nonzero_crop: float
    orientations: dict[str, int]


class Fingerprint(BaseModel):
    """Everything planning needs to know about a dataset; ``samples`` holds the bulky arrays.

    ``samples`` keys: ``"<case_id>/intensities"`` (float32 ``(C, n)`` foreground intensities) and
    ``"<case_id>/locations/<class>"`` (int32 ``(n, spatial_dims)`` voxel indices of that class).
    """

    model_config = ConfigDict(extra="forbid")

    version: int = FINGERPRINT_VERSION
    spatial_dims: int
    channel_names: list[str]
    labels: dict[int, str]
    regions: list[RegionSpec] | None = None
    cases: list[CaseFingerprint]
    summary: DatasetSummary
    _samples: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)

    @override
    def __eq__(self, other: object) -> bool:
        """Equal statistics and identical sample arrays."""
        if not isinstance(other, Fingerprint):
            return NotImplemented
        mine, theirs = self._samples, other._samples
        return (
            self.model_dump() == other.model_dump()
            and mine.keys() == theirs.keys()
            and all(np.array_equal(mine[k], theirs[k]) for k in mine)
        )

    @property
    def samples(self) -> dict[str, np.ndarray]:
        """The per-case intensity and location samples (see the class docstring)."""
        return self._samples

    def intensities(self, case_id: str) -> np.ndarray:
        """Foreground intensity sample of a case, ``(C, n)`` float32."""
        return self._samples[f"{case_id}/intensities"]

    def locations(self, case_id: str, label: int) -> np.ndarray:
        """Sampled voxel indices of class ``label`` in a case, ``(n, spatial_dims)`` int32."""
        key = f"{case_id}/locations/{label}"
        return self._samples.get(key, np.zeros((0, self.spatial_dims), dtype=np.int32))

    def resampled_shapes(self, target_spacing: list[float]) -> np.ndarray:
        """Each case's shape after resampling to ``target_spacing`` (``(cases, axes)`` float)."""
        shapes = np.array([c.shape for c in self.cases], dtype=np.float64)
        spacings = np.array([c.spacing for c in self.cases], dtype=np.float64)
        return np.round(shapes * spacings / np.asarray(target_spacing, dtype=np.float64))

    def save(self, path: str | Path) -> None:
        """Write ``path`` (JSON) and ``path`` with suffix ``.safetensors`` (samples), atomically."""
        from safetensors.numpy import save

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: np.ascontiguousarray(v) for k, v in self._samples.items()}
        write_bytes_atomic(samples_path(target), save(arrays))
        write_bytes_atomic(target, self.model_dump_json(indent=1).encode("utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> Fingerprint:
        """Read a fingerprint written by :meth:`save`; a bad file raises :class:`DatasetError`."""
        from pydantic import ValidationError
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        source = Path(path)
        try:
            fingerprint = cls.model_validate_json(source.read_bytes())
            fingerprint._samples = dict(load_file(str(samples_path(source))))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "<root>"
            raise DatasetError(f"{source}: cannot read fingerprint ({where}: {first['msg']})") from None
        except (OSError, ValueError, SafetensorError) as exc:
            line = " ".join(str(exc).split())[:200]
            raise DatasetError(f"{source}: cannot read fingerprint ({line})") from None
        return fingerprint


def samples_path(json_path: Path) -> Path:
    """Where the samples of the fingerprint at ``json_path`` are stored."""
    return json_path.with_suffix(".safetensors")
