"""The report in a real browser (headless Chromium): images load, no console errors, headers sort."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from medseg.data.sample import sample_path
from medseg.io import read_image
from medseg.viz.colors import class_color
from medseg.viz.html import page
from medseg.viz.report import write_report
from medseg.viz.report_visuals import MONTAGE, ROTATION, SCROLL, save_worst_case_visuals

CONSOLE = re.compile(r":CONSOLE[:(]")
PROBE = """<script>
window.addEventListener('load', function () {
  var table = document.getElementById('case-table');
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function header(name) { return heads.filter(function (h) { return h.textContent === name; })[0]; }
  function first() { return table.tBodies[0].rows[0].cells[1].textContent; }
  var initial = first();
  header('anterior/hd95').click(); var ascending = first();
  header('anterior/hd95').click(); var descending = first();
  header('case_id').click(); var byName = first();
  document.body.setAttribute('data-probe', [initial, ascending, descending, byName].join(','));
});
</script></body>"""


#: every image's caption and natural size, and the computed colour of every legend swatch
SIZES_PROBE = """<script>
window.addEventListener('load', function () {
  var sizes = Array.prototype.map.call(document.images, function (i) {
    return i.alt + '=' + i.naturalWidth + 'x' + i.naturalHeight;
  });
  var swatches = Array.prototype.map.call(document.querySelectorAll('#visuals .swatch'), function (s) {
    return getComputedStyle(s).backgroundColor.replace(/ /g, '');
  });
  document.body.setAttribute('data-sizes', sizes.join(';'));
  document.body.setAttribute('data-swatches', swatches.join(';'));
});
</script></body>"""


def _chromium(binary: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _body(dom: str) -> str:
    match = re.search(r"<body([^>]*)>", dom)
    assert match, dom[:500]
    return match.group(1)


def test_report_renders_with_all_images_and_sortable_tables(
    work_dir: Path, tmp_path: Path, chromium: Callable[[], str]
) -> None:
    binary = chromium()
    report = write_report(work_dir)
    html = report.read_text(encoding="utf-8")
    probe = report.with_name("probe.html")
    probe.write_text(html.replace("</body>", PROBE, 1), encoding="utf-8")
    done = _chromium(
        binary, tmp_path / "profile-dom", probe.as_uri(), "--dump-dom", "--virtual-time-budget=10000"
    )
    console = [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    assert not console, console
    body = _body(done.stdout)
    assert 'data-images-ok="true"' in body, body
    assert f'data-images-total="{html.count("<img ")}"' in body and html.count("<img ") == 2
    assert 'data-images-broken="0"' in body
    # worst first; hd95 ascending (1.0 first), descending (inf first, numeric not text); then by name
    assert 'data-probe="case_e,case_d,case_b,case_a"' in body, body

    shot = tmp_path / "report.png"
    _chromium(
        binary,
        tmp_path / "profile-shot",
        report.as_uri(),
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
    )
    with PILImage.open(shot) as png:
        assert png.size == (1280, 2000)
        pixels = np.asarray(png.convert("RGB")).astype(int)
    assert np.abs(pixels[10, 10] - (31, 59, 87)).max() <= 3  # the header band: the inline CSS applied
    assert pixels.std() > 20  # not a blank page
    if os.environ.get("MEDSEG_REPORT_SCREENSHOT"):  # keep the screenshot to look at
        shutil.copyfile(shot, os.environ["MEDSEG_REPORT_SCREENSHOT"])


def test_experiment_report_with_montage_scroll_and_3d_gifs_renders(
    experiment_dir: Path, tmp_path: Path, chromium: Callable[[], str]
) -> None:
    binary = chromium()
    entry = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))["training"][0]
    image = read_image(sample_path() / entry["image"])
    label = read_image(sample_path() / entry["label"], is_label=True).array[0]
    prediction = np.roll(label, 2, axis=1)  # a prediction a little off
    manifest = save_worst_case_visuals(
        experiment_dir / "previews",
        image.array[0],
        label,
        prediction,
        class_names={1: "anterior", 2: "posterior"},
        case_id="hippocampus_021",
        mean_dice=0.235,
        epoch=4,
    )
    assert manifest["files"] == [MONTAGE, SCROLL, ROTATION]
    report = write_report(experiment_dir)
    html = report.read_text(encoding="utf-8")
    # 2 plots, the box plot, the preview, the montage and the 2 GIFs
    assert html.count("data:image/gif;base64,") == 2 and html.count("<img ") == 7
    probe = report.with_name("probe.html")
    probe.write_text(html.replace("</body>", SIZES_PROBE, 1), encoding="utf-8")
    done = _chromium(
        binary, tmp_path / "profile-dom", probe.as_uri(), "--dump-dom", "--virtual-time-budget=10000"
    )
    console = [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    assert not console, console
    body = _body(done.stdout)
    assert 'data-images-ok="true"' in body and 'data-images-broken="0"' in body, body
    assert 'data-images-total="7"' in body, body
    sizes = dict(item.rsplit("=", 1) for item in re.search(r'data-sizes="([^"]*)"', body).group(1).split(";"))
    for name in (MONTAGE, SCROLL, ROTATION):  # decoded by the browser at the size of the file
        with PILImage.open(experiment_dir / "previews" / name) as written:
            assert sizes[f"previews/{name}"] == f"{written.width}x{written.height}"
    swatches = re.search(r'data-swatches="([^"]*)"', body).group(1).split(";")
    assert swatches == ["rgb({},{},{})".format(*class_color(v)) for v in (1, 2)]

    shot = tmp_path / "experiment.png"  # the whole page: the visuals are at its end
    _chromium(
        binary,
        tmp_path / "profile-shot",
        report.as_uri(),
        f"--screenshot={shot}",
        "--window-size=1280,5200",
        "--hide-scrollbars",
    )
    with PILImage.open(shot) as png:
        pixels = np.asarray(png.convert("RGB"))
    for value in (1, 2):  # painted: the legend swatches, the GIFs' legend strips, the montage's legend
        assert (pixels == class_color(value)).all(-1).sum() >= 200
    if os.environ.get("MEDSEG_REPORT_SCREENSHOT"):  # keep the screenshot to look at
        shutil.copyfile(shot, Path(os.environ["MEDSEG_REPORT_SCREENSHOT"]).with_suffix(".experiment.png"))


def test_the_browser_checks_do_catch_broken_images_and_script_errors(
    tmp_path: Path, chromium: Callable[[], str]
) -> None:
    binary = chromium()
    broken = tmp_path / "broken.html"
    body = '<img src="data:image/png;base64,AAAA" alt="broken"><script>undefinedFunction();</script>'
    broken.write_text(page("broken", "negative control", [("x", "x", body)]), encoding="utf-8")
    done = _chromium(
        binary, tmp_path / "profile", broken.as_uri(), "--dump-dom", "--virtual-time-budget=10000"
    )
    attributes = _body(done.stdout)
    assert 'data-images-ok="false"' in attributes and 'data-images-broken="1"' in attributes
    assert any("undefinedFunction" in line for line in done.stderr.splitlines() if CONSOLE.search(line))


def test_chromium_missing_is_a_skip_or_a_ci_failure(
    monkeypatch: pytest.MonkeyPatch, chromium: Callable[[], str]
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        chromium()
