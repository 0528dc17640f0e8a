"""Datasets that change the label values of another dataset: binarise or remap classes.

They wrap any :class:`CaseDataset` (lazy like it) and map ``case.label`` when a case is loaded;
images, masks and geometry pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from typing_extensions import override

from medseg.core.errors import DatasetError
from medseg.data.case import Case
from medseg.data.datasets.base import CaseDataset


class RemappedDataset(CaseDataset):
    """``dataset`` with label values replaced by ``mapping`` (values not in it are kept): ``{4: 3}``."""

    def __init__(self, dataset: CaseDataset, mapping: Mapping[int, int]) -> None:
        if not mapping:
            raise DatasetError(f"{dataset.name}: label mapping is empty")
        self.dataset = dataset
        self.mapping = {int(k): int(v) for k, v in mapping.items()}
        self.name = dataset.name

    @property
    @override
    def case_ids(self) -> list[str]:
        return self.dataset.case_ids

    @property
    @override
    def channel_names(self) -> list[str] | None:
        return self.dataset.channel_names

    @property
    @override
    def labels(self) -> dict[int, str] | None:
        old = self.dataset.labels
        if old is None:
            return None
        out: dict[int, str] = {}
        for value, name in sorted(old.items()):
            new = self.mapping.get(value, value)
            out[new] = name if new not in out else f"{out[new]}+{name}"
        return out

    @override
    def __len__(self) -> int:
        return len(self.dataset)

    @override
    def load_case(self, index: int) -> Case:
        case = self.dataset.load_case(index)
        if case.label is None:
            return case
        source = case.label.array
        mapped = source.copy()
        for old, new in self.mapping.items():
            mapped[source == old] = new
        case.label = case.label.with_array(mapped)
        return case

    @override
    def check_case(self, index: int) -> None:
        self.dataset.check_case(index)


class BinarizedDataset(RemappedDataset):
    """``dataset`` with labels in ``classes`` set to 1 and every other value to 0.

    ``labels`` becomes ``{0: "background", 1: names of the classes joined by "+"}``.
    """

    def __init__(self, dataset: CaseDataset, classes: Iterable[int] = (1,)) -> None:
        self.classes = sorted({int(c) for c in classes})
        if not self.classes:
            raise DatasetError(f"{dataset.name}: BinarizedDataset needs at least one class")
        super().__init__(dataset, dict.fromkeys(self.classes, 1))

    @property
    @override
    def labels(self) -> dict[int, str]:
        old = self.dataset.labels or {}
        return {0: "background", 1: "+".join(old.get(c, str(c)) for c in self.classes)}

    @override
    def load_case(self, index: int) -> Case:
        case = self.dataset.load_case(index)
        if case.label is None:
            return case
        binary = np.isin(case.label.array, self.classes).astype(np.uint8)
        case.label = case.label.with_array(binary)
        return case
