"""Training callbacks with named hooks and their own state."""

from medseg.training.callback import Callback
from medseg.training.callbacks.cpu_threads import CpuThreads
from medseg.training.callbacks.curriculum import Curriculum
from medseg.training.callbacks.early_stopping import EarlyStopping
from medseg.training.callbacks.time_budget import TimeBudget
from medseg.training.callbacks.validation_share import ValidationShare

__all__ = ["Callback", "CpuThreads", "Curriculum", "EarlyStopping", "TimeBudget", "ValidationShare"]
