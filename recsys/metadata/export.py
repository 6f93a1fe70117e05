"""Write the metadata as one CSV table keyed by movie id."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from recsys.fileio import atomic_write
from recsys.metadata.frame import LIST_COLUMNS, METADATA_COLUMNS

__all__ = ["write_metadata_csv", "write_table_csv"]


def write_metadata_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a canonical metadata frame to ``path`` atomically; return the path.

    Tuples become ``|``-separated text (``genre_ids`` ``"28|878"``), so the file reads
    back with :func:`recsys.metadata.load_metadata` into the same frame.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from recsys.metadata.frame import make_frame
    >>> frame = make_frame([{"movie_id": 1, "genre_ids": (28, 878), "status": "ok"}])
    >>> path = write_metadata_csv(frame, Path(tempfile.mkdtemp()) / "meta.csv")
    >>> "28|878" in path.read_text()
    True
    """
    return write_table_csv(frame.loc[:, [c for c in METADATA_COLUMNS if c in frame.columns]], path)


def write_table_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write any frame to CSV atomically, tuples and lists joined with ``|``."""
    out = frame.copy()
    for column in out.columns:
        if column in LIST_COLUMNS or any(isinstance(v, (tuple, list)) for v in out[column]):
            out[column] = ["|".join(str(v) for v in values) for values in out[column]]
    target = Path(path).expanduser()
    with atomic_write(target, "w", encoding="utf-8") as handle:
        out.to_csv(handle, index=False, lineterminator="\n")
    return target
