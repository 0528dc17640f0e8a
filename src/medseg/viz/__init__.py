"""medseg.viz: visual reports of cases and runs (docs/reports.md).

* case visuals: :func:`save_case_preview` (input / label / prediction / overlays), :func:`save_montage`
  (slices at 25/50/75 % of the foreground), :func:`save_scroll_gif` (every slice),
  :func:`save_rotation_gif` (turning 3-D view of the label surfaces), :func:`export_meshes`
  (PyVista surface meshes, optional extra ``viz3d``);
* run report: :func:`write_report` (one self-contained ``report.html`` for an experiment or work folder).

Every figure carries a colour legend per class; class colours (:func:`class_color`) are fixed per
value and background is never coloured. Names are imported on first use, so ``import medseg.viz``
stays light.
"""

from medseg.core.lazy import lazy_exports

__all__ = [
    "MeshExport",
    "OptionalDependencyError",
    "class_color",
    "export_meshes",
    "montage_figure",
    "montage_positions",
    "preview_figure",
    "pyvista_available",
    "rotation_frames",
    "save_case_preview",
    "save_montage",
    "save_rotation_gif",
    "save_scroll_gif",
    "scroll_frames",
    "write_report",
]

_LAZY: dict[str, str] = {
    "MeshExport": "medseg.viz.meshes",
    "OptionalDependencyError": "medseg.viz.meshes",
    "class_color": "medseg.viz.colors",
    "export_meshes": "medseg.viz.meshes",
    "montage_figure": "medseg.viz.montage",
    "montage_positions": "medseg.viz.montage",
    "preview_figure": "medseg.viz.previews",
    "pyvista_available": "medseg.viz.meshes",
    "rotation_frames": "medseg.viz.render3d",
    "save_case_preview": "medseg.viz.previews",
    "save_montage": "medseg.viz.montage",
    "save_rotation_gif": "medseg.viz.render3d",
    "save_scroll_gif": "medseg.viz.scroll",
    "scroll_frames": "medseg.viz.scroll",
    "write_report": "medseg.viz.report",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
