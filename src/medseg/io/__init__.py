"""Images with geometry: read/write through SimpleITK, exact geometry round trips.

Public API: :class:`Geometry`, :class:`Image`, :func:`read_image`, :func:`write_image`,
:func:`read_dicom_series`, :func:`list_dicom_series`.
"""

from medseg.io.dicom import list_dicom_series, read_dicom_series
from medseg.io.geometry import Geometry
from medseg.io.image import Image
from medseg.io.readers import read_image, write_image

__all__ = [
    "Geometry",
    "Image",
    "list_dicom_series",
    "read_dicom_series",
    "read_image",
    "write_image",
]
