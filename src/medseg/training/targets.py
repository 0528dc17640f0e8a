"""What the network's output is compared with, from the Plan's head: loss targets and class masks.

* softmax: the target is the index map ``(B, 1, *spatial)``; class ``c``'s mask is ``argmax == c``;
* sigmoid, binary task: the target is ``label > 0`` as one float channel; the mask is ``logit > 0``;
* sigmoid, regions: one float channel per region, ``label in region``; each mask is ``logit_r > 0``.
"""

from __future__ import annotations

import torch

from medseg.config.plan import Plan


def loss_target(label: torch.Tensor, plan: Plan) -> torch.Tensor:
    """The loss target for ``(B, 1, *spatial)`` training indices under the Plan's head."""
    if plan.regions is not None:
        channels = [
            torch.isin(label[:, 0], torch.tensor(idx, device=label.device)) for idx in plan.region_indices()
        ]
        return torch.stack(channels, 1).float()
    if plan.network.activation == "sigmoid":
        return (label > 0).float()
    return label


def class_masks(logits: torch.Tensor, label: torch.Tensor, plan: Plan) -> tuple[torch.Tensor, torch.Tensor]:
    """``(predicted, reference)`` boolean masks ``(K, *spatial)`` for one case's ``(1, C, ...)`` logits.

    ``K`` = the foreground classes (softmax, binary sigmoid) or the regions, in
    ``plan.class_names`` order; ``label`` is the ``(1, *spatial)`` index map.
    """
    ref = label[0]
    if plan.regions is not None:
        pred = logits[0] > 0
        refs = [torch.isin(ref, torch.tensor(idx, device=ref.device)) for idx in plan.region_indices()]
        return pred, torch.stack(refs)
    if plan.network.activation == "sigmoid":
        return logits[0] > 0, (ref > 0)[None]
    classes = sorted(plan.class_names)
    index = logits[0].argmax(0)
    return (torch.stack([index == c for c in classes]), torch.stack([ref == c for c in classes]))
