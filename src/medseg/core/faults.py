"""Test-only fault injection: ``kill_point(name)`` SIGKILLs this process at a chosen point.

The reliability suite kills real ``medseg`` commands at exact places (inside a checkpoint write,
between two checkpoints, after a training step, ...) to prove that resuming works and that nothing
half-written is ever picked up. A point fires when the environment variable ``MEDSEG_KILL_AT``
names it: ``NAME`` (its first pass) or ``NAME@N`` (its N-th pass in this process, counting from 1).
Unset (always, outside tests) a kill point costs one dictionary look-up.

Kill points in medseg: ``train_step`` (after an optimiser step), ``validation`` (before validating),
``epoch_end`` (after an epoch, before its checkpoints), ``between_checkpoints`` (after ``best``,
before ``latest``), ``state_write`` (a checkpoint's temporary file written, not yet renamed),
``state_begin`` (a checkpoint's temporary file created, empty), ``atomic_write`` (any other atomic
file written, not yet renamed).
"""

from __future__ import annotations

import os
import signal

ENV = "MEDSEG_KILL_AT"
_passes: dict[str, int] = {}


def kill_point(name: str) -> None:
    """SIGKILL this process when ``MEDSEG_KILL_AT`` selects this pass of point ``name``."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, count = wanted.partition("@")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == (int(count) if count else 1):
        os.kill(os.getpid(), signal.SIGKILL)
