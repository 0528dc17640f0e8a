"""medseg: train deep segmentation models on medical images.

Every piece is a plain PyTorch object (``nn.Module``, ``Dataset``) that can be used alone; the
``medseg`` command and :class:`medseg.presets.SegmentationTrainer` wire them together. Heavy
subpackages are imported on use, so ``import medseg`` stays fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
