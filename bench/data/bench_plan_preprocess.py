"""Fingerprint + plan + preprocess of Task04 Hippocampus: medseg versus nnU-Net v2, wall time.

Run: .venv/bin/python bench/data/bench_plan_preprocess.py [--repeats 3] [--nnunet-venv /work/nnunet-venv]

Both sides run as subprocesses, alternating, ``--repeats`` times; the table shows medians.

* medseg (this venv): ``MSDDataset`` -> ``inspect(workers=2, no cache)`` -> ``plan`` ->
  ``preprocess(workers=2)`` into a fresh folder, each stage timed inside the child; the child's
  whole wall time (interpreter start + imports + work) is timed too. A second medseg variant runs
  with a warm fingerprint cache (``inspect(cache_dir=...)`` hits; preprocessing is still redone).
* nnU-Net v2 (its own venv, never this one): per stage, the console scripts
  ``nnUNetv2_extract_fingerprint -np 2``, ``nnUNetv2_plan_experiment`` and ``nnUNetv2_preprocess -c
  3d_fullres -np 2``, each timed as a whole (each pays its own start-up); end to end, the single
  ``nnUNetv2_plan_and_preprocess -c 3d_fullres -np 2 -npfp 2`` that users run. The MSD conversion
  (``nnUNetv2_convert_MSD_dataset``) runs once, timed and reported, not counted.
* "startup" is python + imports (medseg: measured in the child; nnU-Net: ``python -c "import
  nnunetv2.experiment_planning.plan_and_preprocess_entrypoints"``); "work only" is the end-to-end
  wall minus that, for both sides.

Afterwards the last runs are compared case by case (in nnU-Net's venv, no pickles read): number of
cases, target spacing, patch and batch size, shapes, largest image difference, label agreement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data")) / "Task04_Hippocampus"
NNUNET_ID = "4"
NNUNET_NAME = "Dataset004_Hippocampus"

# Runs inside the nnU-Net venv: summarise its plans and preprocessed output as JSON (no pickles read).
NNUNET_SUMMARY = r"""
import json, sys
from pathlib import Path
import blosc2
import numpy as np
root, medseg = Path(sys.argv[1]), Path(sys.argv[2])
plans = json.loads((root / "nnUNetPlans.json").read_text())
cfg = plans["configurations"]["3d_fullres"]
folder = root / cfg["data_identifier"]
ids = sorted(p.name[: -len(".b2nd")] for p in folder.glob("*.b2nd") if not p.name.endswith("_seg.b2nd"))
same_shape, image_diff, label_agree, outside, other = 0, 0.0, [], 0, 0
for case in ids:
    image = blosc2.open(str(folder / f"{case}.b2nd"), mode="r")[:]
    seg = blosc2.open(str(folder / f"{case}_seg.b2nd"), mode="r")[:]
    mine = np.load(medseg / "cases" / case / "image.npy", allow_pickle=False)
    my_label = np.load(medseg / "cases" / case / "label.npy", allow_pickle=False)
    if image.shape == mine.shape:
        same_shape += 1
        image_diff = max(image_diff, float(np.abs(image.astype(np.float64) - mine).max()))
        label_agree.append(float((seg == my_label).mean()))
        outside += int((seg == -1).sum())
        other += int(((seg != my_label) & (seg != -1)).sum())
print(json.dumps({"n_cases": len(ids), "target_spacing": cfg["spacing"], "patch_size": cfg["patch_size"],
                  "batch_size": cfg["batch_size"], "normalization": cfg["normalization_schemes"],
                  "use_mask_for_norm": cfg["use_mask_for_norm"], "image_dtype": str(image.dtype),
                  "seg_dtype": str(seg.dtype), "cases_with_same_shape_as_medseg": same_shape,
                  "max_abs_image_difference": image_diff, "min_label_agreement": min(label_agree, default=None),
                  "nnunet_seg_minus1_voxels": outside, "label_voxels_differing_elsewhere": other,
                  "shapes": {c: list(blosc2.open(str(folder / f"{c}.b2nd"), mode="r").shape) for c in ids[:3]}}))
