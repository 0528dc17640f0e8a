"""Planning: ``plan(fingerprint, budget) -> Plan`` (spacing, normalisation, labels, network, patch, batch)."""

from medseg.data.planning.budget import Budget
from medseg.data.planning.candidates import Candidate
from medseg.data.planning.overrides import apply_overrides
from medseg.data.planning.planner import plan
from medseg.data.planning.timing import StepTimer

__all__ = ["Budget", "Candidate", "StepTimer", "apply_overrides", "plan"]
