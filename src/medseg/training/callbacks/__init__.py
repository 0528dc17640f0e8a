"""Training callbacks with named hooks and their own state."""

from medseg.training.callbacks.base import Callback
from medseg.training.callbacks.early_stopping import EarlyStopping

__all__ = ["Callback", "EarlyStopping"]