"""


def medseg_child(out_dir: str, cache_dir: str | None, result_file: str) -> None:
    """The medseg side, run in a child process: time each stage and summarise the output."""
    start = time.perf_counter()
    from medseg.data.datasets import MSDDataset
    from medseg.data.inspection import inspect
    from medseg.data.planning import plan
    from medseg.data.preprocessing import preprocess

    times: dict[str, float] = {"startup": time.perf_counter() - start}
    t = time.perf_counter()
    dataset = MSDDataset(DATA)
    fingerprint = inspect(dataset, workers=2, cache_dir=cache_dir, progress=False)
    times["fingerprint"] = time.perf_counter() - t
    t = time.perf_counter()
    the_plan = plan(fingerprint)
    times["plan"] = time.perf_counter() - t
    t = time.perf_counter()
    cache = preprocess(dataset, the_plan, out_dir, workers=2, progress=False)  # type: ignore[arg-type]  # MSDDataset is not typed as a Sequence
    times["preprocess"] = time.perf_counter() - t
    ids = cache.case_ids
    shapes = {cid: list(cache.image(ids.index(cid)).shape) for cid in sorted(ids)[:3]}
    summary = {
        "n_cases": len(cache),
        "target_spacing": the_plan.target_spacing,
        "patch_size": the_plan.patch_size,
        "batch_size": the_plan.batch_size,
        "normalization": [n.scheme for n in the_plan.normalization],
        "crop_to_nonzero": the_plan.crop_to_nonzero,
        "shapes": shapes,
    }
    Path(result_file).write_text(json.dumps({"times": times, "summary": summary}), encoding="utf-8")


def run_medseg(work: Path, cache_dir: Path | None, keep: Path | None = None) -> dict[str, Any]:
    """Run the medseg side once in a fresh subprocess; return stage times and output summary.

    The output folder is deleted afterwards, or moved to ``keep`` for the comparison.
    """
    out = Path(tempfile.mkdtemp(prefix="medseg_pre_", dir=work))
    result = work / "medseg_result.json"
    command = [sys.executable, __file__, "--side", "medseg", "--out", str(out), "--result", str(result)]
    if cache_dir is not None:
        command += ["--cache", str(cache_dir)]
    t = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    wall = time.perf_counter() - t
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    data["times"]["total"] = wall
    data["times"]["work"] = wall - data["times"]["startup"]
    if keep is None:
        shutil.rmtree(out)
    else:
        shutil.rmtree(keep, ignore_errors=True)
        out.rename(keep)
    return data


def nnunet_env(work: Path) -> dict[str, str]:
    """Environment with nnU-Net's three folders under ``work`` and 1 thread per process."""
    env = dict(os.environ)
    for name in ("nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results"):
        env[name] = str(work / name)
        (work / name).mkdir(parents=True, exist_ok=True)
    env.pop("VIRTUAL_ENV", None)
    return env


def timed(command: list[str], env: dict[str, str], log: Path) -> float:
    """Wall time of one command (output to ``log``); raise with the log's tail when it fails."""
    t = time.perf_counter()
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ {' '.join(command)}\n")
        handle.flush()
        done = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8")[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}); log {log}:\n{tail}")
    return wall


def convert_nnunet(venv: Path, env: dict[str, str], work: Path) -> float | None:
    """Convert the MSD task into ``$nnUNet_raw`` once; its wall time, or ``None`` when already there.

    nnU-Net's converter insists on an ``imagesTs`` folder, which the shared copy lacks, so it reads
    a staging folder of symbolic links plus an empty ``imagesTs``.
    """
    if (Path(env["nnUNet_raw"]) / NNUNET_NAME / "dataset.json").is_file():
        return None
    staging = work / "msd" / DATA.name
    (staging / "imagesTs").mkdir(parents=True, exist_ok=True)
    for name in ("imagesTr", "labelsTr", "dataset.json"):
        link = staging / name
        if not link.exists():
            link.symlink_to(DATA / name)
    return timed(
        [str(venv / "bin" / "nnUNetv2_convert_MSD_dataset"), "-i", str(staging), "-overwrite_id", NNUNET_ID],
        env,
        work / "nnunet.log",
    )


def run_nnunet(venv: Path, env: dict[str, str], work: Path) -> dict[str, Any]:
    """Fingerprint, plan and preprocess (3d_fullres) with nnU-Net's console scripts, from scratch.

    First the three stage commands one after the other (per-stage times, each with its own start-up),
    then the single ``nnUNetv2_plan_and_preprocess`` command (``total``: what a user runs).
    """
    shutil.rmtree(Path(env["nnUNet_preprocessed"]) / NNUNET_NAME, ignore_errors=True)
    bin_dir, log = venv / "bin", work / "nnunet.log"
    times = {
        "fingerprint": timed(
            [str(bin_dir / "nnUNetv2_extract_fingerprint"), "-d", NNUNET_ID, "-np", "2", "--clean"], env, log
        ),
        "plan": timed([str(bin_dir / "nnUNetv2_plan_experiment"), "-d", NNUNET_ID], env, log),
        "preprocess": timed(
            [str(bin_dir / "nnUNetv2_preprocess"), "-d", NNUNET_ID, "-c", "3d_fullres", "-np", "2"], env, log
        ),
    }
    times["stages"] = sum(times.values())
    times["startup"] = nnunet_startup(venv, env)
    shutil.rmtree(Path(env["nnUNet_preprocessed"]) / NNUNET_NAME, ignore_errors=True)
    times["total"] = timed(
        [
            str(bin_dir / "nnUNetv2_plan_and_preprocess"),
            "-d",
            NNUNET_ID,
            "-c",
            "3d_fullres",
            "-np",
            "2",
            "-npfp",
            "2",
            "--clean",
        ],
        env,
        log,
    )
    times["work"] = times["total"] - times["startup"]
    return {"times": times}


