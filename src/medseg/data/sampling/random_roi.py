"""Random patches with foreground oversampling, drawn reproducibly from a preprocessed cache.

Sample ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``: the same patches come out
whatever the number of loader workers or the order they run in. Each sample picks a case uniformly;
with probability ``foreground_oversampling`` the patch is forced to contain a voxel of a foreground
class present in that case (chosen by ``label_probabilities``, by inverse class frequency with
``rare_class_oversampling``, else uniformly), drawn from the class locations stored at
preprocessing; otherwise the patch position is uniform.

Padding: where a patch leaves the case (a case smaller than the patch), the image is padded with 0
and the label with 0 (background). After normalisation 0 is the mean intensity (and the value
outside the body for ``zscore_nonzero``), and background is what the network should predict there;
nnU-Net does the same in the end (it pads with -1 and maps -1 to 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from typing_extensions import override

from medseg.core.errors import ConfigError, DatasetError
from medseg.data.preprocessing.store import PreprocessedDataset
from medseg.data.sampling.mapped import MappedArrays
from medseg.data.sampling.patch import extract_patch, start_range
from medseg.data.sampling.stages import DEFAULT_STAGE, PatchDraw, SamplingStage

SampleKey = int | tuple[int, int] | tuple[int, int, SamplingStage]


class RandomROIDataset(Dataset[dict[str, torch.Tensor]]):
    """``num_samples_per_epoch`` random patches ``{"image": (C, *p) float32, "label": (1, *p) int16}``.

    Labels keep the cache's integer dtype (int16; int32 for label values above 32767): a quarter of
    int64's bytes through worker IPC, pinning and host-to-device copies (2x loader throughput in
    bench/data); losses convert with ``.long()`` on the device.

    ``patch_size`` has one entry per spatial axis of the cache, or one fewer: then 2D patches are
    cut from single slices along the first axis (a 2D network on 3D data). ``label_probabilities``
    maps foreground label -> relative probability of being the forced class. ``dataset[i]`` uses the
    current epoch (:meth:`set_epoch`); ``dataset[(e, i)]`` names the epoch explicitly and
    ``dataset[(e, i, stage)]`` the :class:`~medseg.data.sampling.stages.SamplingStage` too (the
    loader does this so that persistent workers follow the epoch and a curriculum's stage).
    """

    def __init__(
        self,
        preprocessed: PreprocessedDataset,
        patch_size: Sequence[int],
        num_samples_per_epoch: int,
        foreground_oversampling: float = 0.33,
        label_probabilities: Mapping[int, float] | None = None,
        rare_class_oversampling: bool = False,
        seed: int = 0,
    ) -> None:
        if len(preprocessed) == 0:
            raise DatasetError(f"{preprocessed.root}: no preprocessed cases to sample from")
        if not 0.0 <= foreground_oversampling <= 1.0:
            raise ConfigError(f"foreground_oversampling: {foreground_oversampling} is not in [0, 1]")
        if num_samples_per_epoch < 1:
            raise ConfigError(f"num_samples_per_epoch: {num_samples_per_epoch} must be at least 1")
        self.preprocessed = preprocessed
        self.patch_size = [int(p) for p in patch_size]
        self.num_samples_per_epoch = int(num_samples_per_epoch)
        self.foreground_oversampling = float(foreground_oversampling)
        self.seed = int(seed)
        self.epoch = 0
        self.stage = DEFAULT_STAGE
        self.rare_class_oversampling = bool(rare_class_oversampling)
        self._shapes = [
            list(preprocessed.properties(i)["shape_after_resampling"]) for i in range(len(preprocessed))
        ]
        ndim = len(self._shapes[0])
        if len(self.patch_size) not in (ndim, ndim - 1) or min(self.patch_size) < 1:
            raise ConfigError(f"patch_size: {self.patch_size} does not fit the cache's {ndim}D cases")
        self._counts = [self._class_counts(i) for i in range(len(preprocessed))]
        self._weights = self._class_weights(label_probabilities, rare_class_oversampling)
        self._rare_weights = self._class_weights(None, True)
        self._image_paths = [preprocessed.image_path(i) for i in range(len(preprocessed))]
        self._label_paths = [preprocessed.label_path(i) for i in range(len(preprocessed))]
        self._location_paths: dict[tuple[int, int], str | None] = {}
        self._maps = MappedArrays()  # open maps are reused; their pages are released after each read

    def _class_counts(self, index: int) -> dict[int, int]:
        counts = self.preprocessed.properties(index).get("class_voxel_counts")
        if counts is None:
            raise DatasetError(
                f"{self.preprocessed.root}: case {self.preprocessed.case_ids[index]!r} has no label"
            )
        return {int(k): int(v) for k, v in counts.items() if int(k) != 0 and int(v) > 0}

    def _class_weights(self, probabilities: Mapping[int, float] | None, rare: bool) -> dict[int, float]:
        classes = sorted({k for counts in self._counts for k in counts})
        if probabilities is not None:
            bad = [k for k, p in probabilities.items() if int(k) <= 0 or p < 0]
            if bad or sum(probabilities.values()) <= 0:
                raise ConfigError(
                    f"label_probabilities: {dict(probabilities)} must map foreground labels (> 0) to "
                    "non-negative weights with a positive sum"
                )
            return {int(k): float(p) for k, p in probabilities.items()}
        if rare:
            totals = {k: sum(c.get(k, 0) for c in self._counts) for k in classes}
            return {k: 1.0 / totals[k] for k in classes}
        return dict.fromkeys(classes, 1.0)

    def __len__(self) -> int:
        """Number of samples per epoch."""
        return self.num_samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose samples ``dataset[i]`` returns (and the loader's sampler yields)."""
        self.epoch = int(epoch)

    def set_stage(self, stage: SamplingStage) -> None:
        """Select how the next epochs draw their patches (the loader passes it on to its workers)."""
        self.stage = stage

    def _patch_shape(self) -> list[int]:
        ndim = len(self._shapes[0])
        return [1, *self.patch_size] if len(self.patch_size) == ndim - 1 else list(self.patch_size)

    def draw(self, key: SampleKey) -> PatchDraw:
        """Draw (without reading any array) where sample ``key`` comes from."""
        if isinstance(key, tuple):
            epoch, index = key[0], key[1]
            stage = key[2] if len(key) == 3 else self.stage
        else:
            epoch, index, stage = self.epoch, key, self.stage
        if stage.draws:  # hard examples: a fresh permutation of them every epoch
            order = np.random.default_rng([self.seed, int(epoch), 0x0E]).permutation(len(stage.draws))
            return stage.draws[int(order[int(index) % len(stage.draws)])]
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        case = int(rng.integers(len(self._shapes)))
        shape, patch = self._shapes[case], self._patch_shape()
        ranges = [start_range(d, p) for d, p in zip(shape, patch, strict=True)]
        share = (
            self.foreground_oversampling
            if stage.foreground_oversampling is None
            else stage.foreground_oversampling
        )
        rare = (
            self.rare_class_oversampling
            if stage.rare_class_oversampling is None
            else stage.rare_class_oversampling
        )
        weights = self._rare_weights if rare else self._weights
        forced = self._forced_class(case, rng, weights) if rng.random() < share else None
        if forced is None:
            start = tuple(int(rng.integers(lo, hi + 1)) for lo, hi in ranges)
            return PatchDraw(case, start, None)
        locations = self._locations(case, forced)
        voxel = np.array(locations[int(rng.integers(len(locations)))])  # a copy: the map's pages go next
        self._maps.release(locations)
        start = tuple(
            int(rng.integers(max(lo, v - p + 1), min(hi, v) + 1))
            for (lo, hi), v, p in zip(ranges, voxel.tolist(), patch, strict=True)
        )
        return PatchDraw(case, start, forced)

    def _locations(self, case: int, value: int) -> np.ndarray:
        key = (case, value)
        if key not in self._location_paths:
            self._location_paths[key] = self.preprocessed.locations_path(case, value)
        path = self._location_paths[key]
        if path is None:  # counted at preprocessing but not stored: the case's own class counts say it exists
            raise DatasetError(
                f"{self.preprocessed.root}: case {self.preprocessed.case_ids[case]!r} has no "
                f"stored locations of class {value}"
            )
        return self._maps.get(path)

    def _forced_class(
        self, case: int, rng: np.random.Generator, class_weights: dict[int, float]
    ) -> int | None:
        present = [k for k in self._counts[case] if class_weights.get(k, 0.0) > 0]
        if not present:
            return None
        weights = np.array([class_weights[k] for k in present], dtype=np.float64)
        return present[int(rng.choice(len(present), p=weights / weights.sum()))]

    @override
    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        """The patch of sample ``key`` (an index in the current epoch, ``(epoch, index)``, or
        ``(epoch, index, stage)``)."""
        return self.patch(self.draw(key))

    def patch(self, where: PatchDraw) -> dict[str, torch.Tensor]:
        """The image and label patch a draw names (no augmentation)."""
        patch = self._patch_shape()
        label_path = self._label_paths[where.case_index]
        assert label_path is not None  # checked in __init__ through class_voxel_counts
        image_map, label_map = self._maps.get(self._image_paths[where.case_index]), self._maps.get(label_path)
        image = extract_patch(image_map, where.start, patch, 0.0)
        label = extract_patch(label_map, where.start, patch, 0)
        self._maps.release(image_map)
        self._maps.release(label_map)
        if len(patch) != len(self.patch_size):
            image, label = image[:, 0], label[:, 0]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)),
            "label": torch.from_numpy(np.ascontiguousarray(label)),
        }
