"""Atomic file writing: files appear complete under their final name or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path with ``path``'s file name; on success move it (and siblings) into place.

    The temporary file lives alone in a hidden folder beside ``path``, so writers that add companion
    files (a MetaImage ``.mhd`` header and its ``.raw`` data) name them after the *final* name. The
    companions are moved first and the requested file last, each with :func:`os.replace`; nothing is
    left behind on failure.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    try:
        target = folder / path.name
        yield target
        for companion in sorted(folder.iterdir()):
            if companion.name != path.name:
                os.replace(companion, path.parent / companion.name)
        os.replace(target, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