def nnunet_startup(venv: Path, env: dict[str, str]) -> float:
    """Interpreter start + import of nnU-Net's planning/preprocessing entry points (one command's overhead)."""
    t = time.perf_counter()
    code = "import nnunetv2.experiment_planning.plan_and_preprocess_entrypoints"
    subprocess.run([str(venv / "bin" / "python"), "-c", code], env=env, check=True)
    return time.perf_counter() - t


def nnunet_summary(venv: Path, env: dict[str, str], medseg_out: Path) -> dict[str, Any]:
    """The last nnU-Net run's plan and output, compared case by case with medseg's (in nnU-Net's venv)."""
    root = Path(env["nnUNet_preprocessed"]) / NNUNET_NAME
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", NNUNET_SUMMARY, str(root), str(medseg_out)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def median(runs: list[dict[str, Any]], key: str) -> float:
    """Median of one stage's seconds over runs."""
    return statistics.median(r["times"][key] for r in runs)


def print_table(
    medseg: list[dict[str, Any]], warm: list[dict[str, Any]], nnunet: list[dict[str, Any]]
) -> None:
    """One table: median seconds per stage and nnU-Net / medseg ratios."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Task04 Hippocampus, 208 cases, 2 workers, median of {len(medseg)} runs (seconds)")
    columns = ("stage", "nnU-Net v2", "medseg", "nnU-Net/medseg", "medseg warm cache", "nnU-Net/warm")
    for column in columns:
        table.add_column(column, justify="right" if column != "stage" else "left")
    names = {
        "fingerprint": "fingerprint (nnU-Net: own command)",
        "plan": "plan (nnU-Net: own command)",
        "preprocess": "preprocess 3d_fullres (nnU-Net: own command)",
        "total": "end-to-end wall (nnU-Net: plan_and_preprocess)",
        "startup": "startup: python + imports",
        "work": "work only: end-to-end - startup",
    }
    for key, label in names.items():
        n, m, w = median(nnunet, key), median(medseg, key), median(warm, key)
        ratios = ("", "") if key == "startup" else (f"{n / m:.1f}x", f"{n / w:.1f}x")
        table.add_row(label, f"{n:.3f}", f"{m:.3f}", ratios[0], f"{w:.3f}", ratios[1])
    Console(width=150).print(table)


def main() -> None:
    """Parse arguments; run the child side or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nnunet-venv", type=Path, default=Path("/work/nnunet-venv"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/nnunet_bench"))
    parser.add_argument("--side", choices=["medseg"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "medseg":
        medseg_child(args.out, args.cache, args.result)
        return
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    env = nnunet_env(work)
    converted = convert_nnunet(args.nnunet_venv, env, work)
    print(
        f"nnU-Net MSD conversion: {'already done' if converted is None else f'{converted:.2f} s (not counted)'}"
    )
    fingerprint_cache = Path(tempfile.mkdtemp(prefix="medseg_fp_cache_", dir=work))
    run_medseg(work, fingerprint_cache)  # fills the fingerprint cache for the warm runs
    medseg: list[dict[str, Any]] = []
    warm: list[dict[str, Any]] = []
    nnunet: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        nnunet.append(run_nnunet(args.nnunet_venv, env, work))
        medseg.append(run_medseg(work, None, keep=work / "medseg_last"))
        warm.append(run_medseg(work, fingerprint_cache))
        for side, runs in (("nnU-Net", nnunet), ("medseg", medseg), ("medseg warm", warm)):
            print(
                f"repeat {repeat + 1} {side}: "
                + ", ".join(f"{k} {v:.2f}" for k, v in runs[-1]["times"].items())
            )
    shutil.rmtree(fingerprint_cache)
    print_table(medseg, warm, nnunet)
    print("medseg output:", json.dumps(medseg[-1]["summary"]))
    print("nnU-Net output:", json.dumps(nnunet_summary(args.nnunet_venv, env, work / "medseg_last")))


if __name__ == "__main__":
    main()
