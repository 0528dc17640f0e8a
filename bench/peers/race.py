"""The peer race: each framework gets the same training cases and the same wall-clock budget.

Run (the project's venv; peers' venvs from bench/peers/setup_venvs.sh):

    PYTHONPATH=src .venv/bin/python bench/peers/race.py                    # the hippocampus race
    PYTHONPATH=src .venv/bin/python bench/peers/race.py --task drive       # DRIVE: nnU-Net 2d and medseg
    PYTHONPATH=src .venv/bin/python bench/peers/race.py --smoke            # every peer, short budgets, few cases
    PYTHONPATH=src .venv/bin/python bench/peers/race.py --show             # the table of race.jsonl

Cells (peer, budget) run one after another, each alone on the machine, INTERLEAVED: every peer's
first budget, then every peer's next one (the peer order rotates each round), so slow drift of the
machine does not fall on one peer. Each cell runs ``run_PEER.py`` in the peer's venv under a hard
time limit, then scores its predictions of the test cases with medseg's Evaluator (score.py), prints
the table and appends one JSON line per cell to bench/peers/results/race.jsonl (smoke runs go to
WORK/smoke.jsonl instead: they are checks, not results).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib

PEERS = ("nnunet", "monai", "mipcandy", "fastmonai", "medseg")
#: the issue's budgets: 15 and 30 minutes for every peer, 60 for nnU-Net and medseg
BUDGETS: dict[str, dict[int, tuple[str, ...]]] = {
    "hippocampus": {900: PEERS, 1800: PEERS, 3600: ("nnunet", "medseg")},
    "drive": {900: ("nnunet", "medseg")},
}
#: smoke budgets: long enough on a busy 2-core machine for the first checkpoint (MIP Candy's torch.compile
#: alone took 2.5 min; nnU-Net's conversion + planning + preprocessing about 1 min, DRIVE 2d epochs are slow)
SMOKE_BUDGETS: dict[str, dict[str, int]] = {
    "hippocampus": {"nnunet": 240, "monai": 90, "mipcandy": 420, "fastmonai": 150, "medseg": 120},
    "drive": {"nnunet": 420, "medseg": 180},
}
RESULTS = peerlib.HERE / "results" / "race.jsonl"
#: time a cell may take beyond its budget (predicting the test cases, the watchdog's grace)
PREDICT_ALLOWANCE_S = 3600.0


def interleave(plan: dict[int, tuple[str, ...]]) -> list[tuple[str, int]]:
    """Budget rounds in increasing order, the peers of round ``i`` rotated by ``i`` (further where needed,
    so that no peer runs twice in a row across the end of a round)."""
    cells: list[tuple[str, int]] = []
    for i, budget in enumerate(sorted(plan)):
        peers = list(plan[budget])
        k = i % len(peers)
        if cells and len(peers) > 1 and peers[k] == cells[-1][0]:
            k = (k + 1) % len(peers)
        cells.extend((peer, budget) for peer in peers[k:] + peers[:k])
    return cells


def parse_cells(texts: list[str]) -> list[tuple[str, int]]:
    """``["nnunet:900", ...]`` -> ``[("nnunet", 900), ...]`` (one-line error for a bad cell)."""
    cells = []
    for text in texts:
        peer, _, budget = text.partition(":")
        if peer not in PEERS or not budget.replace(".", "", 1).isdigit():
            raise SystemExit(
                f"race: error: cell '{text}' is invalid; write PEER:SECONDS with PEER one of "
                f"{', '.join(PEERS)}"
            )
        cells.append((peer, int(float(budget))))
    return cells


def peer_python(peer: str, venvs: Path) -> Path:
    """The interpreter of a peer (medseg: this one, with the repository's src/ on the path)."""
    if peer == "medseg":
        return Path(sys.executable)
    python = venvs / peer / "bin" / "python"
    if not python.exists():
        raise peerlib.PeerError(
            f"{python}: the {peer} venv is missing; run bash bench/peers/setup_venvs.sh {peer}"
        )
    return python


def load_average() -> float:
    """The 1-minute load average (a busy machine makes a cell unfair: it is recorded and warned about)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return math.nan


#: the CPU features that change a peer's speed by a large factor (bf16 autocast, wide vectors)
SPEED_FLAGS = ("amx_bf16", "avx512_bf16", "avx512f", "avx2")


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU a cell ran on, e.g. ``AMD EPYC [avx2]``: cells on different CPUs are different races.

    The shared machine is not always the same host: the first race (2026-12-04 morning) ran on an
    Intel Xeon with AMX, the second (evening) on an AMD EPYC with AVX2 only, 2.7-4x slower per step.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return platform.processor() or "unknown"
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    shown = [f for f in SPEED_FLAGS if f in flags]
    return f"{fields.get('model name', platform.processor() or 'unknown')} [{' '.join(shown) or 'no avx2'}]"


#: longest wait before a cell for the load average to fall below ``--max-load``: the 1-minute average
#: decays with a one-minute time constant, so right after a cell that kept both cores busy it reads
#: about 2 (the first race, 2026-12-04, recorded 1.9-2.3 before every cell but the first) and needs
#: about 1.5 minutes to fall below 0.5 when nothing else runs
SETTLE_S = 180.0


def settle(max_load: float, limit_s: float = SETTLE_S, poll_s: float = 5.0) -> tuple[float, float]:
    """Wait until the load average is at most ``max_load`` (at most ``limit_s``): ``(load, waited_s)``."""
    started = time.monotonic()
    load = load_average()
    while load > max_load and time.monotonic() - started < limit_s:
        time.sleep(poll_s)
        load = load_average()
    return load, round(time.monotonic() - started, 1)


def run_cell(peer: str, budget: int, args: argparse.Namespace, task: peerlib.Task) -> dict[str, Any]:
    """Run one cell and score it: the row for race.jsonl."""
    load, waited = settle(args.max_load, args.settle)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.work / task.name / f"{peer}_{budget}s_{stamp}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if load > args.max_load:
        print(
            f"[race] warning: load average {load:.2f} before {peer} {budget}s: the machine is not idle",
            file=sys.stderr,
        )
    row: dict[str, Any] = {
        "peer": peer,
        "task": task.name,
        "budget_s": budget,
        "started": stamp,
        "run_dir": str(out),
        "load_before": load,
        "settle_s": waited,
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        "smoke": args.smoke,
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(peerlib.ROOT / "src"), env.get("PYTHONPATH")]))
    try:
        cmd = [
            peer_python(peer, args.venvs),
            peerlib.HERE / f"run_{peer}.py",
            "--task",
            task.name,
            "--budget",
            budget,
            "--out",
            out,
            "--data-root",
            args.data_root or peerlib.shared_data(),
        ]
        for flag, value in (("--train-cases", args.train_cases), ("--test-cases", args.test_cases)):
            if value is not None:
                cmd += [flag, value]
        if args.smoke:
            cmd.append("--smoke")
        print(f"[race] {peer} {task.name} {budget} s -> {out}", flush=True)
        out.mkdir(parents=True, exist_ok=True)
        log = out.parent / f"{out.name}.log"  # beside the run folder: the peer script empties its folder
        started = time.monotonic()
        outcome = peerlib.run_until(cmd, time.monotonic() + budget + PREDICT_ALLOWANCE_S, log, env=env)
        row["wall_cell_s"] = round(time.monotonic() - started, 1)
        row["log"] = str(log)
        if outcome.stopped_by == "watchdog":
            row["error"] = f"the cell ran past budget + {PREDICT_ALLOWANCE_S:.0f} s and was stopped"
    except peerlib.PeerError as exc:
        row["error"] = str(exc)
        return row
    return collect(row, out, task)


def collect(row: dict[str, Any], out: Path, task: peerlib.Task) -> dict[str, Any]:
    """Merge a finished cell's ``run.json`` into its row and score its predictions (errors stay in the row)."""
    from score import score_run

    report = peerlib.read_json(out / "run.json")
    row.update({k: v for k, v in report.items() if k not in row or v is not None})
    if not report:
        row["error"] = row.get("error") or f"no run.json: see {row.get('log')}"
    elif not row.get("error"):
        try:
            row.update(score_run(out, task))
        except Exception as exc:  # recorded in the row: one failed cell must not end the race
            row["error"] = f"scoring failed: {exc}"
    return row


def rescore(rows: list[dict[str, Any]], task: peerlib.Task) -> int:
    """Add what the scorer now writes (``per_case``) to rows scored before it did: the number updated.

    Only a row whose run folder still holds its predictions is re-scored, and its recorded scores
    must come out again (to 1e-9), else the row is left alone and the mismatch is reported: the
    results file never holds two scorings of one cell.
    """
    from score import score_run

    updated = 0
    for row in rows:
        out = Path(row.get("run_dir", ""))
        if row.get("task") != task.name or row.get("error") or row.get("per_case"):
            continue
        if not (out / "predictions").is_dir():
            print(f"[race] rescore: {out}: predictions are gone; row left as it is", file=sys.stderr)
            continue
        scores = score_run(out, task)
        if abs(scores["mean_fg_dice"] - float(row.get("mean_fg_dice", math.nan))) > 1e-9:
            print(
                f"[race] rescore: {out}: mean fg Dice {scores['mean_fg_dice']:.6f} differs from the "
                f"recorded {row.get('mean_fg_dice')}; row left as it is",
                file=sys.stderr,
            )
            continue
        row["per_case"] = scores["per_case"]
        updated += 1
    return updated


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a results file (one JSON object per line)."""
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    """Rewrite a results file atomically (medseg's temporary file + rename)."""
    from medseg.core.atomic import write_text_atomic

    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))


