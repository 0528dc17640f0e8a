"""Predictor: a checkpoint (or several) in, predictions in the source image space out.

A checkpoint alone is enough: the Plan, the one description of the model, travels inside it, and
the Predictor reads nothing else (network, parameters, deep supervision, output head, labels,
regions, patch, preprocessing). Each case goes through exactly the training preprocessing (``medseg.data.preprocessing.preprocess_case`` with the
embedded Plan), a Gaussian sliding window with optional mirror TTA, averaging over all loaded
checkpoints (folds / EMA weights), and every step is inverted (resample back, un-crop, re-orient), so
the written label carries the source geometry exactly. Cases are streamed one by one (constant
memory). Label maps are written with the data's own label values (``plan.labels``); region plans
paint their regions in order. A custom network predicts when it is registered under the Plan's
network name (:func:`medseg.nets.register_network`); overriding :meth:`Predictor.build_network`
(MIP Candy's pattern) works too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from medseg.config.labels import decode_labels, paint_regions
from medseg.config.plan import Plan
from medseg.core.errors import MedsegError
from medseg.core.vocab import NonFinitePolicy
from medseg.data.case import Case
from medseg.inference.fast_layout import channels_last_copy
from medseg.io import Image, write_image
from medseg.io.state import CheckpointError, load_state, read_metadata


def read_plan(path: Path) -> Plan:
    """The Plan embedded in a checkpoint (one line naming the file when it has none or a bad one)."""
    meta = read_metadata(path)
    if "plan" not in meta:
        raise CheckpointError(f"{path}: checkpoint has no embedded Plan (not written by a medseg trainer)")
    try:
        return Plan.model_validate(json.loads(meta["plan"]))
    except ValueError as exc:
        first = str(exc).splitlines()
        detail = first[-1].strip() if first else str(exc)
        raise CheckpointError(f"{path}: embedded Plan is invalid ({detail})") from None


def check_same_plan(first: Path, plan: Plan, other: Path, other_plan: Plan) -> None:
    """An ensemble needs one Plan: raise one line naming the first field where two checkpoints differ."""
    ours, theirs = (
        plan.model_dump(exclude={"reasons", "training"}),
        other_plan.model_dump(exclude={"reasons", "training"}),
    )
    for key in ours:
        if ours[key] != theirs[key]:
            raise CheckpointError(
                f"{other}: its Plan differs from {first}'s in '{key}' ({_short(theirs[key])} vs "
                f"{_short(ours[key])}); they must share one Plan (an ensemble, a resumed run)"
            )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class CheckpointChoice:
    """Which checkpoint file a source (experiment folder or file) resolved to, and why.

    ``fallback`` is None when the file asked for was used, else the reason another one was.
    """

    source: Path
    path: Path
    kind: str
    fallback: str | None = None

    def describe(self) -> str:
        """One line for the console: the source, the file used and any fallback."""
        if self.path == self.source:
            return f"checkpoint {self.path}"
        line = f"experiment {self.source}: checkpoint {self.path.name}"
        return line if self.fallback is None else f"{line} ({self.fallback})"


def resolve_checkpoint(source: str | os.PathLike[str], kind: str = "best") -> CheckpointChoice:
    """A checkpoint file, or ``checkpoints/<kind>.safetensors`` of a folder; ``best`` falls back to
    ``latest`` when the run has none (it has not validated yet), and the choice says so."""
    p = Path(source)
    if p.is_file():
        return CheckpointChoice(p, p, "file")
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file or experiment folder")
    wanted = p / "checkpoints" / f"{kind}.safetensors"
    if wanted.is_file():
        return CheckpointChoice(p, wanted, kind)
    latest = p / "checkpoints" / "latest.safetensors"
    if kind == "best" and latest.is_file():
        return CheckpointChoice(
            p,
            latest,
            "latest",
            "no checkpoints/best.safetensors: the run has no validated score yet; using latest instead",
        )
    raise CheckpointError(f"{p}: no checkpoint file and no checkpoints/{kind}.safetensors inside")


def find_checkpoint(source: str | os.PathLike[str], kind: str = "best") -> Path:
    """A checkpoint file, or ``checkpoints/<kind>.safetensors`` (``best`` falling back to ``latest``)."""
    return resolve_checkpoint(source, kind).path


class Predictor:
    """Predict label maps with one or more checkpoints of the same Plan.

    Args:
        sources: experiment folders or checkpoint files (several = an ensemble, e.g. the folds).
        checkpoint: which checkpoint of a folder ("best", "latest", "epoch-0010").
        device: where the network runs; ``accumulate_device`` keeps the blended output elsewhere.
        mirror_axes: spatial axes for mirror TTA (``None`` = all, ``()`` = no TTA).
        overlap, window_batch_size, blend: sliding-window settings.
        channels_last: run channels-last copies of the networks (instance norms as group norms,
            :mod:`medseg.inference.fast_layout`): ~1.5x faster 3-D U-Nets on the CPU, probabilities
            within ~1e-4 of the plain layout. ``None`` (default) = on for the CPU, off elsewhere.
        nonfinite: what reading image files does with NaN/inf voxels ("error" or "minimum",
            :func:`medseg.io.read_image`).

    ``checkpoint_choices`` records, per source, the file used and why (``best`` falls back to
    ``latest`` when a run has not validated yet).
    """

    def __init__(
        self,
        sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        checkpoint: str = "best",
        device: str | torch.device = "cpu",
        mirror_axes: Sequence[int] | None = None,
        overlap: float = 0.5,
        window_batch_size: int = 4,
        blend: str = "gaussian",
        channels_last: bool | None = None,
        nonfinite: NonFinitePolicy = "error",
    ) -> None:
        paths = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
        if not paths:
            raise MedsegError("Predictor needs at least one checkpoint or experiment folder")
        self.checkpoint_choices = [resolve_checkpoint(p, checkpoint) for p in paths]
        self.checkpoint_paths = [choice.path for choice in self.checkpoint_choices]
        self.nonfinite: NonFinitePolicy = nonfinite
        self.plan = read_plan(self.checkpoint_paths[0])
        for other in self.checkpoint_paths[1:]:
            check_same_plan(self.checkpoint_paths[0], self.plan, other, read_plan(other))
        self.device = torch.device(device)
        self.mirror_axes = mirror_axes
        self.overlap = overlap
        self.window_batch_size = window_batch_size
        self.blend = blend
        self.channels_last = self.device.type == "cpu" if channels_last is None else bool(channels_last)
        self._networks: list[nn.Module] | None = None

    @property
    def patch_size(self) -> list[int]:
        """The sliding-window size (the training patch)."""
        return list(self.plan.patch_size)

    def build_network(self, example_shape: tuple[int, ...]) -> nn.Module:
        """The network for inputs of ``example_shape`` = (C, *patch): the Plan's, from the registry.

        Built as trained (deep-supervision heads included, so the weights load); in eval mode the
        network returns plain logits.
        """
        from medseg.nets import create_network

        net = self.plan.network
        return create_network(
            net.name,
            example_shape[0],
            self.plan.out_channels,
            list(example_shape[1:]),
            spacing=self.plan.target_spacing,
            deep_supervision=net.deep_supervision,
            **net.params,
        )

    def networks(self) -> list[nn.Module]:
        """The loaded networks (built lazily on first use), one per checkpoint, in eval mode."""
        if self._networks is None:
            shape = (len(self.plan.channel_names), *self.patch_size)
            nets = []
            for path in self.checkpoint_paths:
                state, _ = load_state(path)
                net = self.build_network(shape)
                net.load_state_dict(state["weights"])
                if self.channels_last and len(self.patch_size) in (2, 3):
                    net = channels_last_copy(net, len(self.patch_size))
                nets.append(net.to(self.device).eval())
            self._networks = nets
        return self._networks

    @torch.no_grad()
    def predict_probabilities(self, image: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(K, *spatial)`` of a preprocessed ``(C, *spatial)`` image."""
        from medseg.core.mirror import mirror_axes_for
        from medseg.inference.sliding_window import sliding_window_inference
        from medseg.inference.tta import mirror_tta

        x = image[None].to(self.device, torch.float32)
        dims = x.ndim - 2
        axes = mirror_axes_for(self.mirror_axes, dims)
        total: torch.Tensor | None = None
        for net in self.networks():

            def probs_fn(t: torch.Tensor, net: nn.Module = net) -> torch.Tensor:
                return self._activate(
                    sliding_window_inference(
                        t,
                        net,
                        self.patch_size,
                        overlap=self.overlap,
                        window_batch_size=self.window_batch_size,
                        blend=self.blend,
                    )
                )

            probs = mirror_tta(probs_fn, x, axes=axes, activation="none") if axes else probs_fn(x)
            total = probs if total is None else total + probs
        assert total is not None
        return (total / len(self.networks()))[0].cpu()

    def _activate(self, logits: torch.Tensor) -> torch.Tensor:
        if self.plan.regions is not None:
            return torch.sigmoid(logits.float())
        if self.plan.network.activation == "sigmoid":
            p = torch.sigmoid(logits.float())
            return torch.cat([1 - p, p], 1)
        return torch.softmax(logits.float(), 1)

    def predict_case(self, case: Case, return_probabilities: bool = False) -> Image:
        """The label map (or probabilities) of one case on its original grid, with its geometry."""
        from medseg.data.preprocessing.steps import invert_preprocessing, preprocess_case

        pre = preprocess_case(Case(case.case_id, case.image), self.plan)
        probs = self.predict_probabilities(torch.from_numpy(pre.image)).numpy().astype(np.float32)
        regions = self.plan.regions is not None
        original = invert_preprocessing(probs, pre.properties, order=1, probabilities=not regions)
        meta = {"case_id": case.case_id, **{k: v for k, v in case.image.meta.items() if k == "source"}}
        if return_probabilities:
            return Image(original, case.image.geometry, meta)
        labels = (
            paint_regions(original, self.plan) if regions else decode_labels(original.argmax(0), self.plan)
        )
        return Image(labels[None], case.image.geometry, meta)

    def predict(
        self,
        predictant: Any,
        output_dir: str | os.PathLike[str] | None = None,
        suffix: str | None = None,
        shard: tuple[int, int] = (0, 1),
    ) -> Iterator[tuple[str, Image]]:
        """Predict every case of ``predictant`` (see :func:`parse_predictant`), writing when asked.

        Written files take the input's format (``suffix`` None: PNG for 2D rasters, the input's own
        extension for volumes; :mod:`medseg.io.naming`), named by case id (ids that would leave
        ``output_dir`` are refused). ``shard = (k, n)`` predicts only every n-th case from the k-th
        (ranks of ``torchrun ... -m medseg predict`` split the cases this way).
        """
        from medseg.inference.predictant import parse_predictant
        from medseg.io.naming import output_path

        index, count = shard
        cases = parse_predictant(predictant, spacing=self.plan.target_spacing, nonfinite=self.nonfinite)
        for i, case in enumerate(cases):
            if i % count != index:
                continue
            result = self.predict_case(case)
            if output_dir is not None:
                write_image(result, output_path(output_dir, case.case_id, result.meta.get("source"), suffix))
            yield case.case_id, result
