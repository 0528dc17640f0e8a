"""Export a trained experiment for deployment: ONNX (or ``torch.export``), weights and a model card.

See :func:`medseg.inference.export.bundle.export_model` and docs/deploy.md.
"""

from medseg.core.lazy import lazy_exports

__all__ = ["ExportError", "ExportResult", "export_model"]

_LAZY: dict[str, str] = {
    "ExportError": "medseg.inference.export.bundle",
    "ExportResult": "medseg.inference.export.bundle",
    "export_model": "medseg.inference.export.bundle",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
