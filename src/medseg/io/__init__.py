"""Images with geometry: read/write through SimpleITK, exact geometry round trips.

Public API: :class:`Geometry`, :class:`Image`, :func:`read_image`, :func:`write_image`.
"""

from medseg.io.geometry import Geometry
from medseg.io.image import Image
from medseg.io.readers import read_image, write_image

__all__ = ["Geometry", "Image", "read_image", "write_image"]
