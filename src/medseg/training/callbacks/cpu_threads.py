"""Choose the training process's CPU thread count from the loop's own pace: every core, or one.

On a quiet 2-core CPU two torch threads train the demo's U-Net faster than one; beside other busy
work the order flips: each parallel region waits for its slowest thread, and a thread that shares its
core with another process (a busy job, the loader's own workers) is often descheduled. A bare step
timed beside the load does not show it; only the real loop, with its loader processes running, does
(``bench/training/bench_load_loop.py``; numbers in docs/benchmarks.md "Robustness"). So the choice is
measured on the run's own first steps:

after ``SKIP`` steps of start-up, the next ``2 * PAIRS`` steps alternate between every core and one
thread (the wall time from one step's end to the next's, data waiting included), and the setting
with the smaller median pace is kept for the rest of the run. The ``cpu_threads`` column of
metrics.csv and the console shows the setting; the epoch that decided also gets both medians
(``cpu_step_s_<n>t``). These are real training steps, so measuring costs only the difference between
the two paces for ``PAIRS`` steps. ``threads`` given as a number sets that many threads instead. Not
measured: on an accelerator, with one core, or under DDP (each rank's pace includes waiting for the
others). The process's own thread count is restored when training ends.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

import torch
from typing_extensions import override

from medseg.training import distributed
from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer

SKIP = 3
PAIRS = 6


class CpuThreads(Callback):
    """Keep the faster of every core and one thread for training on the CPU (module docstring)."""

    def __init__(self, threads: int | None = None, skip: int = SKIP, pairs: int = PAIRS) -> None:
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = threads
        self.skip, self.pairs = skip, pairs
        self.original = torch.get_num_threads()
        self.candidates: tuple[int, ...] = ()
        self.paces: dict[int, list[float]] = {}
        self.chosen: int | None = None
        self._seen = 0
        self._last: float | None = None
        self._current = self.original
        self._track = False

    @override
    def on_train_start(self, trainer: Trainer) -> None:
        self.original = torch.get_num_threads()
        self._track = trainer.device.type == "cpu"
        if self.threads is not None:
            self.chosen = self.threads
        elif trainer.device.type != "cpu" or self.original <= 1 or distributed.is_distributed():
            # under DDP the ranks wait for each other every step: one rank's pace is not its own
            self.chosen = self.original
        else:
            self.candidates = (self.original, 1)
            self.paces = {n: [] for n in self.candidates}
        self._apply(self.chosen if self.chosen is not None else self.original)

    @override
    def on_epoch_start(self, trainer: Trainer) -> None:
        self._last = None  # the wait across validation and the epoch's end is not a step's pace

    @override
    def on_train_batch_end(self, trainer: Trainer, loss: float) -> None:
        if self._track:  # the threads of this epoch's last step: a column of metrics.csv and the console
            trainer.epoch_info["cpu_threads"] = float(self._current)
        if self.chosen is not None:
            return
        now = trainer.clock()
        if self._last is not None:
            self._seen += 1
            if self._seen > self.skip:
                self.paces[self._current].append(now - self._last)
        if all(len(p) >= self.pairs for p in self.paces.values()):
            self._decide(trainer)
        elif self._seen >= self.skip:
            index = (self._seen - self.skip) % len(self.candidates)
            self._apply(self.candidates[index])
        self._last = trainer.clock()

    def _decide(self, trainer: Trainer) -> None:
        medians = {n: statistics.median(p) for n, p in self.paces.items()}
        self.chosen = min(self.candidates, key=lambda n: (medians[n], -n))
        self._apply(self.chosen)
        trainer.epoch_info.update({f"cpu_step_s_{n}t": medians[n] for n in self.candidates})
        trainer.logger.info(
            "cpu threads: %s -> %d",
            ", ".join(f"{n} thread(s) {medians[n]:.3f} s/step" for n in self.candidates),
            self.chosen,
        )

    def _apply(self, threads: int) -> None:
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        self._current = threads

    @override
    def on_train_end(self, trainer: Trainer) -> None:
        self._apply(self.original)

    @override
    def on_exception(self, trainer: Trainer, exception: BaseException) -> None:
        self._apply(self.original)
