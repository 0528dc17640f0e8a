"""Where a prediction is written (medseg.io.naming): the input's format and a checked case id."""

from __future__ import annotations

from pathlib import Path

import pytest

from medseg.core.errors import ImageWriteError
from medseg.io.naming import DEFAULT_SUFFIX, output_path, output_suffix, safe_case_id


@pytest.mark.parametrize(
    ("source", "suffix"),
    [
        ("/data/case.nii.gz", ".nii.gz"),
        ("/data/case.NII", ".nii"),
        ("/data/case.mha", ".mha"),
        ("/data/case.nrrd", ".nrrd"),
        ("/data/21_training.tif", ".png"),  # every 2D raster gives a lossless PNG
        ("/data/21_manual1.gif", ".png"),
        ("/data/photo.jpeg", ".png"),
        ("/data/t1.nii.gz;/data/t2.nii.gz", ".nii.gz"),  # several channels: the first one's format
        ("/data/dicom_series", DEFAULT_SUFFIX),  # a folder (DICOM series)
        ("/data/slice.dcm", DEFAULT_SUFFIX),
        (None, DEFAULT_SUFFIX),  # an in-memory array
    ],
)
def test_predictions_keep_the_input_format(source: str | None, suffix: str) -> None:
    assert output_suffix(source) == suffix


def test_a_requested_format_wins_with_or_without_its_dot() -> None:
    assert output_suffix("/data/case.png", "nii.gz") == ".nii.gz"
    assert output_suffix("/data/case.nii.gz", ".tif") == ".tif"
    assert output_path("/out", "case_1", "/data/case_1.png") == Path("/out/case_1.png")


@pytest.mark.parametrize("bad", ["", ".", "..", "../../x", "/etc/passwd", "a/b", "a\\b", ".hidden", "a\x00b"])
def test_case_ids_that_would_write_elsewhere_are_refused_in_one_line(bad: str) -> None:
    with pytest.raises(ImageWriteError, match="is not a plain file name") as info:
        output_path("/out", bad, "/data/x.nii.gz")
    assert "\n" not in str(info.value)


def test_plain_case_ids_pass_unchanged() -> None:
    for ok in ["hippocampus_367", "BraTS-GLI-00001-000", "case.v2", "Zürich_01"]:
        assert safe_case_id(ok) == ok
