"""Worker processes that die with their parent: :func:`die_with_parent`.

A worker blocked on a queue does not notice that its parent was killed (``kill -9`` runs no clean-up,
and a forked worker holds both ends of its queue's pipe, so it never reads EOF): it stays alive for
good, holding memory and memory-mapped files. Two guards, both installed by :func:`die_with_parent`
as the first thing a worker does:

* Linux: ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: the kernel sends SIGTERM the moment the parent dies.
  The kernel means the parent *thread* that forked the worker, so this is armed only for workers
  started from the main thread (:func:`started_from_main_thread`, evaluated in the parent);
* everywhere: a daemon watchdog thread that ends the process (``os._exit``) once the parent process
  id changes (an orphan is re-parented to init or a sub-reaper), within ``WATCH_PERIOD_S``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
#: seconds between two checks of the watchdog thread
WATCH_PERIOD_S = 0.5
#: exit status of a worker ended by the watchdog (128 + SIGTERM, as if the signal had ended it)
ORPHAN_EXIT = 128 + signal.SIGTERM


def _set_parent_death_signal(sig: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, sig)`` on Linux; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    return False


def _watch(parent: int, period: float) -> None:
    while True:
        time.sleep(period)
        if os.getppid() != parent:
            os._exit(ORPHAN_EXIT)


def started_from_main_thread() -> bool:
    """Whether the calling thread is the main thread (call it in the parent, pass it to the worker)."""
    return threading.current_thread() is threading.main_thread()


def die_with_parent(
    parent: int | None = None, period: float = WATCH_PERIOD_S, *, death_signal: bool = True
) -> None:
    """Make this (worker) process end when its parent ``parent`` (default: the current one) dies.

    Call it first thing in a worker. ``death_signal``: also arm the Linux parent-death signal (only
    right when the parent forked this worker from its main thread). Returns at once.
    """
    expected = os.getppid() if parent is None else int(parent)
    with contextlib.suppress(ValueError):  # a handler inherited from the parent must not swallow SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if death_signal:
        _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != expected:  # the parent died before the signal was armed
        os._exit(ORPHAN_EXIT)
    thread = threading.Thread(
        target=_watch, args=(expected, period), name="medseg-orphan-watchdog", daemon=True
    )
    thread.start()
