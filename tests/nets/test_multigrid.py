"""FMG-Net and W-Net schedules: the V-cycle peaks and the blocks they build."""

from __future__ import annotations

import pytest
import torch

from medseg.layers import ResidualBlock, Upsample
from medseg.nets import create_network
from medseg.nets.multigrid import cycle_peaks


def test_cycle_peaks() -> None:
    assert cycle_peaks("fmg", 4) == [1, 2, 3, 4]
    assert cycle_peaks("w", 3) == [3, 3]
    assert cycle_peaks("fmg", 0) == []
    with pytest.raises(ValueError, match="schedule: unknown 'v'; valid: fmg, w"):
        cycle_peaks("v", 2)


@pytest.mark.parametrize(("name", "blocks"), [("fmgnet", 1 + 2 + 3 + 4), ("wnet", 4 + 4)])
def test_one_down_and_up_block_per_level_of_each_cycle(name: str, blocks: int) -> None:
    net = create_network(name, 1, 2, (64, 64), features_base=4, depth=4)
    assert net.patch_size_divisor == (16, 16)
    assert sum(isinstance(m, ResidualBlock) for m in net.modules()) == blocks
    assert sum(isinstance(m, Upsample) for m in net.modules()) == blocks
    assert net(torch.randn(1, 1, 64, 64)).shape == (1, 2, 64, 64)
