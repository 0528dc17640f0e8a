"""The shared rules of medseg.core: window positions, mirror subsets, suffixes, parallel_map."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import pytest
from monai.data.utils import dense_patch_slices

from medseg.core.mirror import mirror_subsets
from medseg.core.parallel import parallel_map
from medseg.core.vocab import IMAGE_SUFFIXES, READ_SUFFIXES, WRITE_SUFFIXES, image_suffix
from medseg.core.windows import scan_steps, window_starts


@pytest.mark.parametrize(
    ("size", "patch", "overlap"),
    [
        ((40, 56, 40), (40, 56, 40), 0.5),
        ((97, 131, 64), (40, 56, 40), 0.5),
        ((97, 131, 64), (40, 56, 40), 0.25),
        ((35, 51, 35), (20, 28, 20), 0.5),
        ((512, 512), (256, 256), 0.5),
        ((584, 565), (256, 256), 0.7),
        ((7, 300, 300), (7, 128, 128), 0.5),
    ],
)
def test_window_starts_match_monais_dense_patch_slices(
    size: tuple[int, ...], patch: tuple[int, ...], overlap: float
) -> None:
    starts = window_starts(size, patch, overlap)
    ours = sorted(itertools.product(*starts))
    steps = scan_steps(size, patch, [overlap] * len(size))
    reference = sorted({tuple(s.start for s in window) for window in dense_patch_slices(size, patch, steps)})
    assert ours == reference
    for axis, axis_starts in enumerate(starts):  # the last window ends flush with the border
        assert axis_starts[-1] + patch[axis] == size[axis]


@pytest.mark.parametrize(
    ("size", "patch", "overlap", "message"),
    [
        ((10, 10), (12, 4), 0.5, "between 1 and the image size"),
        ((10, 10), (4, 4), 1.0, "must be in [0, 1)"),
        ((10, 10), (4, 4, 4), 0.5, "one value per axis"),
    ],
)
def test_window_starts_refuse_bad_requests_in_one_line(
    size: tuple[int, ...], patch: tuple[int, ...], overlap: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        window_starts(size, patch, overlap)


def test_mirror_subsets_are_every_flip_once_identity_first() -> None:
    subsets = mirror_subsets([0, 1, 2])
    assert subsets[0] == ()
    assert len(subsets) == 8
    assert {frozenset(s) for s in subsets} == {
        frozenset(c) for r in range(4) for c in itertools.combinations([0, 1, 2], r)
    }
    assert mirror_subsets([1, 1, 0]) == mirror_subsets([1, 0])  # duplicates count once


def test_image_suffix_takes_the_double_suffix_and_ignores_case() -> None:
    assert image_suffix("hippocampus_367.nii.gz") == ".nii.gz"
    assert image_suffix("scan.NII") == ".nii"
    assert image_suffix("21_training.TIF") == ".tif"
    assert image_suffix("notes.txt") == ""
    assert image_suffix("archive.gz") == ""
    assert set(WRITE_SUFFIXES) <= set(READ_SUFFIXES)
    assert ".jpg" in IMAGE_SUFFIXES and ".jpg" not in WRITE_SUFFIXES  # lossy: read, never written


def test_parallel_map_keeps_order_in_and_out_of_process() -> None:
    values = [float(v) for v in range(25)]
    expected = [math.sqrt(v) for v in values]
    assert list(parallel_map(math.sqrt, values, workers=0)) == expected
    assert list(parallel_map(math.sqrt, values, workers=2)) == expected


def test_parallel_map_holds_a_bounded_number_of_items_in_flight() -> None:
    pulled = 0

    def items() -> Iterator[float]:
        nonlocal pulled
        for v in range(1000):
            pulled += 1
            yield float(v)

    results = parallel_map(math.sqrt, items(), workers=1, window=3)
    assert next(results) == 0.0
    assert pulled <= 4  # window x workers submitted, then one result taken
    results.close()


def test_parallel_map_reraises_a_worker_error_and_refuses_negative_workers() -> None:
    with pytest.raises(ValueError, match="math domain error"):
        list(parallel_map(math.sqrt, [4.0, -1.0, 9.0], workers=1))
    with pytest.raises(ValueError, match="workers must be >= 0"):
        list(parallel_map(math.sqrt, [1.0], workers=-1))


def test_parallel_map_runs_the_initializer_once_here_without_workers() -> None:
    calls: list[int] = []
    out = list(parallel_map(abs, [-1, -2], workers=0, initializer=calls.append, initargs=(7,)))
    assert out == [1, 2]
    assert calls == [7]


def test_mirror_axes_for_means_every_spatial_axis_when_none() -> None:
    from medseg.core.mirror import mirror_axes_for

    assert mirror_axes_for(None, 3) == (0, 1, 2)
    assert mirror_axes_for(None, 2) == (0, 1)
    assert mirror_axes_for([2, 0], 3) == (2, 0)  # given axes are kept, in their order
    assert mirror_axes_for((), 3) == ()  # no TTA stays no TTA
