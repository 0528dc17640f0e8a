"""Visualisation: case previews and overlays (montages, GIFs and meshes to come)."""

from medseg.viz.previews import save_case_preview

__all__ = ["save_case_preview"]
