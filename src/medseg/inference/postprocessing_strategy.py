"""A postprocessing strategy: an ordered list of steps, saved to and loaded from JSON.

Each step is a small pydantic model with a ``kind`` tag (``keep_largest``, ``remove_small``,
``fill_holes``); the strategy applies them in order to a label map. The JSON file is what
:func:`medseg.inference.postprocessing_selection.select_postprocessing` writes after validation
and what prediction reads back, so the same steps run on new cases.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medseg.core.atomic import write_text_atomic
from medseg.core.errors import ConfigError
from medseg.inference.postprocessing import fill_holes, keep_largest_component, remove_small_objects


class KeepLargestStep(BaseModel):
    """Keep the largest connected component per class (or of ``classes`` together)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["keep_largest"] = "keep_largest"
    classes: list[int] | None = None
    per_class: bool = True

    def apply(
        self, labels: np.ndarray, spacing: Sequence[float] | None, connectivity: int | None
    ) -> np.ndarray:
        """The label map after this step."""
        return keep_largest_component(
            labels, self.classes, per_class=self.per_class, connectivity=connectivity
        )


class RemoveSmallStep(BaseModel):
    """Remove connected components smaller than ``min_size_mm3``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["remove_small"] = "remove_small"
    min_size_mm3: float = Field(gt=0)
    classes: list[int] | None = None
    per_class: bool = True

    def apply(
        self, labels: np.ndarray, spacing: Sequence[float] | None, connectivity: int | None
    ) -> np.ndarray:
        """The label map after this step."""
        return remove_small_objects(
            labels,
            self.min_size_mm3,
            spacing,
            self.classes,
            per_class=self.per_class,
            connectivity=connectivity,
        )


class FillHolesStep(BaseModel):
    """Fill background holes inside each class."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["fill_holes"] = "fill_holes"
    classes: list[int] | None = None

    def apply(
        self, labels: np.ndarray, spacing: Sequence[float] | None, connectivity: int | None
    ) -> np.ndarray:
        """The label map after this step."""
        return fill_holes(labels, self.classes)


PostprocessingStep = Annotated[KeepLargestStep | RemoveSmallStep | FillHolesStep, Field(discriminator="kind")]


class PostprocessingStrategy(BaseModel):
    """Steps applied in order to a predicted label map; ``connectivity`` None means full."""

    model_config = ConfigDict(extra="forbid")
    steps: list[PostprocessingStep] = Field(default_factory=list)
    connectivity: Literal[4, 6, 8, 18, 26] | None = None

    def apply(self, labels: np.ndarray, spacing: Sequence[float] | None = None) -> np.ndarray:
        """Run every step on ``labels`` (spacing per array axis, needed by ``remove_small``)."""
        result = labels
        for step in self.steps:
            result = step.apply(result, spacing, self.connectivity)
        return result if self.steps else labels.copy()

    def save(self, path: str | Path) -> None:
        """Write the strategy as JSON, atomically (temporary file + rename)."""
        target = Path(path)
        write_text_atomic(target, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: str | Path) -> PostprocessingStrategy:
        """Read a strategy written by :meth:`save`; a ConfigError names the file and the problem."""
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{source}: cannot read postprocessing strategy ({error.strerror})") from error
        except UnicodeDecodeError:
            raise ConfigError(f"{source}: not a UTF-8 text file (a strategy is JSON)") from None
        try:
            return cls.model_validate(json.loads(text))
        except json.JSONDecodeError as error:
            raise ConfigError(f"{source}: not valid JSON ({error.msg} at line {error.lineno})") from error
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(root)"
            raise ConfigError(f"{source}: key {where}: {first['msg']}") from error
