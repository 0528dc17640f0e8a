"""Losses: Dice + CE, deep supervision wrapper."""

from medseg.losses.deep_supervision import DeepSupervisionWrapper, deep_supervision_weights
from medseg.losses.dice_ce import DiceCELoss

__all__ = ["DeepSupervisionWrapper", "DiceCELoss", "deep_supervision_weights"]
