"""Postprocessing selection and application on folders of 2D PNG predictions (the 2D CLI path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from medseg.presets.postprocess_folders import apply_to_folder, label_files, select_for_folders


def _write_png(path: Path, array: np.ndarray) -> None:
    PILImage.fromarray(array.astype(np.uint8)).save(path)


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    preds, refs = tmp_path / "pred", tmp_path / "ref"
    preds.mkdir()
    refs.mkdir()
    for i in range(3):
        ref = np.zeros((32, 32), np.uint8)
        ref[8:20, 8:20] = 1
        pred = ref.copy()
        pred[26:29, 26:29] = 1  # a spurious island the largest-component step removes
        _write_png(refs / f"case_{i}.png", ref)
        _write_png(preds / f"case_{i}.png", pred)
    return preds, refs


def test_png_predictions_are_found_selected_and_rewritten(tmp_path: Path) -> None:
    preds, refs = _pair(tmp_path)
    assert sorted(label_files(preds)) == ["case_0", "case_1", "case_2"]
    selection = select_for_folders(preds, refs)
    assert selection.dice_after[1] > selection.dice_before[1]
    assert selection.dice_after[1] == 1.0
    written = apply_to_folder(selection.strategy, preds, tmp_path / "out")
    assert sorted(p.name for p in written) == ["case_0.png", "case_1.png", "case_2.png"]
    for path in written:
        out = np.asarray(PILImage.open(path))
        ref = np.asarray(PILImage.open(refs / path.name))
        np.testing.assert_array_equal(out, ref)
