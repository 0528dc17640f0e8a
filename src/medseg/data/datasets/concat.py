"""Several datasets seen as one; case ids must stay unique across them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from typing_extensions import override

from medseg.config.plan import RegionSpec
from medseg.core.errors import DatasetError
from medseg.data.case import Case
from medseg.data.datasets.base import CaseDataset


class ConcatCaseDataset(CaseDataset):
    """The cases of ``datasets`` one after the other.

    Ids that appear in two datasets, or datasets with different channel counts, raise
    :class:`DatasetError`. ``labels`` is the first dataset's.
    """

    def __init__(self, datasets: Sequence[CaseDataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise DatasetError("ConcatCaseDataset needs at least one dataset")
        self.name = " + ".join(d.name for d in self.datasets)
        counts = Counter(cid for d in self.datasets for cid in d.case_ids)
        clashes = sorted(cid for cid, n in counts.items() if n > 1)
        if clashes:
            raise DatasetError(
                f"{self.name}: case id(s) appear in more than one dataset: {', '.join(clashes[:5])}"
            )
        counts_known = {len(d.channel_names) for d in self.datasets if d.channel_names is not None}
        if len(counts_known) > 1:
            raise DatasetError(f"{self.name}: datasets have different channel counts {sorted(counts_known)}")
        self._where = [(d, i) for d in self.datasets for i in range(len(d))]
        self._ids = [cid for d in self.datasets for cid in d.case_ids]

    @property
    @override
    def case_ids(self) -> list[str]:
        return list(self._ids)

    @property
    @override
    def channel_names(self) -> list[str] | None:
        return next((d.channel_names for d in self.datasets if d.channel_names is not None), None)

    @property
    @override
    def labels(self) -> dict[int, str] | None:
        return next((d.labels for d in self.datasets if d.labels is not None), None)

    @property
    @override
    def regions(self) -> list[RegionSpec] | None:
        return next((d.regions for d in self.datasets if d.regions is not None), None)

    @override
    def __len__(self) -> int:
        return len(self._ids)

    @override
    def load_case(self, index: int) -> Case:
        dataset, i = self._where[index]
        return dataset.load_case(i)

    @override
    def check_case(self, index: int) -> None:
        dataset, i = self._where[index]
        dataset.check_case(i)
