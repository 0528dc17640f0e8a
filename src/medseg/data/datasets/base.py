"""The base of every medseg dataset: a lazy, indexable list of :class:`~medseg.data.case.Case`.

Subclasses say which cases exist (``case_ids``), how to load one (``load_case``) and how to validate
one cheaply (``check_case``). Everything else — subsets, k-fold and hold-out splits, a user-edited
folds file, validating the whole dataset — is shared here.
"""

from __future__ import annotations

import copy
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from torch.utils.data import Dataset
from typing_extensions import override

from medseg.config.plan import RegionSpec
from medseg.core.errors import DatasetError, MedsegError
from medseg.data.case import Case
from medseg.data.folds import (
    check_folds_cover,
    fold_ids,
    holdout_ids,
    kfold_assignments,
    num_folds,
    read_folds,
)

DEFAULT_FOLDS = 5


class CaseDataset(Dataset[Case], ABC):
    """A lazy list of cases: ``dataset[i]`` reads case ``i`` from disk and validates it.

    ``name`` names the dataset in error messages (usually its folder or file). ``channel_names`` and
    ``labels`` (label value -> name) describe the cases when the format says so, else ``None``.
    """

    name: str = "dataset"
    _folds: dict[str, int] | None = None

    @property
    @abstractmethod
    def case_ids(self) -> list[str]:
        """The unique ids of the cases, in index order."""

    @abstractmethod
    def load_case(self, index: int) -> Case:
        """Read and validate case ``index`` (``0 <= index < len(self)``)."""

    @abstractmethod
    def check_case(self, index: int) -> None:
        """Validate case ``index`` as cheaply as possible (headers only where the format allows)."""

    @property
    def channel_names(self) -> list[str] | None:
        """Names of the image channels, in channel order, when known."""
        return None

    @property
    def labels(self) -> dict[int, str] | None:
        """Label value -> name (0 is the background), when known."""
        return None

    @property
    def regions(self) -> list[RegionSpec] | None:
        """Regions (unions of label values, nnU-Net's region format) when the format declares them."""
        return None

    def __len__(self) -> int:
        """Number of cases."""
        return len(self.case_ids)

    @override
    def __getitem__(self, index: int) -> Case:
        """Case ``index`` (negative indices count from the end), read from disk."""
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(f"{self.name}: case index {index} out of range for {n} cases")
        return self.load_case(i)

    def __iter__(self) -> Iterator[Case]:
        """Every case in index order."""
        for i in range(len(self)):
            yield self.load_case(i)

    @override
    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} cases)"

    def index_of(self, case_id: str) -> int:
        """The index of the case with id ``case_id``."""
        try:
            return self.case_ids.index(case_id)
        except ValueError:
            raise DatasetError(f"{self.name}: no case with id '{case_id}'") from None

    def case(self, case_id: str) -> Case:
        """The case with id ``case_id``."""
        return self.load_case(self.index_of(case_id))

    def subset(self, ids: Iterable[str]) -> CaseDataset:
        """A dataset of the cases ``ids`` (in the order given); unknown ids raise :class:`DatasetError`."""
        wanted = list(ids)
        position = {cid: i for i, cid in enumerate(self.case_ids)}
        unknown = [cid for cid in wanted if cid not in position]
        if unknown:
            raise DatasetError(f"{self.name}: unknown case id(s) {', '.join(unknown[:5])}")
        if len(set(wanted)) != len(wanted):
            raise DatasetError(f"{self.name}: subset ids must be unique")
        return SubsetCaseDataset(self, [position[cid] for cid in wanted])

    def fold_assignments(self, n_folds: int | None = None, seed: int = 0) -> dict[str, int]:
        """``case_id -> fold``: the folds file's when one was attached, else a seeded k-fold split."""
        if self._folds is not None:
            if n_folds is not None and n_folds != num_folds(self._folds):
                raise DatasetError(
                    f"{self.name}: folds file defines {num_folds(self._folds)} folds but n_folds={n_folds}"
                )
            return dict(self._folds)
        return kfold_assignments(self.case_ids, n_folds or DEFAULT_FOLDS, seed)

    def fold(
        self, k: int | Literal["all"], n_folds: int | None = None, seed: int = 0
    ) -> tuple[CaseDataset, CaseDataset]:
        """``(train, val)`` of fold ``k`` of a k-fold split (5 folds unless said or set by a folds file).

        ``k="all"`` trains on every case and validates on every case too (a final model uses all the
        data; its validation scores are then training scores, not estimates).
        """
        if k == "all":
            return self, self
        if isinstance(k, bool) or not isinstance(k, int):
            raise DatasetError(f"{self.name}: fold must be an integer or 'all', got {k!r}")
        train, val = fold_ids(self.fold_assignments(n_folds, seed), k)
        return self.subset(train), self.subset(val)

    def split(self, val_percent: float = 0.2, seed: int = 0) -> tuple[CaseDataset, CaseDataset]:
        """``(train, val)`` with ``val_percent`` of the cases (at least one) drawn for validation."""
        train, val = holdout_ids(self.case_ids, val_percent, seed)
        return self.subset(train), self.subset(val)

    def with_folds_file(self, path: str | os.PathLike[str]) -> CaseDataset:
        """A copy of this dataset whose :meth:`fold` follows the folds file at ``path``.

        The file (see :func:`medseg.data.folds.write_folds`) must name exactly this dataset's cases.
        """
        out = copy.copy(self)
        out._folds = read_folds(Path(path), self.case_ids)
        return out

    def with_folds(self, assignments: dict[str, int]) -> CaseDataset:
        """A copy of this dataset whose :meth:`fold` follows ``assignments`` (``case_id -> fold``)."""
        check_folds_cover(self.name, assignments, self.case_ids)
        out = copy.copy(self)
        out._folds = dict(assignments)
        return out

    def check(self, *, max_listed: int = 5, progress: bool = True) -> None:
        """Validate every case (headers only where possible) and raise one error listing the bad ones.

        The :class:`DatasetError` message is one line: how many cases are bad and the first
        ``max_listed`` problems.
        """
        from rich.console import Console
        from rich.progress import track

        problems: list[str] = []
        console = Console(stderr=True)
        steps = track(  # a transient bar on a non-terminal stderr would leave an empty line there
            range(len(self)),
            description=f"checking {len(self)} cases",
            disable=not progress or not console.is_terminal or len(self) == 0,
            transient=True,
            console=console,
        )
        for i in steps:
            try:
                self.check_case(i)
            except MedsegError as exc:
                problems.append(" ".join(str(exc).split()))
        if problems:
            shown = " | ".join(problems[:max_listed])
            more = f" | ... and {len(problems) - max_listed} more" if len(problems) > max_listed else ""
            raise DatasetError(
                f"{self.name}: {len(problems)} of {len(self)} cases are invalid: {shown}{more}"
            )


class SubsetCaseDataset(CaseDataset):
    """The cases of ``parent`` at ``indices`` (made by :meth:`CaseDataset.subset`)."""

    def __init__(self, parent: CaseDataset, indices: Sequence[int]) -> None:
        self.parent = parent
        self.indices = list(indices)
        self.name = parent.name
        parent_ids = parent.case_ids
        self._ids = [parent_ids[i] for i in self.indices]

    @property
    @override
    def case_ids(self) -> list[str]:
        return list(self._ids)

    @property
    @override
    def channel_names(self) -> list[str] | None:
        return self.parent.channel_names

    @property
    @override
    def labels(self) -> dict[int, str] | None:
        return self.parent.labels

    @property
    @override
    def regions(self) -> list[RegionSpec] | None:
        return self.parent.regions

    @override
    def __len__(self) -> int:
        return len(self._ids)

    @override
    def load_case(self, index: int) -> Case:
        return self.parent.load_case(self.indices[index])

    @override
    def check_case(self, index: int) -> None:
        self.parent.check_case(self.indices[index])
