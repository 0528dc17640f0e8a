"""The ``medseg`` command, instrumented, for tests/training/test_distributed.py (under torchrun or alone).

Usage: [python -m torch.distributed.run ...] ddp_cli_job.py RECORD_DIR MEDSEG_ARGS...
Runs ``medseg MEDSEG_ARGS`` in this process and records into RECORD_DIR, per rank R (``RANK``):
  predicted-rank{R}.txt   the case ids this rank predicted, one a line (``Predictor.predict_case``);
  recovered-rank{R}.pt    the trainer's epoch, optimizer and scheduler state right after
                          ``Trainer.recover_from`` restored a run (what ``--resume`` continues from).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch

from medseg.cli.main import main
from medseg.inference.predictor import Predictor
from medseg.training.trainer import Trainer

RECORD = Path(sys.argv[1])
RANK = os.environ.get("RANK", "0")
predict_case, recover_from = Predictor.predict_case, Trainer.recover_from


def recording_predict_case(self: Predictor, case: Any, *args: Any, **kwargs: Any) -> Any:
    with (RECORD / f"predicted-rank{RANK}.txt").open("a", encoding="utf-8") as f:
        f.write(case.case_id + "\n")
    return predict_case(self, case, *args, **kwargs)


def recording_recover_from(self: Trainer, *args: Any, **kwargs: Any) -> None:
    recover_from(self, *args, **kwargs)
    assert self.toolbox is not None
    state = {
        "epoch": self.epoch,
        "optimizer": self.toolbox.optimizer.state_dict(),
        "scheduler": self.toolbox.scheduler.state_dict(),
    }
    torch.save(state, RECORD / f"recovered-rank{RANK}.pt")


if __name__ == "__main__":
    RECORD.mkdir(parents=True, exist_ok=True)
    Predictor.predict_case = recording_predict_case  # type: ignore[method-assign]
    Trainer.recover_from = recording_recover_from  # type: ignore[method-assign]
    sys.exit(main(sys.argv[2:]))
