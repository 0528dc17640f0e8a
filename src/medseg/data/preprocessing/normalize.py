"""Per-channel intensity normalisation as the Plan's :class:`NormalizationSpec` says."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medseg.config.plan import NormalizationSpec
from medseg.core.errors import ConfigError

_EPS = 1e-8


def normalize_channel(
    channel: np.ndarray, spec: NormalizationSpec, nonzero: np.ndarray | None = None
) -> np.ndarray:
    """Normalise one spatial array; returns float32.

    ``nonzero`` is the mask used by ``zscore_nonzero`` (defaults to ``channel != 0``); outside it
    the result is 0.
    """
    x = channel.astype(np.float32, copy=True)
    scheme = spec.scheme
    if scheme == "none":
        return x
    if scheme == "ct":
        assert spec.clip_low is not None and spec.clip_high is not None
        assert spec.mean is not None and spec.std is not None
        np.clip(x, spec.clip_low, spec.clip_high, out=x)
        x -= np.float32(spec.mean)
        x /= np.float32(max(spec.std, _EPS))
        return x
    if scheme == "zscore":
        mean, std = float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64))
        return ((x - mean) / max(std, _EPS)).astype(np.float32)
    if scheme == "zscore_nonzero":
        mask = channel != 0 if nonzero is None else nonzero
        if not mask.any():
            return np.zeros_like(x)
        values = x[mask].astype(np.float64)
        out = ((x - values.mean()) / max(float(values.std()), _EPS)).astype(np.float32)
        out[~mask] = 0.0
        return out
    if scheme == "minmax":
        low, high = float(x.min()), float(x.max())
        return ((x - low) / max(high - low, _EPS)).astype(np.float32)
    raise ConfigError(
        f"normalization.scheme: unknown scheme {scheme!r} (valid: ct, zscore, zscore_nonzero, minmax, none)"
    )


def normalize(
    image: np.ndarray, specs: Sequence[NormalizationSpec], nonzero: np.ndarray | None = None
) -> np.ndarray:
    """Normalise every channel of a ``(C, *spatial)`` array with its spec; returns float32.

    ``nonzero`` (spatial mask) defaults to "any channel != 0", the nnU-Net convention.
    """
    if len(specs) != image.shape[0]:
        raise ConfigError(f"normalization: {len(specs)} entries for an image with {image.shape[0]} channels")
    mask = np.any(image != 0, axis=0) if nonzero is None else nonzero
    return np.stack([normalize_channel(image[c], specs[c], mask) for c in range(image.shape[0])])
