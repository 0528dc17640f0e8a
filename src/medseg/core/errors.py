"""The exception types medseg raises on bad input.

Every error medseg raises for a user's files or settings is a :class:`MedsegError` whose message is
one line naming the file or key and what is wrong with it, so a command-line run can print it without
a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


class MedsegError(Exception):
    """Base class for all errors caused by user input (files, settings, arguments)."""


class ImageReadError(MedsegError, OSError):
    """An image file or folder cannot be read (missing, corrupt, unsupported, inconsistent)."""


class ImageWriteError(MedsegError, OSError):
    """An image cannot be written to the requested path."""


class DatasetError(MedsegError, ValueError):
    """A dataset description or its files are inconsistent (missing cases, shape mismatch, ...)."""


class ConfigError(MedsegError, ValueError):
    """A configuration key or value is invalid."""


def write_error(exc: BaseException, path: Path) -> Exception:
    """A safetensors write failure as an :class:`OSError` naming ``path`` (``PATH: No space left on
    device``) when it was one, else ``exc`` itself."""
    match = re.search(r"os error (\d+)", str(exc))
    if match is None:
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
    code = int(match.group(1))
    return OSError(code, os.strerror(code), str(path))
