"""``export_model``: a trained experiment to a deployable model, checked, with its weights and card.

One call writes three files beside each other, each atomically and only after the parity check
passed (a failed export leaves nothing behind):

- ``NAME.onnx`` (the Plan in ``metadata_props``, :mod:`medseg.lite.metadata`) or ``NAME.pt``/
  ``NAME.pt2`` (a ``torch.export`` program; the Plan is in the weights file and the card);
- ``NAME.safetensors``: the network's plain PyTorch ``state_dict`` (keys of
  ``create_network(...).state_dict()``), the Plan as JSON metadata under ``medseg.plan``;
- ``NAME.md``: the model card (:mod:`medseg.inference.export.card`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from medseg import __version__
from medseg.core.atomic import atomic_output, write_bytes_atomic, write_text_atomic
from medseg.core.errors import MedsegError
from medseg.inference.export.card import model_card
from medseg.inference.export.graph import (
    DEFAULT_OPSET,
    EvalOutput,
    ort_session,
    program_runner,
    to_onnx,
    to_program,
    with_metadata,
)
from medseg.inference.export.parity import max_abs_differences, parity_inputs, parity_limit
from medseg.lite import metadata as keys

SUFFIXES = (".onnx", ".pt", ".pt2")
DEFAULT_TOLERANCE = 1e-4


class ExportError(MedsegError):
    """An export cannot be made or does not reproduce the PyTorch network."""


@dataclass
class ExportResult:
    """What :func:`export_model` wrote and measured."""

    model: Path
    weights: Path
    card: Path
    parity: dict[str, float] = field(default_factory=dict)
    dynamic_spatial: bool = False
    seconds: float = 0.0
    limit: float = DEFAULT_TOLERANCE  # the accepted difference: the tolerance scaled by the logits

    @property
    def max_abs_difference(self) -> float:
        """The largest absolute logit difference of the parity check."""
        return max(self.parity.values()) if self.parity else float("nan")


def _need_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ExportError("ONNX export needs onnx and onnxruntime: pip install 'medseg[lite]'") from None


def _torch_runner(module: torch.nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.asarray(module(torch.from_numpy(x)).numpy())

    return run


def _write_weights(path: Path, net: torch.nn.Module, plan_json: str) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata={keys.PLAN_KEY: plan_json, keys.VERSION_KEY: __version__})


def export_model(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    checkpoint: str = "best",
    cases: Sequence[str | os.PathLike[str]] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    opset: int = DEFAULT_OPSET,
    log: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export the network of ``source`` (an experiment folder or checkpoint) to ``output``.

    ``output`` ends in ``.onnx`` (ONNX, for the lite predictor and any ONNX runtime) or ``.pt``/``.pt2``
    (``torch.export``). The export is compared with PyTorch on window batches of ``cases`` (image
    files/folders; default: the training data's preprocessed cases when found) and random patches;
    a max abs logit difference above ``tolerance`` (times the largest logit when that exceeds 1,
    :func:`~medseg.inference.export.parity.parity_limit`) raises :class:`ExportError` and writes nothing.
    """
    from medseg.inference.predictor import Predictor

    say = log or (lambda _text: None)
    start = time.perf_counter()
    target = Path(output)
    suffix = target.suffix.lower()
    if suffix not in SUFFIXES:
        raise ExportError(
            f"{target}: unknown export format '{suffix or target.name}'; valid suffixes: "
            f"{', '.join(SUFFIXES)}"
        )
    if suffix == ".onnx":
        _need_onnx()
    predictor = Predictor(source, checkpoint=checkpoint, device="cpu", channels_last=False)
    ckpt, plan = predictor.checkpoint_paths[0], predictor.plan
    experiment = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    net = predictor.networks()[0]
    module = EvalOutput(net)
    example = torch.zeros(2, len(plan.channel_names), *plan.patch_size)
    divisor = getattr(net, "patch_size_divisor", None)
    plan_json = plan.model_dump_json()
    say(f"exporting {ckpt} ({plan.network.name}, patch {plan.patch_size}) to {target}")
    inputs = parity_inputs(plan, experiment, [Path(c) for c in cases] if cases else None)
    scales: dict[str, float] = {}
    if suffix == ".onnx":
        graph, dynamic = to_onnx(
            module, example, divisor=list(divisor) if divisor else None, opset=opset, tolerance=tolerance
        )
        candidate = ort_session(graph)
        parity = max_abs_differences(
            _torch_runner(module),
            lambda x: candidate.run(None, {keys.INPUT_NAME: x})[0],
            inputs,
            scales,
        )
    else:
        graph, dynamic = to_program(module, example), False
        parity = max_abs_differences(_torch_runner(module), program_runner(graph), inputs, scales)
    for name, value in parity.items():
        say(f"  parity {name}: max abs logit difference {value:.3g} (logits up to {scales[name]:.3g})")
    worst = max(parity.values())
    limit = parity_limit(tolerance, max(scales.values()))
    if not worst <= limit:
        raise ExportError(
            f"{target}: exported model differs from PyTorch by {worst:.3g} (max abs logit, limit "
            f"{limit:.3g} = {tolerance:g} x max(1, largest logit)); nothing written"
        )
    if suffix == ".onnx":
        meta = {
            keys.PLAN_KEY: plan_json,
            keys.FORMAT_KEY: keys.FORMAT_VERSION,
            keys.VERSION_KEY: __version__,
            keys.DYNAMIC_SPATIAL_KEY: "true" if dynamic else "false",
            keys.PARITY_KEY: f"{worst:.6g}",
            keys.SOURCE_KEY: ckpt.name,
        }
        graph = with_metadata(
            graph, meta, f"medseg {plan.network.name} segmentation model; see {target.stem}.md"
        )
    weights, card = target.with_suffix(".safetensors"), target.with_suffix(".md")
    parameters = sum(p.numel() for p in net.parameters())
    text = model_card(
        plan,
        experiment,
        model_name=target.name,
        weights_name=weights.name,
        checkpoint=ckpt,
        parity=parity,
        tolerance=limit,
        dynamic_spatial=dynamic,
        parameters=parameters,
        backend="ONNX" if suffix == ".onnx" else "torch.export",
    )
    _write_weights(weights, net, plan_json)
    write_text_atomic(card, text)
    write_bytes_atomic(target, graph)
    say(
        f"wrote {target}, {weights.name}, {card.name}; max abs logit difference {worst:.3g} (limit {limit:.3g})"
    )
    return ExportResult(target, weights, card, parity, dynamic, time.perf_counter() - start, limit)
