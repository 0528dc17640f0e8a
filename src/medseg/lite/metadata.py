"""What an exported ONNX model carries besides its graph: the keys of its ``metadata_props``.

Written by :mod:`medseg.inference.export` and read by the lite predictor. ``medseg.plan`` is the
Plan as JSON, the one model description (preprocessing, patch, labels, regions, head), exactly as in
a checkpoint; the other keys describe the file itself. The graph has one input ``image``
``(N, C, *spatial)`` float32 and one output ``logits`` ``(N, K, *spatial)`` (eval-mode output: the
full-resolution head of a deep-supervision net).
"""

from __future__ import annotations

import json
from typing import Any

from medseg.config.plan import Plan
from medseg.core.errors import MedsegError

PLAN_KEY = "medseg.plan"
FORMAT_KEY = "medseg.format"
VERSION_KEY = "medseg.version"
DYNAMIC_SPATIAL_KEY = "medseg.dynamic_spatial"
PARITY_KEY = "medseg.parity_max_abs_logit_diff"
SOURCE_KEY = "medseg.source_checkpoint"
#: bumped when the meaning of the graph's input/output or of these keys changes
FORMAT_VERSION = "1"
INPUT_NAME = "image"
OUTPUT_NAME = "logits"


class ModelFileError(MedsegError, OSError):
    """An exported model file is missing, unreadable or was not written by ``medseg export``."""


def plan_from_metadata(metadata: dict[str, str], source: Any) -> Plan:
    """The Plan embedded in a model's metadata (one line naming ``source`` when it has none or a bad one)."""
    if PLAN_KEY not in metadata:
        raise ModelFileError(f"{source}: model has no '{PLAN_KEY}' metadata (not written by `medseg export`)")
    fmt = metadata.get(FORMAT_KEY, FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        raise ModelFileError(
            f"{source}: export format {fmt}, this medseg reads format {FORMAT_VERSION}; "
            "re-export the model with this medseg"
        )
    try:
        return Plan.model_validate(json.loads(metadata[PLAN_KEY]))
    except ValueError as exc:
        lines = str(exc).splitlines()
        detail = lines[-1].strip() if lines else str(exc)
        raise ModelFileError(f"{source}: embedded Plan is invalid ({detail})") from None
