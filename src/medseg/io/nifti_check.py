"""Detect truncated NIfTI files, which ITK's NIfTI reader silently pads with zeros.

The header gives the number of bytes the file must hold (``vox_offset`` + voxel data). A ``.nii``
file is checked by its size. A ``.nii.gz`` file is checked by the gzip trailer (ISIZE: the
uncompressed size modulo 2**32); only when that disagrees (a truncated file, or a rare multi-member
gzip) is the stream decompressed to count its bytes.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

_CHUNK = 1 << 20


def expected_nifti_bytes(header: bytes) -> int | None:
    """Bytes a NIfTI-1/2 file must hold after decompression, or None when the header is not NIfTI."""
    for order in ("<", ">"):
        if len(header) >= 348 and struct.unpack(f"{order}i", header[:4])[0] == 348:
            dims = struct.unpack(f"{order}8h", header[40:56])
            bitpix = struct.unpack(f"{order}h", header[72:74])[0]
            offset = int(struct.unpack(f"{order}f", header[108:112])[0])
            return _total(dims, bitpix, max(offset, 348))
        if len(header) >= 540 and struct.unpack(f"{order}i", header[:4])[0] == 540:
            bitpix = struct.unpack(f"{order}h", header[14:16])[0]
            dims = struct.unpack(f"{order}8q", header[16:80])
            offset = struct.unpack(f"{order}q", header[168:176])[0]
            return _total(dims, bitpix, max(offset, 540))
    return None


def _total(dims: tuple[int, ...], bitpix: int, offset: int) -> int | None:
    ndim = dims[0]
    if not 1 <= ndim <= 7 or bitpix <= 0:
        return None
    count = 1
    for d in dims[1 : ndim + 1]:
        count *= max(int(d), 1)
    return offset + count * bitpix // 8


def nifti_shortfall(path: Path) -> tuple[int, int] | None:
    """``(actual, expected)`` byte counts when the NIfTI file at ``path`` is truncated, else None."""
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as stream:
            try:
                header = stream.read(540)
            except (OSError, EOFError, zlib.error):
                return None  # unreadable header: the reader reports it
        expected = expected_nifti_bytes(header)
        if expected is None:
            return None
        with path.open("rb") as raw:
            raw.seek(-4, 2)
            isize = struct.unpack("<I", raw.read(4))[0]
        if isize == expected % (1 << 32):
            return None
        actual = _decompressed_size(path)
        return (actual, expected) if actual < expected else None
    with path.open("rb") as raw:
        expected = expected_nifti_bytes(raw.read(540))
    actual = path.stat().st_size
    return (actual, expected) if expected is not None and actual < expected else None


def _decompressed_size(path: Path) -> int:
    """Bytes the gzip stream at ``path`` decompresses to before it ends or breaks off."""
    total = 0
    with gzip.open(path, "rb") as stream:
        try:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
        except (OSError, EOFError, zlib.error):
            pass
    return total
