"""Mirroring against torch.flip, per sample and consistently for image and label."""

from __future__ import annotations

import itertools

import torch

from medseg.data.augmentation import Mirror, RandomMirror


def test_mirror_equals_torch_flip_on_image_and_label() -> None:
    image = torch.randn(2, 2, 3, 4, 5)
    label = torch.randint(0, 3, (2, 1, 3, 4, 5))
    for axes in [(0,), (1,), (2,), (0, 2), (0, 1, 2)]:
        out = Mirror(axes).apply({"image": image, "label": label})
        dims = [a + 2 for a in axes]
        assert torch.equal(out["image"], torch.flip(image, dims))
        assert torch.equal(out["label"], torch.flip(label, dims))


def test_random_mirror_flips_each_sample_image_and_label_together() -> None:
    image = torch.randn(32, 1, 4, 5)
    label = (image > 0).long()
    out = RandomMirror(p_per_axis=0.5).apply(
        {"image": image, "label": label}, torch.Generator().manual_seed(5)
    )
    seen = set()
    for i in range(32):
        matches = [
            combo
            for n in range(3)
            for combo in itertools.combinations((0, 1), n)
            if torch.equal(out["image"][i], torch.flip(image[i], [a + 1 for a in combo]))
        ]
        assert len(matches) == 1
        assert torch.equal(out["label"][i], torch.flip(label[i], [a + 1 for a in matches[0]]))
        seen.add(matches[0])
    assert len(seen) == 4  # 32 samples draw all four combinations (probability of missing one < 1e-3)


def test_random_mirror_respects_allowed_axes() -> None:
    image = torch.randn(16, 1, 3, 4, 5)
    out = RandomMirror(axes=(2,), p_per_axis=1.0).apply({"image": image})
    assert torch.equal(out["image"], torch.flip(image, [4]))
