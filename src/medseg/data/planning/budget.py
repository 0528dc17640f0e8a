"""Compute budgets and network candidates: what the machine can hold and how long training may take."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
