"""Images with geometry: read/write through SimpleITK, exact geometry round trips.

Public API: :class:`Geometry`, :class:`Image`, :func:`read_image`, :func:`write_image`,
:func:`read_dicom_series`, :func:`list_dicom_series`, :func:`resample_to`, :func:`resample_like`,
:func:`reorient`, :func:`orientation_of`, :func:`fast_save`, :func:`fast_load`, :class:`FastRecord`.
"""

from medseg.io.dicom import list_dicom_series, read_dicom_series
from medseg.io.fast import FastRecord, fast_load, fast_save
from medseg.io.geometry import Geometry
from medseg.io.image import Image
from medseg.io.orientation import orientation_of, reorient
from medseg.io.readers import read_image, write_image
from medseg.io.resample import resample_like, resample_to

__all__ = [
    "FastRecord",
    "Geometry",
    "Image",
    "fast_load",
    "fast_save",
    "list_dicom_series",
    "orientation_of",
    "read_dicom_series",
    "read_image",
    "reorient",
    "resample_like",
    "resample_to",
    "write_image",
]
