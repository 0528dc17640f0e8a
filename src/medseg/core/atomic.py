"""Atomic file writes shared by every package: a file appears complete under its name or not at all.

The data goes to a temporary file in the target's folder (same file system, so the final
:func:`os.replace` is atomic); on any error the temporary file is removed and the old file, if any,
is left untouched. :func:`atomic_output` covers writers that add companion files (MetaImage
``.mhd`` + ``.raw``) or that insist on choosing the file name themselves. An :class:`OSError` (a full
disk, a read-only folder) names the file asked for, not the temporary one, so the command line can
print it as ``PATH: No space left on device``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from medseg.core.faults import kill_point

#: prefix of every temporary name written here; :func:`remove_stale_temporaries` removes leftovers
TEMP_PREFIX = ".tmp-"


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: the process's umask when medseg was imported: files written here get ``0o666 & ~umask`` (``mkstemp``
#: alone would leave them readable by their owner only)
UMASK = _read_umask()


def make_readable(path: str | os.PathLike[str]) -> None:
    """Give a file made by ``mkstemp`` (mode 0600) the mode an ordinary ``open`` would have given it."""
    os.chmod(path, 0o666 & ~UMASK)


def naming(exc: OSError, target: str | os.PathLike[str]) -> OSError:
    """``exc`` as an error about ``target`` when it names no file or a temporary one (same type, errno)."""
    name = "" if exc.filename is None else str(exc.filename)
    if name and TEMP_PREFIX not in name:
        return exc
    if exc.errno is None or type(exc).__module__ != "builtins":
        return exc
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(target))


def os_error_line(exc: OSError) -> str:
    """One line for an OSError: ``PATH: reason`` (the reason alone when it names no file)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


@contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing (``mode`` "w" or "wb"); it replaces ``path`` on a clean exit.

    Text mode defaults to UTF-8. Parent folders are created.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise naming(exc, target) from None
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
        make_readable(tmp)
        kill_point("atomic_write")
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise naming(exc, target) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path with ``path``'s file name; on success move it (and siblings) into place.

    The temporary file lives alone in a hidden folder beside ``path``, so writers that add companion
    files (a MetaImage ``.mhd`` header and its ``.raw`` data) name them after the *final* name. The
    companions are moved first and the requested file last, each with :func:`os.replace`; nothing is
    left behind on failure.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=final.parent))
    except OSError as exc:
        raise naming(exc, final) from None
    try:
        target = folder / final.name
        yield target
        for companion in sorted(folder.iterdir()):
            if companion.name != final.name:
                os.replace(companion, final.parent / companion.name)
        kill_point("atomic_write")
        os.replace(target, final)
    except OSError as exc:
        raise naming(exc, final) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files/folders a killed writer left in ``folder`` (names starting ``.tmp-``)."""
    removed: list[Path] = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    for entry in base.iterdir():
        if entry.name.startswith(TEMP_PREFIX):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
