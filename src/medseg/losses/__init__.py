"""Losses: a registry of names (region, class-weighted, distance-map and topology losses), composite
alpha schedules, and the deep-supervision wrapper. Importing this package registers every loss.

Build one by name with :func:`build_loss`; see ``docs/losses.md`` for each loss and its parameters.
"""

from medseg.losses.base import ACTIVATIONS, Activation, SegmentationLoss
from medseg.losses.composite import CompositeLoss, ProgressAware, set_loss_progress
from medseg.losses.deep_supervision import DeepSupervisionWrapper, deep_supervision_weights
from medseg.losses.dice_ce import DiceCELoss
from medseg.losses.distance import BoundaryLoss, GeneralizedSurfaceLoss, HausdorffDTLoss
from medseg.losses.dtm import SpacingAware, signed_distance_map
from medseg.losses.region import DiceFocalLoss, DiceLoss, TverskyLoss
from medseg.losses.registry import (
    LossEntry,
    available_losses,
    build_loss,
    check_loss,
    composite_losses,
    loss_entry,
    register_loss,
)
from medseg.losses.schedules import (
    AlphaSchedule,
    ConstantSchedule,
    CosineSchedule,
    LinearSchedule,
    StepSchedule,
    build_schedule,
    check_composite_weighting,
)
from medseg.losses.topology import ClDiceLoss, soft_skeleton
from medseg.losses.weighted import GeneralizedDiceLoss, WeightedCELoss
from medseg.losses.weights import inverse_frequency_weights

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "AlphaSchedule",
    "BoundaryLoss",
    "ClDiceLoss",
    "CompositeLoss",
    "ConstantSchedule",
    "CosineSchedule",
    "DeepSupervisionWrapper",
    "DiceCELoss",
    "DiceFocalLoss",
    "DiceLoss",
    "GeneralizedDiceLoss",
    "GeneralizedSurfaceLoss",
    "HausdorffDTLoss",
    "LinearSchedule",
    "LossEntry",
    "ProgressAware",
    "SegmentationLoss",
    "SpacingAware",
    "StepSchedule",
    "TverskyLoss",
    "WeightedCELoss",
    "available_losses",
    "build_loss",
    "build_schedule",
    "check_composite_weighting",
    "check_loss",
    "composite_losses",
    "deep_supervision_weights",
    "inverse_frequency_weights",
    "loss_entry",
    "register_loss",
    "set_loss_progress",
    "signed_distance_map",
    "soft_skeleton",
]
