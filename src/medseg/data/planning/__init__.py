"""Planning: ``plan(fingerprint, budget) -> Plan`` (spacing, normalisation, patch, batch, network)."""

from medseg.data.planning.budget import Budget, Candidate, StepTimer
from medseg.data.planning.overrides import apply_overrides
from medseg.data.planning.planner import plan
from medseg.data.planning.topology import Topology, make_divisible, pooling_divisors, unet_topology

__all__ = [
    "Budget",
    "Candidate",
    "StepTimer",
    "Topology",
    "apply_overrides",
    "make_divisible",
    "plan",
    "pooling_divisors",
    "unet_topology",
]
