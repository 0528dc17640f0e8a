"""Save previews of the worst validation case after each validation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


class PreviewCallback(Callback):
    """Input, label, prediction, expected and actual overlays of the worst case (``previews/``)."""

    @override
    def on_validation_end(self, trainer: Trainer, result: Any) -> None:
        arrays = getattr(result, "worst_arrays", None)
        if not arrays or trainer.folder is None:
            return
        from medseg.viz.previews import save_case_preview

        title = f"epoch {trainer.epoch_number}: worst case {result.worst.case_id} (mean Dice {result.worst.mean:.3f})"
        names: dict[int, str] = dict(getattr(trainer, "class_names", None) or {})
        shift = 1 if 0 in names else 0  # regions are numbered from 0; previews paint them from 1
        save_case_preview(
            arrays["image"],
            arrays["label"],
            arrays["prediction"],
            trainer.folder.previews / "worst_case.png",
            title=title,
            class_names={v + shift: n for v, n in names.items()} or None,
        )
