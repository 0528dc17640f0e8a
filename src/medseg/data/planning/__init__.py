"""Planning: ``plan(fingerprint, budget) -> Plan`` (spacing, normalisation, patch, batch, network)."""

from medseg.data.planning.budget import Budget, Candidate, StepTimer
from medseg.data.planning.overrides import apply_overrides
from medseg.data.planning.planner import plan

__all__ = [
    "Budget",
    "Candidate",
    "StepTimer",
    "apply_overrides",
    "plan",
]
