"""A case: the image channels, the label and the geometry of one subject, with its id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from medseg.io import Geometry, Image

if TYPE_CHECKING:  # torch is imported where a tensor is made: the lite predictor uses Case without torch
    import torch


@dataclass
class Case:
    """One subject of a dataset.

    ``image`` is ``(C, *spatial)`` (all channels share one grid); ``label`` is ``(1, *spatial)`` of
    integers or ``None`` for unlabelled cases; ``mask`` is an optional ``(1, *spatial)`` region of
    interest (e.g. DRIVE's field of view). ``geometry`` is the image's grid.
    """

    case_id: str
    image: Image
    label: Image | None = None
    mask: Image | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def geometry(self) -> Geometry:
        """The grid of the image (labels and masks share it)."""
        return self.image.geometry

    def image_tensor(self) -> torch.Tensor:
        """The image as a float32 tensor ``(C, *spatial)``."""
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.image.array, dtype=np.float32))

    def label_tensor(self) -> torch.Tensor:
        """The label as an int64 tensor ``(1, *spatial)``; raises when the case has no label."""
        if self.label is None:
            raise ValueError(f"case {self.case_id} has no label")
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.label.array, dtype=np.int64))
