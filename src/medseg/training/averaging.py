"""Average the network weights of several checkpoints (e.g. the folds) into one checkpoint.

The result keeps the first checkpoint's metadata (Plan, network description), so the Predictor
uses it like any other; only the ``weights`` entry is written (no optimiser state).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from medseg.io.state import CheckpointError, load_state, save_state


def average_checkpoints(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> Path:
    """Mean of the ``weights`` tensors of ``paths`` (same Plan and network required), written to ``out``."""
    if not paths:
        raise CheckpointError("average-weights needs at least one checkpoint")
    states, metas = zip(*(load_state(p) for p in paths), strict=True)
    first_meta = metas[0]
    for path, state, meta in zip(paths, states, metas, strict=True):
        if meta.get("network") != first_meta.get("network") or meta.get("plan") != first_meta.get("plan"):
            raise CheckpointError(f"{path}: network or Plan differs from {paths[0]}; cannot average")
        if not isinstance(state, dict) or set(state.get("weights", {})) != set(states[0].get("weights", {})):
            raise CheckpointError(f"{path}: weights do not match {paths[0]}")
    averaged: dict[str, torch.Tensor] = {}
    for key, tensor in states[0]["weights"].items():
        stack = torch.stack([s["weights"][key].to(torch.float64) for s in states])
        mean = stack.mean(0)
        averaged[key] = (
            mean.round().to(tensor.dtype) if not tensor.is_floating_point() else mean.to(tensor.dtype)
        )
    meta = {**first_meta, "kind": "averaged", "averaged_from": json.dumps([str(p) for p in paths])}
    return save_state(out, {"weights": averaged}, meta)
