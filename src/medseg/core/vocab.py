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
AmpMode = Literal["auto", "off", "fp16", "bf16"]
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


# File suffixes (lower case; ".nii.gz" before ".nii" so that a prefix match strips the longer one).
#: volumes SimpleITK reads and writes losslessly
VOLUME_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr")
#: 2D raster images (read through medseg.io.raster2d)
RASTER_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
#: 2D raster formats a label map or image is written to losslessly (JPEG and GIF are not)
RASTER_WRITE_SUFFIXES: tuple[str, ...] = (".png", ".tif", ".tiff", ".bmp")
#: every single-file image medseg reads as a case (a dataset file, a predictant, a prediction)
IMAGE_SUFFIXES: tuple[str, ...] = VOLUME_SUFFIXES + RASTER_SUFFIXES
#: what read_image accepts: images plus single DICOM slices
READ_SUFFIXES: tuple[str, ...] = (*IMAGE_SUFFIXES, ".dcm")
#: what write_image (and so ``inference.output_format``) accepts
WRITE_SUFFIXES: tuple[str, ...] = VOLUME_SUFFIXES + RASTER_WRITE_SUFFIXES


def image_suffix(name: str) -> str:
    """The lower-case image suffix of a file name (``.nii.gz`` counts as one), or ``""``."""
    lower = name.lower()
    return next((s for s in IMAGE_SUFFIXES if lower.endswith(s)), "")
