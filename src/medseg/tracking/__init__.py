"""Experiment tracking: the Frontend protocol; local, MLflow, W&B, Notion, TensorBoard; hybrid.

Service clients are imported when their frontend is constructed, so ``import medseg.tracking`` is cheap.
``build_frontends(config.tracking, work_dir)`` builds what a config names (docs/tracking.md).
"""

from medseg.tracking.base import BaseFrontend, Frontend, flat_params, redact
from medseg.tracking.factory import build_frontend, build_frontends
from medseg.tracking.guard import GuardedFrontend
from medseg.tracking.hybrid import HybridFrontend, create_hybrid_frontend
from medseg.tracking.local import JsonLinesFrontend

__all__ = [
    "BaseFrontend",
    "Frontend",
    "GuardedFrontend",
    "HybridFrontend",
    "JsonLinesFrontend",
    "build_frontend",
    "build_frontends",
    "create_hybrid_frontend",
    "flat_params",
    "redact",
]
