"""Transfer learning: layer-by-layer loading with a report, input-channel strategies, encoder freezing,
and through the CLI (exact resume from a pretrained start)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from medseg.cli.main import main
from medseg.data.sample import copy_sample
from medseg.io.state import load_state
from medseg.nets import create_network
from medseg.training.transfer import encoder_parameters, load_pretrained, read_weights


def _unet(in_channels: int = 1, classes: int = 3, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_network("unet", in_channels, classes, [16, 16, 16], features_base=4, deep_supervision=True)


def test_same_architecture_loads_every_tensor_and_gives_the_same_outputs(tmp_path: Path) -> None:
    source, target = _unet(seed=1), _unet(seed=2)
    save_file(source.state_dict(), str(tmp_path / "plain.safetensors"))
    report = load_pretrained(target, read_weights(tmp_path / "plain.safetensors"))
    assert len(report.loaded) == len(source.state_dict()) and not report.reshaped and not report.skipped
    x = torch.randn(1, 1, 16, 16, 16)
    source.eval(), target.eval()
    torch.testing.assert_close(target(x), source(x))


def test_another_number_of_classes_skips_only_the_heads(tmp_path: Path) -> None:
    source, target = _unet(classes=3, seed=1), _unet(classes=5, seed=2)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    report = load_pretrained(target, read_weights(tmp_path / "w.pt"))
    assert report.skipped and all(name.startswith("heads.") for name in report.skipped)
    assert all("shape" in why for why in report.skipped.values())
    for name in report.loaded:
        assert torch.equal(target.state_dict()[name], source.state_dict()[name])


@pytest.mark.parametrize("strategy", ["average", "first", "repeat"])
def test_input_channel_strategies(strategy: str, tmp_path: Path) -> None:
    source, target = _unet(in_channels=2, seed=1), _unet(in_channels=3, seed=2)
    report = load_pretrained(target, dict(source.state_dict()), strategy)  # type: ignore[arg-type]
    (name,) = report.reshaped
    w, new = source.state_dict()[name], target.state_dict()[name]
    assert new.shape[1] == 3
    if strategy == "average":
        expected = w.mean(1, keepdim=True).expand(-1, 3, -1, -1, -1) * (2 / 3)
    elif strategy == "first":
        expected = w[:, :1].expand(-1, 3, -1, -1, -1)
    else:
        expected = w[:, [0, 1, 0]] * (2 / 3)
    torch.testing.assert_close(new, expected)
    if strategy == "average":  # a constant image gives the response it gave before
        torch.testing.assert_close(new.sum(1), w.sum(1))


def test_no_matching_layer_is_a_clear_error() -> None:
    from medseg.io.state import CheckpointError

    with pytest.raises(CheckpointError, match="match no layer of this network"):
        load_pretrained(_unet(), {"conv.weight": torch.zeros(3)})


def test_encoder_parameters_are_the_encoder() -> None:
    net = _unet()
    names = {n for n, p in net.named_parameters() if any(p is q for q in encoder_parameters(net))}
    assert names and all(n.startswith("encoder.") for n in names)
    assert not any(n.startswith(("decoder.", "heads.")) for n in names)


def test_fine_tuning_from_a_run_through_the_cli_freezes_then_trains_the_encoder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = copy_sample(tmp_path / "data", 6)
    tiny = [
        "--n-folds",
        "3",
        "--steps-per-epoch",
        "2",
        "--features-base",
        "4",
        "--patch-size",
        "16",
        "16",
        "16",
        "--batch-size",
        "2",
        "--set",
        "training.workers=0",
        "--workers",
        "0",
        "--deterministic",
    ]
    assert (
        main(
            [
                "run-all",
                str(data),
                "-o",
                str(tmp_path / "src"),
                "--folds",
                "0",
                "--epochs",
                "2",
                "--no-tta",
                *tiny,
            ]
        )
        == 0
    )
    (source_run,) = sorted((tmp_path / "src" / "experiments" / "SegmentationTrainer_fold0").iterdir())
    source, _ = load_state(source_run / "checkpoints" / "best.safetensors")  # what a run folder gives
    args = [
        "train",
        "-o",
        str(tmp_path / "ft"),
        "--data",
        str(data),
        "--fold",
        "0",
        *tiny,
        "--pretrained-weights",
        str(source_run),
        "--freeze-encoder-epochs",
        "1",
    ]
    assert main([*args, "--epochs", "1"]) == 0
    (run,) = sorted((tmp_path / "ft" / "experiments" / "SegmentationTrainer_fold0").iterdir())
    report = json.loads((run / "transfer.json").read_text(encoding="utf-8"))
    assert report["loaded"] and not report["skipped"]
    after_one, _ = load_state(run / "checkpoints" / "latest.safetensors")
    encoder = [k for k in source["weights"] if k.startswith("encoder.") and k.endswith("weight")]
    decoder = [k for k in source["weights"] if k.startswith("decoder.") and k.endswith("weight")]
    assert all(
        torch.equal(after_one["toolbox"]["network"][k], source["weights"][k]) for k in encoder
    )  # frozen
    assert any(not torch.equal(after_one["toolbox"]["network"][k], source["weights"][k]) for k in decoder)
    # killed in epoch 3 of a 3-epoch fine-tuning run and resumed: bit-identical to the straight run
    from medseg.presets import pipeline
    from medseg.training.callback import Callback

    class Stop(Callback):  # interrupts epoch 3 before its checkpoint, as a kill would
        def on_epoch_end(self, trainer: object, metrics: object) -> None:
            if getattr(trainer, "epoch", 0) == 2:
                raise KeyboardInterrupt

    original = pipeline._callbacks
    killed = [
        "train",
        "-o",
        str(tmp_path / "ft3"),
        "--data",
        str(data),
        "--fold",
        "0",
        *tiny,
        "--pretrained-weights",
        str(source_run),
        "--freeze-encoder-epochs",
        "1",
        "--epochs",
        "3",
    ]
    monkeypatch.setattr(pipeline, "_callbacks", lambda cfg, r, w: [*original(cfg, r, w), Stop()])
    assert main(killed) == 130  # interrupted (the CLI reports it and exits 130)
    monkeypatch.setattr(pipeline, "_callbacks", original)
    assert main([*killed, "--resume"]) == 0
    assert (
        main(
            [
                "train",
                "-o",
                str(tmp_path / "ft2"),
                "--data",
                str(data),
                "--fold",
                "0",
                *tiny,
                "--pretrained-weights",
                str(source_run),
                "--freeze-encoder-epochs",
                "1",
                "--epochs",
                "3",
            ]
        )
        == 0
    )
    (resumed,) = sorted((tmp_path / "ft3" / "experiments" / "SegmentationTrainer_fold0").iterdir())
    (straight,) = sorted((tmp_path / "ft2" / "experiments" / "SegmentationTrainer_fold0").iterdir())
    a, _ = load_state(resumed / "checkpoints" / "latest.safetensors")
    b, _ = load_state(straight / "checkpoints" / "latest.safetensors")
    assert a["trainer"]["epoch"] == b["trainer"]["epoch"] == 3
    assert any(
        not torch.equal(a["weights"][k], source["weights"][k]) for k in encoder
    )  # unfrozen after epoch 1
    for key, value in b["weights"].items():
        assert torch.equal(a["weights"][key], value), key
