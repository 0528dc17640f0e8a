"""Sliding-window inference: predict a whole image with a network trained on patches.

Windows of ``patch_size`` are placed on the grid of :mod:`medseg.inference.windows` (the same
positions as MONAI's ``sliding_window_inference``), run through the predictor a few at a time,
weighted with a blending map (:mod:`medseg.inference.importance`) and added into one preallocated
buffer; the buffer is divided once by the total weight per voxel at the end. The total weight is
computed axis by axis from the window grid rather than window by window, and only after the last
window, so it is never held together with the network's activations.

The network runs on ``compute_device`` and the sum lives on ``accumulate_device`` (e.g. a GPU
network with the whole-volume sum on the CPU). On CUDA the sum is kept in float16 by default,
which halves the memory of the largest tensor of the pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medseg.inference.fast_layout import channels_last_copy
from medseg.inference.importance import importance_map
from medseg.inference.windows import window_grid

Predictor = Callable[[torch.Tensor], Any]
PADDING_MODES: tuple[str, ...] = ("constant", "reflect", "replicate", "circular")


def _as_sizes(value: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    """An int or a per-axis sequence as a tuple of ``ndim`` ints."""
    sizes = (int(value),) * ndim if isinstance(value, int) else tuple(int(v) for v in value)
    if len(sizes) != ndim:
        raise ValueError(f"{name} {sizes} needs one value per spatial axis ({ndim})")
    return sizes


def first_output(output: Any) -> torch.Tensor:
    """The prediction tensor of a network output; the first (finest) of a deep-supervision list."""
    if isinstance(output, list | tuple):
        if not output:
            raise ValueError("predictor returned an empty list of outputs")
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"predictor must return a tensor or a list of tensors, got {type(output).__name__}")
    return output


def _default_compute_device(predictor: Predictor, inputs: torch.Tensor) -> torch.device:
    """The device of the predictor's parameters, else the input's device."""
    if isinstance(predictor, nn.Module):
        for parameter in predictor.parameters():
            return parameter.device
    return inputs.device


def _pad_to_patch(
    inputs: torch.Tensor, patch: tuple[int, ...], mode: str, value: float
) -> tuple[torch.Tensor, list[slice]]:
    """Pad spatial axes smaller than the patch (centred, like MONAI); slices that undo the pad."""
    spatial = inputs.shape[2:]
    pad: list[int] = []
    crop: list[slice] = []
    for size, p in zip(spatial, patch, strict=True):
        missing = max(p - size, 0)
        crop.append(slice(missing // 2, missing // 2 + size))
    for size, p in zip(reversed(spatial), reversed(patch), strict=True):
        missing = max(p - size, 0)
        pad.extend([missing // 2, missing - missing // 2])
    if not any(pad):
        return inputs, crop
    if mode == "constant":
        return F.pad(inputs, pad, mode="constant", value=value), crop
    return F.pad(inputs, pad, mode=mode), crop


def _channels_last(predictor: Predictor, ndim: int) -> Predictor:
    """A channels-last copy of a module predictor (see :mod:`medseg.inference.fast_layout`)."""
    if not isinstance(predictor, nn.Module) or ndim not in (2, 3):
        return predictor
    return channels_last_copy(predictor, ndim)


def _progress_bar(enabled: bool, total: int) -> Any:
    """A transient rich progress bar, or None."""
    if not enabled:
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    bar.start()
    bar.add_task("sliding window", total=total)
    return bar


def sliding_window_inference(
    inputs: torch.Tensor,
    predictor: Predictor,
    patch_size: int | Sequence[int],
    *,
    overlap: float | Sequence[float] = 0.5,
    blend: str = "gaussian",
    sigma_scale: float | Sequence[float] = 0.125,
    window_batch_size: int = 4,
    padding_mode: str = "constant",
    pad_value: float = 0.0,
    compute_device: torch.device | str | None = None,
    accumulate_device: torch.device | str | None = None,
    half_precision_accumulation: bool | None = None,
    channels_last: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """Predict ``inputs`` ``(B, C, *spatial)`` window by window; returns ``(B, K, *spatial)``.

    A ``patch_size`` with one axis fewer than the inputs (a 2D network on 3D data) runs every slice
    along the first spatial axis as its own 2D image.

    ``predictor`` maps ``(n, C, *patch_size)`` to ``(n, K, *patch_size)`` (or a deep-supervision
    list whose first entry is that). Images smaller than the patch are padded (``padding_mode``,
    ``pad_value``) and the result cropped back. ``overlap`` is a fraction in [0, 1), one value or
    one per axis. ``blend`` is ``"gaussian"`` (sigma = ``sigma_scale`` * patch), ``"hann"`` or
    ``"constant"``. ``compute_device`` defaults to the predictor's parameters' device (else the
    input's), ``accumulate_device`` to the input's device. ``half_precision_accumulation`` (default:
    on when accumulating on CUDA) keeps the sum, and the returned tensor, in float16.
    ``channels_last`` runs a channels-last copy of an ``nn.Module`` predictor, instance norms swapped
    for equivalent group norms (much faster 3-D convolutions on the CPU; the same weights and
    mathematics, values within ~1e-4: :mod:`medseg.inference.fast_layout`).
    """
    if inputs.ndim < 3:
        raise ValueError(f"inputs must be (B, C, *spatial), got shape {tuple(inputs.shape)}")
    if not isinstance(patch_size, int) and len(patch_size) == inputs.ndim - 3:
        # a 2D network on 3D data: every slice along the first spatial axis is one image
        b, c, depth = inputs.shape[:3]
        flat = inputs.movedim(2, 1).reshape(b * depth, c, *inputs.shape[3:])
        out = sliding_window_inference(
            flat,
            predictor,
            patch_size,
            overlap=overlap,
            blend=blend,
            sigma_scale=sigma_scale,
            window_batch_size=window_batch_size,
            padding_mode=padding_mode,
            pad_value=pad_value,
            compute_device=compute_device,
            accumulate_device=accumulate_device,
            half_precision_accumulation=half_precision_accumulation,
            channels_last=channels_last,
            progress=progress,
        )
        return out.reshape(b, depth, out.shape[1], *out.shape[2:]).movedim(1, 2)
    if window_batch_size < 1:
        raise ValueError(f"window_batch_size must be >= 1, got {window_batch_size}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode {padding_mode!r} is not one of {', '.join(PADDING_MODES)}")
    ndim = inputs.ndim - 2
    patch = _as_sizes(patch_size, ndim, "patch_size")
    compute = (
        torch.device(compute_device)
        if compute_device is not None
        else _default_compute_device(predictor, inputs)
    )
    accumulate = torch.device(accumulate_device) if accumulate_device is not None else inputs.device
    if half_precision_accumulation is None:
        half_precision_accumulation = accumulate.type == "cuda"
    if half_precision_accumulation:
        dtype = torch.float16
    else:
        dtype = inputs.dtype if inputs.dtype in (torch.float32, torch.float64) else torch.float32

    run = _channels_last(predictor, ndim) if channels_last else predictor
    with torch.no_grad():
        padded, crop = _pad_to_patch(inputs, patch, padding_mode, pad_value)
        grid = window_grid(padded.shape[2:], patch, overlap)
        weights32 = importance_map(patch, blend, sigma_scale, device=accumulate)
        weights_acc = weights32.to(dtype)
        weights_compute = weights32.to(compute)
        slices = grid.slices()
        # Index of every (image, window) pair into (B, C, *spatial) tensors, image-major.
        windows: list[tuple[int | slice, ...]] = [
            (b, slice(None), *window) for b in range(padded.shape[0]) for window in slices
        ]
        batch = torch.empty(
            (min(window_batch_size, len(windows)), padded.shape[1], *patch),
            dtype=padded.dtype,
            device=padded.device,
        )
        output: torch.Tensor | None = None
        bar = _progress_bar(progress, len(windows))
        try:
            for first in range(0, len(windows), window_batch_size):
                chunk = windows[first : first + window_batch_size]
                for i, index in enumerate(chunk):
                    batch[i].copy_(padded[index])
                prediction = first_output(run(batch[: len(chunk)].to(compute)))
                if prediction.shape[0] != len(chunk) or tuple(prediction.shape[2:]) != patch:
                    raise ValueError(
                        f"predictor output {tuple(prediction.shape)} does not match the window batch "
                        f"({len(chunk)}, *, {', '.join(map(str, patch))})"
                    )
                if output is None:
                    output = torch.zeros(
                        (padded.shape[0], prediction.shape[1], *padded.shape[2:]),
                        dtype=dtype,
                        device=accumulate,
                    )
                if prediction.device != accumulate:
                    prediction = (prediction * weights_compute).to(accumulate)
                    for i, index in enumerate(chunk):
                        output[index] += prediction[i]
                else:
                    for i, index in enumerate(chunk):
                        output[index].addcmul_(prediction[i], weights_acc)
                if bar is not None:
                    bar.advance(bar.task_ids[0], len(chunk))
        finally:
            if bar is not None:
                bar.stop()
        assert output is not None  # at least one window always exists
        # The total weight is built only now, so it never sits beside the network's activations.
        output.div_(grid.weight_sum(weights32).to(dtype))
        return output[(slice(None), slice(None), *crop)]