def table(rows: list[dict[str, Any]]) -> str:
    """The race table: one line per cell."""
    region_names = sorted(
        {r for row in rows for r in row.get("dice", {})}, key=lambda n: (n != "anterior", n)
    )
    head = [
        "peer",
        "version",
        "task",
        "budget",
        "steps",
        "mean fg Dice",
        *region_names,
        "wall incl. prep",
        "predict",
        "cpu",
        "stopped by",
    ]
    lines = [head]
    for row in rows:
        dice = row.get("dice", {})
        lines.append(
            [
                row.get("peer", "?"),
                str(row.get("version", "?")),
                row.get("task", "?"),
                f"{row.get('budget_s', 0) / 60:g} min",
                str(row.get("steps", "-")),
                _num(row.get("mean_fg_dice")),
                *[_num(dice.get(n)) for n in region_names],
                _secs(row.get("wall_budgeted_s")),
                _secs(row.get("wall_predict_s")),
                row.get("cpu", "-"),
                (row.get("stopped_by") or "-")
                + (" (smoke)" if row.get("smoke") else "")
                + (" OVER BUDGET" if _over_budget(row) else "")
                + (f"  ERROR: {row['error']}" if row.get("error") else ""),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=False)) + "  " + line[-1] for line in lines
    )


#: bootstrap resamples of the paired comparison (a fixed seed: the same file prints the same interval)
PAIRED_RESAMPLES = 10_000


