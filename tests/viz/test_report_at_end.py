"""The report is written when training ends: ``medseg train`` leaves ``report.html`` in the experiment
folder with the worst validation case's montage, scroll GIF and 3-D GIF (3D) or its 2D overlays, and
``medseg run-all`` leaves the work folder's report; a report that cannot be written is one warning.

Tiny runs (4 hippocampus cases of the embedded sample; 4 synthetic 64 x 64 PNGs for 2D), 1 epoch.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from medseg.cli.main import main
from medseg.data.sample import copy_sample
from medseg.presets.pipeline import write_run_report
from medseg.viz.colors import class_color
from medseg.viz.report_visuals import MANIFEST, MONTAGE, ROTATION, SCROLL
from medseg.viz.tables import read_case_table

TINY = [
    "--n-folds",
    "2",
    "--epochs",
    "1",
    "--steps-per-epoch",
    "1",
    "--features-base",
    "4",
    "--batch-size",
    "2",
    "--set",
    "training.workers=0",
]
TINY_3D = [*TINY, "--patch-size", "16", "16", "16"]
TINY_2D = [*TINY, "--patch-size", "64", "64"]
IMG = re.compile(r'<img src="data:(image/\w+);base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"')


def _discs(out: Path, count: int = 4) -> Path:
    """``image/*.png`` and ``label/*.png`` (0/1): a bright disc on noise, a different one per case."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    for sub in ("image", "label"):
        (out / sub).mkdir(parents=True)
    for i in range(count):
        disc = (yy - 20 - 6 * i) ** 2 + (xx - 30) ** 2 < (10 + i) ** 2
        image = np.clip(60 + 120 * disc + rng.normal(0, 20, disc.shape), 0, 255).astype(np.uint8)
        PILImage.fromarray(image).save(out / "image" / f"case{i}.png")
        PILImage.fromarray(disc.astype(np.uint8)).save(out / "label" / f"case{i}.png")
    return out


def _images(html: str) -> dict[str, PILImage.Image]:
    """Every embedded image by its caption (``alt``), decoded (all frames loaded)."""
    found = {}
    for mime, data, alt in IMG.findall(html):
        image = PILImage.open(io.BytesIO(base64.b64decode(data)))
        image.load()
        assert image.format.lower() == mime.split("/")[1]
        found[alt] = image
    assert len(found) == html.count("<img "), "an <img> without a decodable data URI"
    return found


def _experiment(work: Path) -> Path:
    (folder,) = sorted((work / "experiments").glob("*/*"))
    return folder


def _check_worst_case(folder: Path) -> dict:
    """The manifest names the worst case of the last validation (validation/cases.csv, worst first)."""
    manifest = json.loads((folder / "previews" / MANIFEST).read_text(encoding="utf-8"))
    worst = read_case_table(folder / "validation" / "cases.csv").iloc[0]
    assert manifest["case_id"] == worst["case_id"]
    assert manifest["mean_dice"] == pytest.approx(worst["mean"], abs=1e-5)  # the CSV has 6 decimals
    assert manifest["epoch"] == 1
    return manifest


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report_at_end")
    data = copy_sample(root / "data", 4)
    work = root / "work"
    assert main(["train", "--data", str(data), "-o", str(work), "--fold", "0", *TINY_3D]) == 0
    return {"root": root, "data": data, "work": work}


def test_train_writes_the_experiment_report_with_the_visual_reports(trained: dict[str, Path]) -> None:
    folder = _experiment(trained["work"])
    report = folder / "report.html"
    assert report.is_file()
    manifest = _check_worst_case(folder)
    assert manifest["files"] == [MONTAGE, SCROLL, ROTATION] and not manifest["failed"]
    assert manifest["classes"] == {"1": "Anterior", "2": "Posterior"}
    html = report.read_text(encoding="utf-8")
    images = _images(html)
    assert f"previews/{MONTAGE}" in images and images[f"previews/{MONTAGE}"].format == "PNG"
    for name in (SCROLL, ROTATION):  # animated GIFs, each frame as large as the first
        gif = images[f"previews/{name}"]
        assert gif.format == "GIF" and gif.n_frames > 1 and min(gif.size) > 100
    assert "previews/worst_case.png" in images  # the trainer's preview is still shown
    assert 'id="case-table"' in html  # the trainer's validation/cases.csv is read (it has a mean column)
    assert f"case <b>{manifest['case_id']}</b>" in html
    for value, name in ((1, "Anterior"), (2, "Posterior")):  # the legend: class colour and name
        r, g, b = class_color(value)
        assert f'background:rgb({r},{g},{b})"></span>{value}: {name}</li>' in html


def test_train_of_a_2d_dataset_shows_the_2d_overlays_and_no_gifs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _discs(tmp_path / "discs")
    work = tmp_path / "work"
    assert main(["train", "--data", str(data), "-o", str(work), "--fold", "0", *TINY_2D]) == 0
    folder = _experiment(work)
    assert f"report: {folder / 'report.html'}" in capsys.readouterr().out
    # a 2D experiment: the montage of the 2D overlays, no GIFs, and the report says why
    manifest = _check_worst_case(folder)
    assert manifest["spatial_dims"] == 2 and manifest["files"] == [MONTAGE]
    assert set(manifest["skipped"]) == {SCROLL, ROTATION}
    assert not (folder / "previews" / SCROLL).exists() and not (folder / "previews" / ROTATION).exists()
    html = (folder / "report.html").read_text(encoding="utf-8")
    images = _images(html)
    assert f"previews/{MONTAGE}" in images and not any(i.format == "GIF" for i in images.values())
    assert f"{SCROLL}: skipped (a 2D case has no slices to scroll through" in html


def test_run_all_writes_the_work_folder_report(
    trained: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    work = trained["root"] / "run_all"
    assert main(["run-all", str(trained["data"]), "-o", str(work), "--folds", "0", "--no-tta", *TINY_3D]) == 0
    report = work / "report.html"
    assert report.is_file() and f"report: {report}" in capsys.readouterr().out
    html = report.read_text(encoding="utf-8")
    assert "Cross-validation summary" in html and "not available" not in html.split('id="cv"')[1][:400]
    folder = _experiment(work)
    relative = (folder / "report.html").relative_to(work).as_posix()
    assert f'<a href="{relative}">open report</a>' in html and (folder / "report.html").is_file()
    assert f"previews/{SCROLL}" in (folder / "report.html").read_text(encoding="utf-8")


def test_a_report_that_cannot_be_written_is_one_warning(
    experiment_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import medseg.viz.report

    folder = experiment_dir

    def fail(*args: object, **kwargs: object) -> Path:
        raise OSError("disk full\nsecond line")

    monkeypatch.setattr(medseg.viz.report, "write_report", fail)
    assert write_run_report(folder, "experiment") is None
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"medseg: warning: {folder / 'report.html'}: experiment report not written (OSError: disk full "
        "second line)"
    ]
    assert not (folder / "report.html").exists()
