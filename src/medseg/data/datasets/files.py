"""A dataset of cases stored as files: one or more channel files, an optional label and mask per case.

Every on-disk format (MSD, nnU-Net, a table, paired folders) only lists :class:`CaseFiles`;
:class:`FileCaseDataset` reads them lazily through :func:`medseg.io.read_image` and checks that all
files of a case share one grid.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from typing_extensions import override

from medseg.core.errors import DatasetError
from medseg.core.vocab import NonFinitePolicy
from medseg.data.case import Case
from medseg.data.datasets.base import CaseDataset
from medseg.data.datasets.grid import Grid, check_case_grids, read_grid
from medseg.io import Image, read_image
from medseg.io.grid_align import align_array, axis_map


@dataclass(frozen=True)
class CaseFiles:
    """The files of one case: image files in channel order (a 4D file may hold several channels)."""

    case_id: str
    images: tuple[Path, ...]
    label: Path | None = None
    mask: Path | None = None

    def all_paths(self) -> list[Path]:
        """Every file of the case."""
        extra = [p for p in (self.label, self.mask) if p is not None]
        return [*self.images, *extra]


class FileCaseDataset(CaseDataset):
    """Cases read lazily from files; ``dataset[i]`` stacks the channel files and validates the grids.

    ``channel_names`` (when given) fixes how many channels each case must have. Label values are
    kept as stored (the planner discovers them and maps them to classes). ``nonfinite`` is what
    reading does with NaN/inf image voxels (:func:`medseg.io.read_image`; set with
    :meth:`with_nonfinite`).
    """

    nonfinite: NonFinitePolicy = "error"

    def __init__(
        self,
        cases: Sequence[CaseFiles],
        *,
        name: str,
        channel_names: Sequence[str] | None = None,
        labels: Mapping[int, str] | None = None,
    ) -> None:
        self.name = name
        self.files = list(cases)
        if not self.files:
            raise DatasetError(f"{name}: no cases found")
        counts = Counter(c.case_id for c in self.files)
        dupes = sorted(cid for cid, n in counts.items() if n > 1)
        if dupes:
            raise DatasetError(f"{name}: duplicated case id(s) {', '.join(dupes[:5])}")
        self._ids = [c.case_id for c in self.files]
        self._channel_names = list(channel_names) if channel_names is not None else None
        self._labels = dict(labels) if labels is not None else None

    @property
    @override
    def case_ids(self) -> list[str]:
        return list(self._ids)

    @property
    @override
    def channel_names(self) -> list[str] | None:
        return None if self._channel_names is None else list(self._channel_names)

    @property
    @override
    def labels(self) -> dict[int, str] | None:
        return None if self._labels is None else dict(self._labels)

    @override
    def __len__(self) -> int:
        return len(self._ids)

    def with_nonfinite(self, policy: NonFinitePolicy) -> FileCaseDataset:
        """A copy of this dataset that reads NaN/inf image voxels with ``policy`` ("error" or "minimum")."""
        out = copy.copy(self)
        out.nonfinite = policy
        return out

    @property
    def expected_channels(self) -> int | None:
        """The number of channels every case must have, when the format says so."""
        return None if self._channel_names is None else len(self._channel_names)

    @override
    def load_case(self, index: int) -> Case:
        files = self.files[index]
        images = [read_image(p, nonfinite=self.nonfinite) for p in files.images]
        label = _onto(self._read_label(files.label), images[0])
        mask = _onto(self._read_label(files.mask), images[0])
        check_case_grids(
            files.case_id,
            [Grid.of_image(p, im) for p, im in zip(files.images, images)],
            None if label is None or files.label is None else Grid.of_image(files.label, label),
            None if mask is None or files.mask is None else Grid.of_image(files.mask, mask),
            self.expected_channels,
        )
        if len(images) == 1:
            image = images[0]
        else:
            stacked = np.concatenate([im.array for im in images], axis=0)
            image = Image(stacked, images[0].geometry, {"source": ";".join(str(p) for p in files.images)})
        return Case(files.case_id, image, label, mask, {"dataset": self.name})

    @override
    def check_case(self, index: int) -> None:
        files = self.files[index]
        check_case_grids(
            files.case_id,
            [read_grid(p) for p in files.images],
            None if files.label is None else read_grid(files.label, is_label=True),
            None if files.mask is None else read_grid(files.mask, is_label=True),
            self.expected_channels,
        )

    def _read_label(self, path: Path | None) -> Image | None:
        if path is None:
            return None
        return read_image(path, is_label=True)


def _onto(label: Image | None, image: Image) -> Image | None:
    """``label`` on the image's grid when it stores the same voxels in another axis order (else as is)."""
    if label is None or (
        label.geometry.is_close(image.geometry) and label.spatial_shape == image.spatial_shape
    ):
        return label
    mapping = axis_map(label.geometry, label.spatial_shape, image.geometry, image.spatial_shape)
    if mapping is None:
        return label  # the grid check that follows names the mismatch
    return Image(align_array(label.array, *mapping), image.geometry, label.meta)


def missing_files(cases: Sequence[CaseFiles]) -> list[Path]:
    """The files listed by ``cases`` that do not exist (an image may be a DICOM series folder)."""
    missing = [p for c in cases for p in c.images if not (p.is_file() or p.is_dir())]
    return missing + [p for c in cases for p in (c.label, c.mask) if p is not None and not p.is_file()]