def paired(rows: list[dict[str, Any]], reference: str = "medseg") -> list[dict[str, Any]]:
    """``reference`` against every other peer's row of the same task, budget and CPU, case by case.

    A difference of means over 42 cases is only a result when the cases agree on it: each
    comparison gives the mean of ``reference - peer`` over the cases both rows scored, a 95 %
    percentile-bootstrap interval of that mean (cases resampled), and on how many cases the
    reference is higher. Rows without per-case scores (written before ``per_case`` existed) are
    left out.
    """
    import numpy as np

    scored = [r for r in rows if r.get("per_case") and not r.get("smoke")]
    out: list[dict[str, Any]] = []
    for ref in (r for r in scored if r.get("peer") == reference):
        for other in scored:
            same = all(other.get(k) == ref.get(k) for k in ("task", "budget_s", "cpu"))
            if other is ref or other.get("peer") == reference or not same:
                continue
            cases = sorted(set(ref["per_case"]) & set(other["per_case"]))
            if not cases:
                continue
            diff = np.array([ref["per_case"][c] - other["per_case"][c] for c in cases])
            rng = np.random.default_rng(0)
            means = diff[rng.integers(0, len(diff), (PAIRED_RESAMPLES, len(diff)))].mean(axis=1)
            low, high = np.percentile(means, [2.5, 97.5])
            out.append(
                {
                    "task": ref.get("task"),
                    "budget_s": ref.get("budget_s"),
                    "cpu": ref.get("cpu"),
                    "peer": other.get("peer"),
                    "cases": len(cases),
                    "mean_diff": float(diff.mean()),
                    "ci95": (float(low), float(high)),
                    "reference_higher": int((diff > 0).sum()),
                }
            )
    return out


def paired_table(comparisons: list[dict[str, Any]], reference: str = "medseg") -> str:
    """One line per comparison of :func:`paired`."""
    lines = [f"{reference} minus peer, per case (95 % bootstrap interval of the mean)"]
    for c in comparisons:
        low, high = c["ci95"]
        lines.append(
            f"{c['task']}  {c['budget_s'] / 60:g} min  {c['cpu'] or '-'}  vs {c['peer']}: "
            f"{c['mean_diff']:+.4f} [{low:+.4f}, {high:+.4f}], {reference} higher on "
            f"{c['reference_higher']}/{c['cases']} cases"
        )
    return "\n".join(lines)


