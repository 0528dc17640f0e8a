"""Experiment tracking: the Frontend protocol; local, MLflow, W&B, Notion, TensorBoard; hybrid.

Service clients are imported when their frontend is constructed, so ``import medseg.tracking`` is cheap.
"""

from medseg.tracking.base import Frontend, flat_params, redact
from medseg.tracking.hybrid import HybridFrontend, create_hybrid_frontend
from medseg.tracking.local import JsonLinesFrontend

__all__ = ["Frontend", "HybridFrontend", "JsonLinesFrontend", "create_hybrid_frontend", "flat_params", "redact"]
