"""A dataset described by a table (CSV file or pandas DataFrame): one row per case.

Columns name the image files (one column per channel), the label and optionally a mask and a case
id. Relative paths are resolved against ``root`` (default: the CSV file's folder, else the working
directory). An empty label cell means the case has no label.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medseg.core.errors import DatasetError
from medseg.data.datasets.files import CaseFiles, FileCaseDataset, missing_files
from medseg.data.datasets.paths import strip_suffix

if TYPE_CHECKING:
    import pandas as pd


class TableDataset(FileCaseDataset):
    """Cases listed in a table; ``image_columns`` default to every column whose name starts with "image".

    The rest of a column's name names the channel (``image_ct``: a CT channel, normalised with
    Hounsfield-unit rules); an image cell may name a DICOM series folder."""

    def __init__(
        self,
        table: str | os.PathLike[str] | pd.DataFrame,
        image_columns: Sequence[str] | None = None,
        label_column: str | None = "label",
        id_column: str | None = None,
        mask_column: str | None = None,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        import pandas as pd

        if isinstance(table, pd.DataFrame):
            frame, source, base = table, "table", Path(root) if root is not None else Path.cwd()
        else:
            path = Path(table)
            if not path.is_file():
                raise DatasetError(f"{path}: table file does not exist")
            try:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            except pd.errors.EmptyDataError:
                raise DatasetError(f"{path}: empty table (no header row, no cases)") from None
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise DatasetError(
                    f"{path}: cannot be parsed as CSV ({' '.join(str(exc).split())})"
                ) from None
            source, base = str(path), Path(root) if root is not None else path.parent
        columns = (
            list(image_columns)
            if image_columns is not None
            else [str(c) for c in frame.columns if str(c).lower().startswith("image")]
        )
        if not columns:
            raise DatasetError(f"{source}: no image columns (pass image_columns or name them 'image...')")
        wanted = [*columns, *(c for c in (label_column, id_column, mask_column) if c is not None)]
        absent = [c for c in wanted if c not in frame.columns]
        if absent:
            raise DatasetError(f"{source}: column(s) {absent} not found (columns are {list(frame.columns)})")
        cases = []
        for row_number, row in enumerate(frame.to_dict("records"), start=1):
            images = tuple(_path(base, row[c], source, row_number, c) for c in columns)
            label = _optional_path(base, row.get(label_column)) if label_column else None
            mask = _optional_path(base, row.get(mask_column)) if mask_column else None
            case_id = str(row[id_column]).strip() if id_column else strip_suffix(images[0].name)
            cases.append(CaseFiles(case_id, images, label, mask))
        missing = missing_files(cases)
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DatasetError(f"{source}: listed file {missing[0]} does not exist{more}")
        super().__init__(cases, name=source, channel_names=_channel_names(columns))


def _channel_names(columns: Sequence[str]) -> list[str] | None:
    """Channel names from the image columns: ``image_ct`` -> ``ct`` (so CT is normalised as CT), ``image_t2``
    -> ``t2``; ``None`` when a column gives no name (``image``, ``image0``)."""
    names = [c[len("image") :].lstrip("_- ") if c.lower().startswith("image") else c for c in columns]
    if any(not n or n.isdigit() for n in names):
        return None
    return names


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def _path(base: Path, value: Any, source: str, row: int, column: str) -> Path:
    if _is_empty(value):
        raise DatasetError(f"{source}: row {row} has no file in column '{column}'")
    path = Path(str(value).strip())
    return path if path.is_absolute() else base / path


def _optional_path(base: Path, value: Any) -> Path | None:
    if _is_empty(value):
        return None
    path = Path(str(value).strip())
    return path if path.is_absolute() else base / path