def _over_budget(row: dict[str, Any]) -> bool:
    """Whether the budgeted wall time ran more than 5 % (and 10 s) past the budget."""
    wall, budget = row.get("wall_budgeted_s"), row.get("budget_s")
    return (
        wall is not None
        and budget is not None
        and float(wall) > max(1.05 * float(budget), float(budget) + 10)
    )


def _num(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def _secs(v: Any) -> str:
    return "-" if v is None else f"{float(v):.0f} s"


def main() -> int:
    """Run the cells (or show the table of a results file)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=peerlib.TASKS, default="hippocampus")
    p.add_argument(
        "--cells",
        nargs="+",
        metavar="PEER:SECONDS",
        help="cells to run, in this order (default: the issue's budgets, interleaved)",
    )
    p.add_argument("--peers", nargs="+", choices=PEERS, help="keep only these peers' cells")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="check every script end to end: short budgets (SMOKE_BUDGETS), 10 training / 3 test cases",
    )
    p.add_argument("--budget", type=int, help="give every cell this budget in seconds")
    p.add_argument("--train-cases", type=int, help="first N training cases only")
    p.add_argument("--test-cases", type=int, help="first N test cases only")
    p.add_argument(
        "--work",
        type=Path,
        default=Path(os.environ.get("PEER_RACE_WORK", "/tmp/peer_race")),
        help="where run folders go (default /tmp/peer_race)",
    )
    p.add_argument("--venvs", type=Path, default=Path(os.environ.get("PEER_VENVS", "/work/peer_venvs")))
    p.add_argument(
        "--results", type=Path, help=f"JSON lines file (default {RESULTS.relative_to(peerlib.ROOT)})"
    )
    p.add_argument("--max-load", type=float, default=0.5, help="warn when the load average is above this")
    p.add_argument(
        "--settle",
        type=float,
        default=SETTLE_S,
        help="seconds to wait at most before each cell for the load average to fall below --max-load",
    )
    p.add_argument("--data-root", type=Path)
    p.add_argument("--show", action="store_true", help="print the table of the results file and stop")
    p.add_argument(
        "--rescore",
        action="store_true",
        help="add per-case scores to rows scored before they were recorded (their run folders must exist)",
    )
    p.add_argument(
        "--paired",
        action="store_true",
        help="with --show: also compare medseg case by case with each peer of the same budget and CPU",
    )
    args = p.parse_args()
    if args.smoke:
        args.train_cases = args.train_cases or 10
        args.test_cases = args.test_cases or 3
    results = args.results or (args.work / "smoke.jsonl" if args.smoke else RESULTS)
    if args.show:
        if not results.is_file():
            raise SystemExit(f"race: error: {results}: no results yet (run the race first)")
        rows = read_rows(results)
        print(table(rows))
        if args.paired:
            print()
            print(paired_table(paired(rows)))
        return 0
    task = peerlib.load_task(args.task, args.data_root, args.train_cases, args.test_cases)
    if args.rescore:
        if not results.is_file():
            raise SystemExit(f"race: error: {results}: no results to rescore")
        rows = read_rows(results)
        print(f"[race] rescore: {rescore(rows, task)} row(s) given per-case scores")
        write_rows(rows, results)
        return 0
    if args.cells:
        cells = parse_cells(args.cells)
    elif args.smoke:
        cells = list(SMOKE_BUDGETS[task.name].items())
    else:
        cells = interleave(BUDGETS[task.name])
    if args.budget is not None:
        cells = [(peer, args.budget) for peer, _ in cells]
    if args.peers:
        cells = [c for c in cells if c[0] in args.peers]
    print(f"[race] {len(cells)} cells: {', '.join(f'{p}:{b}' for p, b in cells)}", flush=True)
    rows = []
    for peer, budget in cells:
        row = run_cell(peer, budget, args, task)
        rows.append(row)
        results.parent.mkdir(parents=True, exist_ok=True)
        with results.open("a", encoding="utf-8") as f:  # one line per write: a stop leaves whole lines
            f.write(json.dumps(row, default=str) + "\n")
        print(table(rows), flush=True)
    print(f"[race] results appended to {results}")
    return exit_code(rows)


def exit_code(rows: list[dict[str, Any]]) -> int:
    """0 when every cell has a score, else 1 (``run.json`` writes ``"error": null`` for a good cell)."""
    return 0 if all(not r.get("error") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
