"""An exported model loaded into ONNX Runtime: its Plan and a function from windows to logits.

The Plan comes from the model's own metadata (:mod:`medseg.lite.metadata`), read through ONNX
Runtime alone (no ``onnx`` package, no torch). Models exported with a dynamic batch axis take a
whole window batch per call; a model with a fixed batch of 1 is run window by window.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medseg.config.plan import Plan
from medseg.lite.metadata import DYNAMIC_SPATIAL_KEY, ModelFileError, plan_from_metadata

INSTALL_HINT = "install the lite extra: pip install 'medseg[lite]'"


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ModelFileError(f"the onnxruntime backend needs ONNX Runtime; {INSTALL_HINT}") from None
    return onnxruntime


class OnnxModel:
    """One ``.onnx`` file written by ``medseg export``.

    Args:
        path: the model file.
        threads: intra-op threads of ONNX Runtime (``None``: its default, every core).
        providers: ONNX Runtime execution providers (default: the CPU).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
    ) -> None:
        ort = _onnxruntime()
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"{self.path}: model file does not exist")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(
                str(self.path), sess_options=options, providers=list(providers or ["CPUExecutionProvider"])
            )
        except Exception as exc:
            first = str(exc).strip().splitlines()
            raise ModelFileError(
                f"{self.path}: not a readable ONNX model ({first[0] if first else exc})"
            ) from None
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.plan: Plan = plan_from_metadata(self.metadata, self.path)
        graph_input = self.session.get_inputs()[0]
        self.input_name: str = graph_input.name
        self.batched = not isinstance(graph_input.shape[0], int) or graph_input.shape[0] != 1
        self.dynamic_spatial = self.metadata.get(DYNAMIC_SPATIAL_KEY) == "true"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Logits ``(n, K, *patch)`` of a float32 window batch ``(n, C, *patch)``."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        if self.batched or x.shape[0] == 1:
            return np.asarray(self.session.run(None, {self.input_name: x})[0])
        return np.concatenate(
            [self.session.run(None, {self.input_name: x[i : i + 1]})[0] for i in range(len(x))]
        )
