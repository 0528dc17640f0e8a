"""Every registered loss, 2D and 3D, softmax and sigmoid, alone and under deep supervision, on real masks:
finite values rebuilt exactly from ``last_components``, finite non-zero gradients, low precision inputs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from medseg.losses import DeepSupervisionWrapper, available_losses, build_loss, loss_entry

CASES = ["3d-softmax", "3d-sigmoid", "2d-softmax", "2d-sigmoid"]


@pytest.fixture
def case(
    request: pytest.FixtureRequest,
    hippo_labels: torch.Tensor,
    hippo_regions: torch.Tensor,
    drive_masks: torch.Tensor,
) -> tuple[str, int, torch.Tensor, tuple[float, ...]]:
    """(activation, channels, target, spacing) for one of ``CASES``."""
    return {
        "3d-softmax": ("softmax", 3, hippo_labels, (2.0, 1.0, 1.0)),
        "3d-sigmoid": ("sigmoid", 2, hippo_regions, (1.0, 1.0, 1.0)),
        "2d-softmax": ("softmax", 2, drive_masks, (1.0, 1.0)),
        "2d-sigmoid": ("sigmoid", 1, drive_masks.float(), (0.5, 1.0)),
    }[request.param]


def _frequencies(activation: str, channels: int, target: torch.Tensor) -> list[float]:
    if activation == "softmax":
        return [float((target == c).float().mean()) for c in range(channels)]
    return [float(target[:, c].mean()) for c in range(channels)]


def _expected(name: str, c: dict[str, float]) -> float:
    """The loss rebuilt from its components."""
    if loss_entry(name).composite:
        region = c["dice_loss"] + c.get("ce", 0.0)
        term = next(v for k, v in c.items() if k not in ("dice_loss", "ce", "alpha"))
        return c["alpha"] * region + (1 - c["alpha"]) * term
    return sum(c.values())


@pytest.mark.parametrize("case", CASES, indirect=True)
@pytest.mark.parametrize("name", available_losses())
def test_loss_value_components_and_gradients(
    name: str,
    case: tuple[str, int, torch.Tensor, tuple[float, ...]],
    make_logits: Callable[..., torch.Tensor],
) -> None:
    activation, channels, target, spacing = case
    loss = build_loss(
        name,
        out_channels=channels,
        activation=activation,
        spacing=spacing,
        class_frequencies=_frequencies(activation, channels, target),
    )
    logits = make_logits(target, channels, activation).requires_grad_(True)
    value = loss(logits, target)
    assert value.ndim == 0 and torch.isfinite(value)
    assert value.item() == pytest.approx(_expected(name, loss.last_components), abs=1e-5)
    value.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert float(logits.grad.abs().sum()) > 0
    low = loss(logits.detach().bfloat16(), target)  # mixed precision: computed in float32 anyway
    assert low.dtype == torch.float32 and abs(low.item() - value.item()) <= 0.05 * max(1.0, abs(value.item()))


@pytest.mark.parametrize("case", CASES, indirect=True)
@pytest.mark.parametrize("name", available_losses())
def test_loss_under_deep_supervision(
    name: str,
    case: tuple[str, int, torch.Tensor, tuple[float, ...]],
    make_logits: Callable[..., torch.Tensor],
) -> None:
    activation, channels, target, spacing = case
    loss = build_loss(
        name,
        out_channels=channels,
        activation=activation,
        spacing=spacing,
        class_frequencies=_frequencies(activation, channels, target),
    )
    full = make_logits(target, channels, activation).requires_grad_(True)
    pool = torch.nn.functional.avg_pool3d if full.ndim == 5 else torch.nn.functional.avg_pool2d
    half = pool(full.detach(), 2).requires_grad_(True)
    wrapped = DeepSupervisionWrapper(loss, weights=[0.6, 0.4])
    value = wrapped([full, half], target)
    small = torch.nn.functional.interpolate(target.float(), size=half.shape[2:], mode="nearest-exact").to(
        target.dtype
    )
    kwargs = {"spacing": tuple(2 * s for s in spacing)} if loss_entry(name).needs_dtm else {}
    expected = 0.6 * loss(full, target).item() + 0.4 * loss(half, small, **kwargs).item()
    assert value.item() == pytest.approx(expected, abs=1e-5)
    value.backward()
    for output in (full, half):
        assert (
            output.grad is not None
            and torch.isfinite(output.grad).all()
            and float(output.grad.abs().sum()) > 0
        )
