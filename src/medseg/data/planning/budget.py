"""Compute budgets and network candidates: what the machine can hold and how long training may take."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from medseg.core.topology import stage_features, unet_topology

GB = 1024**3
CUDA_CONTEXT_GB = 1.0
CUDA_USABLE_FRACTION = 0.9
CPU_USABLE_FRACTION = 0.5


class Budget(BaseModel):
    """The machine a plan is for: device, cores, memory, and optionally a wall-clock training budget.

    ``gpu_memory_gb`` bounds memory on CUDA; on CPU ``cpu_memory_gb`` does (half of it is granted to
    the network, the rest to data loading). ``time_budget_s`` turns on budget-aware planning.
    """

    model_config = ConfigDict(extra="forbid")

    device: Literal["cpu", "cuda"] = "cuda"
    cpu_cores: int = Field(default=1, ge=1)
    gpu_memory_gb: float = Field(default=8.0, gt=0)
    cpu_memory_gb: float = Field(default=8.0, gt=0)
    time_budget_s: float | None = Field(default=None, gt=0)

    @property
    def memory_bytes(self) -> float:
        """Bytes the network's activations may use for one training step."""
        if self.device == "cuda":
            return max(self.gpu_memory_gb * CUDA_USABLE_FRACTION - CUDA_CONTEXT_GB, 0.25) * GB
        return self.cpu_memory_gb * CPU_USABLE_FRACTION * GB

    @property
    def bytes_per_value(self) -> int:
        """2 with mixed precision on CUDA, 4 (float32) on CPU."""
        return 2 if self.device == "cuda" else 4


class Candidate(BaseModel):
    """One network + patch + batch configuration considered by the budget-aware planner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features_base: int
    patch_size: list[int]
    batch_size: int
    conv_kernels: list[list[int]]
    pool_strides: list[list[int]]

    @classmethod
    def build(
        cls,
        features_base: int,
        patch_size: Sequence[int],
        batch_size: int,
        spacing: Sequence[float],
        max_pools: int | None,
    ) -> Candidate:
        """A candidate whose topology follows the rule of :mod:`medseg.core.topology`."""
        topology = unet_topology(patch_size, spacing, max_poolings=max_pools)
        return cls(
            features_base=features_base,
            patch_size=[int(p) for p in patch_size],
            batch_size=batch_size,
            conv_kernels=[list(k) for k in topology.conv_kernels],
            pool_strides=[list(s) for s in topology.pool_strides],
        )

    @property
    def num_stages(self) -> int:
        """Resolution stages of the U-Net."""
        return len(self.conv_kernels)

    @property
    def features(self) -> list[int]:
        """Features per stage."""
        return list(stage_features(self.num_stages, len(self.patch_size), self.features_base))

    def cost(self) -> float:
        """A FLOP proxy: batch x sum over stages of voxels x features^2 x kernel volume."""
        size = np.asarray(self.patch_size, dtype=np.float64)
        total = 0.0
        for stage, (kernel, feats) in enumerate(zip(self.conv_kernels, self.features)):
            if stage > 0:
                size = size / np.asarray(self.pool_strides[stage - 1])
            total += float(size.prod()) * feats**2 * math.prod(kernel)
        return total * self.batch_size

    def label(self) -> str:
        """A short human-readable description."""
        return (
            f"features {self.features_base}, {self.num_stages} stages, patch {self.patch_size}, "
            f"batch {self.batch_size}"
        )


StepTimer = Callable[[Candidate], float]
