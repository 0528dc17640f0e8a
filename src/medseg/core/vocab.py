"""The closed vocabularies of medseg: every ``Literal`` that a config key, a flag or a function shares.

Each name is defined here once; the config schema, the CLI and the implementations import it, so
a new choice (a blend mode, a schedule) is added in one place and is valid everywhere at once.
Open vocabularies (networks, losses, metrics) are registries in their own packages instead.
"""

from __future__ import annotations

from typing import Literal, get_args

DatasetFormat = Literal["auto", "msd", "nnunet", "table"]
OptimizerName = Literal["sgd", "adamw", "adam"]
ScheduleName = Literal["poly", "cosine", "constant", "onecycle"]
AmpMode = Literal["off", "fp16", "bf16"]
ScoreName = Literal["dice", "neg_loss"]
BlendMode = Literal["gaussian", "hann", "constant"]
CheckpointKind = Literal["best", "latest"]
NormalizationScheme = Literal["ct", "zscore", "zscore_nonzero", "minmax", "none"]
LabelResampling = Literal["linear_per_label", "nearest"]
Activation = Literal["softmax", "sigmoid", "none"]
DeviceName = Literal["auto", "cpu", "cuda"]
Layout = Literal["auto", "plain", "channels_last"]
#: what reading does with NaN/inf intensities: refuse the file, or replace them (medseg.io.values)
NonFinitePolicy = Literal["error", "minimum"]
FrontendName = Literal["mlflow", "tensorboard", "wandb", "notion", "local"]
RunStatus = Literal["FINISHED", "KILLED", "FAILED"]


def choices(vocabulary: object) -> tuple[str, ...]:
    """The values of a ``Literal`` vocabulary, e.g. ``choices(BlendMode)``."""
    return tuple(str(v) for v in get_args(vocabulary))
