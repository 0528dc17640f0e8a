"""``amp: auto`` and ``layout: auto``: the measured-fastest settings per device, never a slow emulation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from medseg.training import device as device_module
from medseg.training.device import cpu_has_fast_bf16, resolve_amp


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: fpu sse2 {flags}\n\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flags", "fast"),
    [("avx2 avx512f amx_bf16 amx_tile", True), ("avx512f avx512_bf16", True), ("avx2 avx512f", False)],
)
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path: Path, flags: str, fast: bool) -> None:
    assert cpu_has_fast_bf16(_cpuinfo(tmp_path, flags)) is fast


def test_no_cpuinfo_means_no_fast_bf16(tmp_path: Path) -> None:
    assert cpu_has_fast_bf16(tmp_path / "missing") is False


def test_auto_amp_is_bf16_only_on_a_cpu_that_computes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: True)
    assert resolve_amp("auto", cpu) == "bf16"
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: False)
    assert resolve_amp("auto", cpu) == "off"  # emulated bf16 would be slower than fp32
    assert resolve_amp("bf16", cpu) == "bf16"  # an explicit choice is kept
    assert resolve_amp("auto", torch.device("cuda")) == "off"  # not measured on a GPU yet
    assert resolve_amp("fp16", torch.device("cuda")) == "fp16"


def test_the_trainer_steps_under_the_resolved_autocast(monkeypatch: pytest.MonkeyPatch) -> None:
    from medseg.config import Config
    from medseg.presets.segmentation import SegmentationTrainer

    seen: list[torch.dtype] = []

    class Spy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype)
            return x

    for fast, expected in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda fast=fast: fast)
        trainer = SegmentationTrainer.__new__(SegmentationTrainer)
        trainer.training = Config().training.model_copy(update={"device": "cpu"})
        trainer.device = torch.device("cpu")
        with trainer._autocast():
            Spy()(torch.zeros(1))
        with trainer._autocast(validation=True):  # CPU validation: fp32 channels-last, never bf16
            Spy()(torch.zeros(1))
        assert seen[-2:] == [expected, torch.float32]
