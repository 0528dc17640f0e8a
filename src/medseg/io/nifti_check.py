"""What ITK's NIfTI reader hides: truncated files (zero-padded) and NaN/inf voxels (read as 0).

Truncation: the header gives the number of bytes the file must hold (``vox_offset`` + voxel data). A ``.nii``
file is checked by its size. A ``.nii.gz`` file is checked by the gzip trailer (ISIZE: the
uncompressed size modulo 2**32); only when that disagrees (a truncated file, or a rare multi-member
gzip) is the stream decompressed to count its bytes.

Non-finite voxels: ITK turns NaN and +-inf voxels of float NIfTI data into 0, so they can only be
found in the file's own bytes. :func:`nifti_nonfinite` streams the voxel data of a float32/float64
file (decompressing a ``.nii.gz`` again) and returns the flat indices of the non-finite voxels, in
the order of the array ITK returns (NIfTI stores x fastest, as a C-order ``(t, z, y, x)`` array).
"""

from __future__ import annotations

import gzip
import itertools
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_CHUNK = 1 << 20
#: compressed bytes read, and decompressed bytes produced, per step of the non-finite scan
_READ, _OUT = 1 << 22, 1 << 24
#: NIfTI datatype codes of the float types whose NaN/inf ITK hides
_FLOAT_TYPES = {16: "f4", 64: "f8"}


@dataclass(frozen=True)
class NiftiLayout:
    """Where and how the voxel data of a NIfTI file are stored."""

    byte_order: str
    datatype: int
    count: int
    offset: int


def nifti_layout(header: bytes) -> NiftiLayout | None:
    """Byte order, datatype code, voxel count and data offset of a NIfTI-1/2 header, else None."""
    for order in ("<", ">"):
        if len(header) >= 348 and struct.unpack(f"{order}i", header[:4])[0] == 348:
            datatype = struct.unpack(f"{order}h", header[70:72])[0]
            dims = struct.unpack(f"{order}8h", header[40:56])
            offset = max(int(struct.unpack(f"{order}f", header[108:112])[0]), 348)
        elif len(header) >= 540 and struct.unpack(f"{order}i", header[:4])[0] == 540:
            datatype = struct.unpack(f"{order}h", header[12:14])[0]
            dims = struct.unpack(f"{order}8q", header[16:80])
            offset = max(struct.unpack(f"{order}q", header[168:176])[0], 540)
        else:
            continue
        if not 1 <= dims[0] <= 7:
            return None
        count = 1
        for d in dims[1 : dims[0] + 1]:
            count *= max(int(d), 1)
        return NiftiLayout(order, int(datatype), count, int(offset))
    return None


def _blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes, decompressed when it is gzip (every member), in blocks of at most ``_OUT``."""
    with path.open("rb") as raw:
        if not path.name.lower().endswith(".gz"):
            while block := raw.read(_OUT):
                yield block
            return
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = b""
        while True:
            if not pending:
                pending = raw.read(_READ)
                if not pending:
                    return
            out = inflater.decompress(pending, _OUT)  # bounded: all-zero data inflate a thousandfold
            if out:
                yield out
            if inflater.eof:  # a multi-member gzip file: the next member starts here
                pending = inflater.unused_data
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                pending = inflater.unconsumed_tail


def _voxels(
    blocks: Iterator[bytes], header: bytes, layout: NiftiLayout, dtype: np.dtype
) -> Iterator[np.ndarray]:
    """The voxel values, chunk by chunk, from the stream that began with ``header``."""
    skip, left, carry = layout.offset, layout.count * dtype.itemsize, b""
    for block in itertools.chain([header], blocks):
        if skip >= len(block):
            skip -= len(block)
            continue
        data = carry + block[skip:]
        skip = 0
        data = data[:left]
        usable = len(data) - len(data) % dtype.itemsize
        carry = data[usable:]
        if usable:
            yield np.frombuffer(data[:usable], dtype=dtype)
            left -= usable
        if left <= 0:
            return


def nifti_nonfinite(path: Path) -> np.ndarray | None:
    """Flat indices (int64) of the NaN/inf voxels of a float NIfTI file; None for other datatypes.

    An unreadable or truncated file yields what could be read (the reader reports the rest).
    """
    found: list[np.ndarray] = []
    try:
        blocks = _blocks(path)
        header = b""
        for block in blocks:
            header += block
            if len(header) >= 540:
                break
        layout = nifti_layout(header)
        if layout is None or layout.datatype not in _FLOAT_TYPES:
            return None
        dtype = np.dtype(layout.byte_order + _FLOAT_TYPES[layout.datatype])
        start = 0
        for values in _voxels(blocks, header, layout, dtype):
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                found.append(bad + start)
            start += values.size
    except (OSError, EOFError, zlib.error):
        if not found:
            return None
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


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
