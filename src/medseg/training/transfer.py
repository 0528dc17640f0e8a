"""Transfer learning: start a network from another run's weights, layer by layer, with a report.

The source is a medseg checkpoint (its ``weights``) or a plain PyTorch ``state_dict`` (a safetensors
file, or a ``.pt``/``.pth`` file read with ``weights_only=True``: tensors only, never arbitrary
pickled objects). Every parameter of the target network is matched by name:

* same name, same shape: **loaded**;
* same name, the input layer with another number of input channels: **reshaped** by the channel
  strategy (``average``: every target channel gets the mean of the source channels, scaled by
  ``source channels / target channels`` so that a constant image gives the same response;
  ``repeat``: the source channels tiled in order, scaled the same way (the response is kept exactly
  when the target count is a multiple of the source's); ``first``: the first source channel into
  every target channel, unscaled);
* anything else (the output head of another number of classes, a missing name, another shape):
  **skipped**, keeping the target's fresh initialisation.

The encoder (names with ``encoder``, ``enc``, ``down``, ``stem``, ``bottleneck`` or ``vit`` in them;
every network of the registry names its encoder so) can be frozen for the first epochs of the new run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from medseg.core.errors import ConfigError
from medseg.io.state import CheckpointError

ChannelStrategy = Literal["average", "first", "repeat"]
ENCODER = re.compile(
    r"(^|[._])(encoder|enc|enc_stages|down|down_blocks|stem|bottleneck|swinvit|vit)[._\d]", re.I
)


@dataclass
class TransferReport:
    """What happened to every parameter of the target network."""

    loaded: list[str] = field(default_factory=list)
    reshaped: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: counts of loaded, reshaped and skipped tensors."""
        return (
            f"pretrained weights: {len(self.loaded)} tensors loaded, {len(self.reshaped)} reshaped "
            f"(input channels), {len(self.skipped)} skipped"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (written to the experiment folder as transfer.json)."""
        return {"loaded": self.loaded, "reshaped": self.reshaped, "skipped": self.skipped}


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a medseg checkpoint or a plain state_dict file (one-line error otherwise)."""
    source = Path(path)
    if source.is_dir():
        from medseg.inference.predictor import find_checkpoint

        source = find_checkpoint(source, "best")
    if not source.is_file():
        raise CheckpointError(f"{source}: pretrained weights file does not exist")
    if source.suffix in (".pt", ".pth"):
        try:
            state = torch.load(source, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for bad files
            raise CheckpointError(
                f"{source}: not a readable PyTorch state_dict ({type(exc).__name__})"
            ) from None
    else:
        from safetensors.torch import load_file

        from medseg.io.state import load_state, read_metadata

        if "medseg_state" in read_metadata(source):
            state = load_state(source)[0]
            state = state.get("weights", state)
        else:
            state = load_file(str(source))
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    tensors = (
        {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
        if isinstance(state, dict)
        else {}
    )
    if not tensors:
        raise CheckpointError(f"{source}: holds no tensors to initialise a network from")
    return {k.removeprefix("module."): v for k, v in tensors.items()}


def _reshape_input(source: torch.Tensor, target: torch.Tensor, strategy: ChannelStrategy) -> torch.Tensor:
    c_in, c_out = source.shape[1], target.shape[1]
    if strategy == "first":
        return source[:, :1].expand(-1, c_out, *source.shape[2:]).clone()
    if strategy == "average":
        out = source.mean(1, keepdim=True).expand(-1, c_out, *source.shape[2:]).clone()
    else:
        out = source[:, [i % c_in for i in range(c_out)]].clone()
    return out * (c_in / c_out)


def load_pretrained(
    network: nn.Module, weights: dict[str, torch.Tensor], channels: ChannelStrategy = "average"
) -> TransferReport:
    """Initialise ``network`` from ``weights`` (see the module docstring); returns the report."""
    if channels not in ("average", "first", "repeat"):
        raise ConfigError(
            f"training.pretrained_channels = {channels!r} is invalid; valid choices: average, first, repeat"
        )
    report = TransferReport()
    state = network.state_dict()
    new: dict[str, torch.Tensor] = {}
    for name, target in state.items():
        source = weights.get(name)
        if source is None:
            report.skipped[name] = "not in the pretrained weights"
        elif source.shape == target.shape:
            new[name] = source.to(target.dtype)
            report.loaded.append(name)
        elif (
            source.ndim == target.ndim
            and source.ndim >= 3
            and source.shape[0] == target.shape[0]
            and source.shape[2:] == target.shape[2:]
            and source.shape[1] != target.shape[1]
        ):
            new[name] = _reshape_input(source.float(), target.float(), channels).to(target.dtype)
            report.reshaped.append(name)
        else:
            report.skipped[name] = f"shape {list(source.shape)} != {list(target.shape)}"
    if not report.loaded and not report.reshaped:
        raise CheckpointError(
            "pretrained weights match no layer of this network (different architecture?); "
            f"first names: {sorted(weights)[:3]} vs {sorted(state)[:3]}"
        )
    network.load_state_dict({**state, **new})
    return report


def encoder_parameters(network: nn.Module) -> list[nn.Parameter]:
    """The parameters of the network's encoder (by the naming rule of the module docstring)."""
    return [p for name, p in network.named_parameters() if ENCODER.search(f".{name}")]
