"""SIGTERM as an interruption that cannot be lost.

The CLI turns SIGTERM into ``KeyboardInterrupt`` so a stopped run is closed as interrupted (tracking
``KILLED``, console "interrupted in epoch N"). Raising from a signal handler is not enough on its
own: Python runs the handler wherever the main thread happens to be, and when that is inside a
finaliser or a weakref callback the exception is printed as "Exception ignored" and dropped; the
run then trains on to its last epoch and exits 0 (seen in CI: a SIGTERM during training ended in
"finished"). So the handler also records the request here, and long loops call :func:`check` at
their safe points (after each optimiser step, between validation cases), which raises again if the
first raise was swallowed.
"""

from __future__ import annotations

from types import FrameType

_requested: list[int] = []


def request(signum: int, frame: FrameType | None = None) -> None:
    """Signal handler: remember the request, then interrupt whatever runs now."""
    _requested.append(signum)
    raise KeyboardInterrupt(f"signal {signum}")


def requested() -> bool:
    """Whether a termination was requested in this process (and not yet cleared)."""
    return bool(_requested)


def check() -> None:
    """Raise ``KeyboardInterrupt`` when a termination was requested; a no-op otherwise."""
    if _requested:
        raise KeyboardInterrupt(f"signal {_requested[0]}")


def clear() -> None:
    """Forget a request (the CLI does, once it has reported the interruption)."""
    _requested.clear()
