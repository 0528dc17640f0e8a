"""The network of a checkpoint as a deployable graph: an ONNX model or a ``torch.export`` program.

ONNX: torch's TorchScript-based exporter (``dynamo=False``). It exports every registered network,
MONAI-based ones included, without ``onnxscript``; measured on all 19 networks in 2D and 3D with a
dynamic batch axis, ONNX Runtime matched PyTorch to < 1e-5
(bench/inference/check_export_all.py; docs/deploy.md). Spatial axes are made dynamic too when
the network allows it: the exported graph is run at a second window size and compared with PyTorch;
transformers with fixed position embeddings or window partitions (UNETR, SwinUNETR, TransUNet) fail
that check and keep a fixed patch size (sliding windows use the patch anyway) and a dynamic batch.

``.pt``/``.pt2``: ``torch.export`` (an ``ExportedProgram``, loaded with ``torch.export.load``, no
medseg needed), not TorchScript: ``torch.jit.trace``/``script`` are deprecated in the torch this
project pins, and ``trace`` records the shapes and branches of its one example without telling;
``torch.export`` captured all 19 networks in 2D and 3D with a dynamic batch axis, equal to the eager
network (``check_export_all.py --format pt2``).

Deep-supervision networks export their eval-mode output, one tensor (the full-resolution head).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from typing_extensions import override

from medseg.inference.sliding_window import first_output
from medseg.lite.metadata import INPUT_NAME, OUTPUT_NAME

DEFAULT_OPSET = 17


class EvalOutput(nn.Module):
    """``net`` in eval mode returning one tensor: the first (finest) output of a deep-supervision list.

    The wrapper itself is put in eval mode too: ``torch.onnx.export`` restores the wrapper's mode
    recursively afterwards, so a wrapper left in training mode would switch batch norms and dropout of
    ``net`` to training behaviour for every later PyTorch call (the parity reference among them).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.eval()

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return first_output(self.net(x))


def _onnx_bytes(module: nn.Module, example: torch.Tensor, dynamic_spatial: bool, opset: int) -> bytes:
    dims = example.ndim - 2
    axes: dict[int, str] = {0: "batch"}
    if dynamic_spatial:
        axes.update({2 + i: f"spatial_{i}" for i in range(dims)})
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and train-mode norm notices
        # the legacy exporter writes to any file-like object; torch's annotation names paths only
        torch.onnx.export(
            module,
            (example,),
            buffer,  # type: ignore[arg-type]
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
            opset_version=opset,
            do_constant_folding=True,
        )
    module.eval()  # whatever mode the exporter restored, PyTorch references run in eval mode
    return buffer.getvalue()


def other_window(patch: Sequence[int], divisor: Sequence[int] | None) -> list[int]:
    """A second valid window size to test dynamic spatial axes: one divisor smaller per axis where
    that stays positive, else one larger (smaller is cheaper on large 3-D patches)."""
    steps = list(divisor) if divisor is not None else [8] * len(patch)
    return [p - d if p - d >= d else p + d for p, d in zip(patch, steps, strict=True)]


def ort_session(model: bytes, quiet: bool = False) -> Any:
    """An ONNX Runtime CPU session of serialised ``model`` (errors logged unless ``quiet``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4 if quiet else 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def _spatial_ok(module: nn.Module, model: bytes, shape: Sequence[int], tolerance: float) -> bool:
    """Whether the ONNX graph matches PyTorch at a window of ``shape`` (False when either fails)."""
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(1))
    try:
        with torch.no_grad():
            reference = module(x).numpy()
        got = ort_session(model, quiet=True).run(None, {INPUT_NAME: x.numpy()})[0]  # failing is an answer
    except Exception:
        return False
    return got.shape == reference.shape and float(np.abs(got - reference).max()) <= tolerance


def to_onnx(
    module: nn.Module,
    example: torch.Tensor,
    *,
    divisor: Sequence[int] | None = None,
    opset: int = DEFAULT_OPSET,
    tolerance: float = 1e-4,
) -> tuple[bytes, bool]:
    """The ONNX model of ``module`` (no metadata yet) and whether its spatial axes are dynamic."""
    model = _onnx_bytes(module, example, dynamic_spatial=True, opset=opset)
    second = other_window(list(example.shape[2:]), divisor)
    if _spatial_ok(module, model, [example.shape[1], *second], tolerance):
        return model, True
    return _onnx_bytes(module, example, dynamic_spatial=False, opset=opset), False


def with_metadata(model: bytes, metadata: dict[str, str], doc: str) -> bytes:
    """``model`` with ``metadata`` set as its ``metadata_props`` (checked with ``onnx.checker``)."""
    import onnx

    proto = onnx.load_from_string(model)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = doc
    proto.producer_name = "medseg"
    onnx.checker.check_model(proto)
    return bytes(proto.SerializeToString())


def to_program(module: nn.Module, example: torch.Tensor) -> bytes:
    """A ``torch.export`` program of ``module`` with a dynamic batch axis, serialised (``torch.export.save``)."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def program_runner(data: bytes) -> Any:
    """A callable ``(n, C, *patch)`` numpy -> logits numpy of a serialised ``torch.export`` program."""
    program = torch.export.load(io.BytesIO(data)).module()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.asarray(program(torch.from_numpy(x)).numpy())

    return run
