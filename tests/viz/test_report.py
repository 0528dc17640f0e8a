"""The static HTML report: every table row, decodable embedded images, relative links, graceful gaps."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from PIL import Image as PILImage

from medseg.cli.main import main
from medseg.core.errors import MedsegError
from medseg.viz.report import folder_kind, write_report
from medseg.viz.tables import cases_across_folds, read_fold_tables

PNG = re.compile(r'<img src="data:(image/\w+);base64,([A-Za-z0-9+/=]+)"')


def _images(html: str) -> list[tuple[int, int]]:
    """Decode every embedded image; returns their sizes."""
    sizes = []
    for mime, data in PNG.findall(html):
        with PILImage.open(io.BytesIO(base64.b64decode(data))) as img:
            img.load()
            assert img.format.lower() == mime.split("/")[1]
            sizes.append(img.size)
    assert len(sizes) == html.count("<img "), "an <img> without a decodable data URI"
    return sizes


def _hrefs(html: str) -> list[str]:
    return [unquote(h) for h in re.findall(r'href="([^"#][^"]*)"', html)]


def _rows(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'<table id="{table_id}"', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if "<td" in row]


def test_experiment_report(
    experiment_dir: Path, experiment_case_rows: list[tuple[str, float, float]]
) -> None:
    path = write_report(experiment_dir)
    assert path == experiment_dir / "report.html" and folder_kind(experiment_dir) == "experiment"
    html = path.read_text(encoding="utf-8")
    assert "patch size covers the median case shape (36 x 50 x 35)" in html  # the plan's reasons
    assert "<td>[40, 56, 40]</td>" in html and "<td>unet</td>" in html
    rows = _rows(html, "case-table")
    means = {c: (a + p) / 2 for c, a, p in experiment_case_rows}
    assert [r[0] for r in rows] == sorted(means, key=means.get)  # every case, worst first
    for row in rows:
        case = next(c for c in experiment_case_rows if c[0] == row[0])
        assert [float(v) for v in row[1:]] == pytest.approx([case[1], case[2], means[case[0]]])
    sizes = _images(html)
    assert (70, 40) in sizes and (60, 30) in sizes and (50, 50) in sizes  # plots + preview, as they are
    assert len(sizes) == 4  # ... plus the per-class box plot
    hrefs = _hrefs(html)
    files = ("checkpoints/best.safetensors", "checkpoints/latest.safetensors", "metrics.csv", "training.log")
    for name in files:
        assert name in hrefs
    assert all((experiment_dir / h).is_file() for h in hrefs)  # relative links that resolve
    assert "http" not in "".join(hrefs) and "<link" not in html and 'src="http' not in html  # offline


def test_missing_and_broken_pieces_are_not_available(tmp_path: Path, experiment_dir: Path) -> None:
    (experiment_dir / "validation" / "cases.csv").unlink()
    shutil.rmtree(experiment_dir / "plots")
    shutil.rmtree(experiment_dir / "previews")
    (experiment_dir / "plan.json").write_text("{not json", encoding="utf-8")
    html = write_report(experiment_dir).read_text(encoding="utf-8")
    assert "per-case table: not available (no validation/cases.csv)" in html
    assert "previews: not available" in html
    assert re.search(r"plan: not available \(JSONDecodeError", html)
    assert "rebuilt from metrics.csv" in html and len(_images(html)) == 1  # curves drawn from metrics.csv
    assert "0.8000 at epoch 3" in html
    bare = tmp_path / "bare"
    bare.mkdir()
    html = write_report(bare).read_text(encoding="utf-8")
    assert html.count("not available") >= 5 and _images(html) == []


def test_work_report(
    work_dir: Path, fold_case_rows: dict[int, list[tuple[str, float, float, float]]]
) -> None:
    assert folder_kind(work_dir) == "work"
    html = write_report(work_dir).read_text(encoding="utf-8")
    assert "target spacing is the median spacing (1 x 1 x 1 mm)" in html
    summary = json.loads((work_dir / "evaluation" / "cv_summary.json").read_text(encoding="utf-8"))
    for key, value in summary["mean"].items():
        assert key in html and f"{value:.4g}" in html
    rows = _rows(html, "case-table")
    expected = [(str(f), c, a, p) for f, cases in fold_case_rows.items() for c, a, p, _ in cases]
    assert sorted((r[0], r[1]) for r in rows) == sorted((f, c) for f, c, _, _ in expected)
    assert [r[1] for r in rows] == [c for _, c, _, _ in sorted(expected, key=lambda e: (e[2] + e[3]) / 2)]
    assert ["0", "case_b", "0.3", "inf", "0.5", "inf", "0.4"] in rows  # inf kept, shown, not averaged
    assert len(_images(html)) == 2  # box plots of dice and hd95
    reports = [h for h in _hrefs(html) if h.endswith("report.html")]
    assert len(reports) == 2 and all((work_dir / r).is_file() for r in reports)
    sub = (work_dir / reports[0]).read_text(encoding="utf-8")
    assert '<table id="case-table"' in sub and len(_images(sub)) == 4


def test_work_report_without_summary_computes_means(work_dir: Path) -> None:
    (work_dir / "evaluation" / "cv_summary.json").unlink()
    shutil.rmtree(work_dir / "experiments")
    html = write_report(work_dir).read_text(encoding="utf-8")
    assert "No cv_summary.json" in html and "experiments: not available" in html
    mean_row = re.search(r"<tr><td>mean</td>(.*?)</tr>", html)
    assert mean_row is not None
    anterior_dice = float(re.findall(r'data-v="([^"]+)"', mean_row.group(1))[0])
    fold_means = ((0.9 + 0.3) / 2, (0.7 + 0.95 + 0.05) / 3)
    assert anterior_dice == pytest.approx(sum(fold_means) / 2)  # the mean of the fold means


@pytest.mark.parametrize("layout", ["long", "region_rows"])
def test_other_fold_csv_layouts_are_read(tmp_path: Path, layout: str) -> None:
    rows = pd.DataFrame(
        {
            "case_id": ["a", "a", "b", "b"],
            "region": ["liver", "tumour"] * 2,
            "dice": [0.9, 0.5, 0.8, 0.1],
            "hd95": [1.0, 4.0, 2.0, 9.0],
        }
    )
    if layout == "long":
        rows = rows.melt(id_vars=["case_id", "region"], var_name="metric", value_name="value")
    (tmp_path / "evaluation").mkdir()
    rows.to_csv(tmp_path / "evaluation" / "fold_3.csv", index=False)
    wide = cases_across_folds(read_fold_tables(tmp_path / "evaluation"))
    assert list(wide["case_id"]) == ["b", "a"] and list(wide["fold"]) == ["3", "3"]
    assert wide.loc[0, "tumour/dice"] == 0.1 and wide.loc[1, "liver/hd95"] == 1.0


def test_cli_report_verb(experiment_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(experiment_dir)]) == 0
    assert (experiment_dir / "report.html").is_file() and "report written" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
    with pytest.raises(MedsegError):
        write_report(tmp_path / "nowhere")
