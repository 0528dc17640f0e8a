"""The model card of an export: a Markdown page that says what the model is and how to use it.

Sections: the data (the experiment's ``config.json``), the Plan (preprocessing, patch, network,
head), validation metrics (the best epoch of ``metrics.csv`` and the per-case table
``validation/cases.csv`` of the experiment folder), the parity check of the export, intended use
and how to predict (CLI and Python, with and without torch). A figure the folder lacks is written
as "not recorded" rather than guessed.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medseg.config.plan import Plan


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _best_epoch(rows: list[dict[str, str]]) -> dict[str, str] | None:
    scored = [r for r in rows if _number(r.get("val_score")) is not None]
    return max(scored, key=lambda r: _number(r["val_score"]) or -math.inf) if scored else None


def _validation_lines(experiment: Path) -> list[str]:
    lines: list[str] = []
    best = _best_epoch(_read_csv(experiment / "metrics.csv"))
    if best is None:
        lines.append("- metrics.csv: not recorded (no validated epoch in the experiment folder)")
    else:
        epoch = int(_number(best.get("epoch")) or 0)
        dice = {k.removeprefix("dice_"): _number(v) for k, v in best.items() if k.startswith("dice_")}
        shown = ", ".join(f"{k} {v:.4f}" for k, v in dice.items() if v is not None)
        lines.append(
            f"- best epoch {epoch} (metrics.csv): validation score {_number(best['val_score']):.4f}"
            + (f"; Dice per class: {shown}" if shown else "")
        )
    cases = _read_csv(experiment / "validation" / "cases.csv")
    if cases:
        last = max(int(_number(r.get("epoch")) or 0) for r in cases)
        rows = [r for r in cases if int(_number(r.get("epoch")) or 0) == last]
        lines.append(f"- per-case validation (validation/cases.csv, epoch {last}, {len(rows)} cases):")
        lines.append("")
        lines.append("  | metric | mean | min | max |")
        lines.append("  |---|---|---|---|")
        for key in (k for k in rows[0] if k not in ("case_id", "epoch")):
            values = [v for v in (_number(r.get(key)) for r in rows) if v is not None]
            if values:
                lines.append(
                    f"  | {key} | {sum(values) / len(values):.4f} | {min(values):.4f} | {max(values):.4f} |"
                )
    else:
        lines.append("- validation/cases.csv: not recorded")
    return lines


def _config(experiment: Path) -> dict[str, Any]:
    path = experiment / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def model_card(
    plan: Plan,
    experiment: Path,
    *,
    model_name: str,
    weights_name: str,
    checkpoint: Path,
    parity: Mapping[str, float],
    tolerance: float,
    dynamic_spatial: bool,
    parameters: int,
    backend: str,
) -> str:
    """The Markdown text of the model card (see the module docstring)."""
    info = _config(experiment).get("dataset_info", {}) or {}
    training = _config(experiment).get("training", {}) or {}
    net = plan.network
    norm = ", ".join(f"{c}: {n.scheme}" for c, n in zip(plan.channel_names, plan.normalization, strict=True))
    labels = ", ".join(f"{v} = {k}" for k, v in sorted(plan.labels.items(), key=lambda kv: kv[1]))
    regions = "; ".join(f"{r.name} = labels {r.labels} (painted {r.paint})" for r in plan.regions or [])
    worst = max(parity.values()) if parity else float("nan")
    axes = "batch and spatial axes" if dynamic_spatial else "batch axis (spatial axes fixed to the patch)"
    lines = [
        f"# Model card: {model_name}",
        "",
        f"Exported by `medseg export` from `{checkpoint}`. Files: `{model_name}` ({backend}), `{weights_name}` "
        "(the weights as a plain PyTorch `state_dict`, safetensors, the Plan in its metadata), this card.",
        "",
        "## Data",
        "",
        f"- dataset: {info.get('name', 'not recorded')} (source: {info.get('source', 'not recorded')})",
        f"- input channels, in order: {', '.join(plan.channel_names)}",
        f"- labels: {labels}" + (f"; regions: {regions}" if regions else ""),
        f"- trained: fold(s) {training.get('folds', 'not recorded')} of {training.get('n_folds', '?')}, "
        f"loss {training.get('loss', 'not recorded')}, optimiser {training.get('optimizer', 'not recorded')}",
        "",
        "## Plan (embedded in the model; the predictor reads nothing else)",
        "",
        f"- {plan.spatial_dims}D, target spacing {plan.target_spacing} (array order), orientation "
        f"{plan.orientation or 'as stored'}, crop to nonzero: {plan.crop_to_nonzero}",
        f"- normalisation: {norm}; image resampling order {plan.resampling.image_order}",
        f"- patch (sliding window) {plan.patch_size}; network `{net.name}` {net.params} "
        f"({parameters:,} parameters), deep supervision {net.deep_supervision} (exported: eval-mode output), "
        f"head {net.activation}, {plan.out_channels} output channel(s)",
        f"- graph input `image` (N, {len(plan.channel_names)}, *spatial) float32, output `logits` "
        f"(N, {plan.out_channels}, *spatial); dynamic {axes}",
        "",
        "## Validation",
        "",
        *_validation_lines(experiment),
        "",
        "## Export parity (PyTorch vs the exported graph, logits)",
        "",
        f"- max abs difference {worst:.3g} (limit {tolerance:g}) over {len(parity)} window batches:",
        *[f"  - {name}: {value:.3g}" for name, value in parity.items()],
        "",
        "## Intended use",
        "",
        "Research use: automatic segmentation of images like the training data (same modality, channels, "
        "field of view). Not a medical device and not validated for clinical decisions; check the validation "
        "figures above, which come from the training run's own validation split, before relying on it. "
        "Images of another modality, channel order or anatomy give meaningless label maps without an error.",
        "",
        "## How to predict",
        "",
        "Without torch (NumPy, SimpleITK, ONNX Runtime; `pip install 'medseg[lite]'`):"
        if backend == "ONNX"
        else "With torch and medseg (the checkpoint or experiment folder):",
        "",
        "```bash",
        f"medseg predict --backend onnxruntime -e {model_name} IMAGES/ -o PREDICTIONS/"
        if backend == "ONNX"
        else f"medseg predict -e {checkpoint} IMAGES/ -o PREDICTIONS/",
        "```",
        "",
        "Inputs: image files or folders (`CASE.nii.gz`, `CASE_0000.nii.gz ...` per channel, PNG, DICOM series); "
        "outputs are label maps in each input's own grid and file format. In Python:",
        "",
        "```python",
        *(
            [
                "from medseg.lite import LitePredictor",
                "",
                f"predictor = LitePredictor('{model_name}')",
                "for case_id, label_map in predictor.predict('IMAGES/', output_dir='PREDICTIONS/'):",
                "    print(case_id, label_map.array.shape)",
            ]
            if backend == "ONNX"
            else [
                "import torch",
                "",
                f"program = torch.export.load('{model_name}').module()",
                f"logits = program(torch.zeros(1, {len(plan.channel_names)}, {', '.join(map(str, plan.patch_size))}))",
            ]
        ),
        "```",
        "",
    ]
    return "\n".join(lines)
