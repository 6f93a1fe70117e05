"""Load the ratings a task names and split them into training and test parts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data import (
    Dataset,
    FilesSplit,
    TrainTestSplit,
    load_dataset,
    load_ratings_file,
    make_movies,
    parse_split,
    read_ratings_file,
)
from recsys.ids import encode_ids

__all__ = ["load_and_split"]

#: How the ratings files of each MovieLens layout are read (``sep``, ``columns``).
_LAYOUT_READING: dict[str, tuple[str, str | None]] = {
    "100k": ("\t", "user,item,rating,timestamp"),
    "dat": ("::", "user,item,rating,timestamp"),
    "csv": (",", None),
}


def _folder_of(dataset: Dataset | None) -> Path | None:
    """The folder a dataset was read from (``None`` for the bundled copy or a zip)."""
    if dataset is None or dataset.source is None:
        return None
    root = Path(dataset.spec).expanduser()
    return root if root.is_dir() else None


def _beside(path: str, folder: Path | None) -> str:
    """``path``, looked up in ``folder`` first when it is relative."""
    candidate = Path(path).expanduser()
    if folder is not None and not candidate.is_absolute():
        inside = folder / candidate
        if inside.is_file() or not candidate.exists():
            return str(inside)
    return path


def load_and_split(
    *,
    dataset: str | os.PathLike[str] | None = None,
    ratings: str | os.PathLike[str] | None = None,
    sep: str = ",",
    columns: str | None = None,
    split: str = "random:0.1",
    seed: int | None = None,
) -> tuple[Dataset, TrainTestSplit]:
    """Load a dataset and split it.

    Parameters
    ----------
    dataset : a MovieLens release name (downloaded once), a MovieLens folder or ``.zip``;
        ``None`` (and no ``ratings``) is the bundled ``ml-latest-small``. With a
        ``files:TRAIN,TEST`` split it supplies the movies table, relative paths are
        looked up in its folder first (``files:u1.base,u1.test`` with ``--data
        ml-100k``), and the files are read in its layout unless ``sep``/``columns``
        say otherwise.
    ratings : a delimited ratings file instead of ``dataset``.
    sep, columns : how to read ``ratings`` and the files of a ``files:`` split (see
        :func:`recsys.data.read_ratings_file`).
    split : a split spec, see :func:`recsys.data.parse_split`.
    seed : seed of a random split; ``None`` is the rating model's default seed.

    Returns
    -------
    dataset : the :class:`~recsys.data.Dataset` (for a ``files:`` split, one named
        ``"files"`` holding both parts).
    split : its :class:`~recsys.data.TrainTestSplit`.

    Examples
    --------
    >>> data, parts = load_and_split(split="random:0.1", seed=0)
    >>> data.name, parts.name, len(parts.train) + len(parts.test) == len(data.ratings)
    ('ml-latest-small', 'random:0.1', True)
    """
    if seed is None:
        from recsys.workflows.training import model_default

        seed = int(model_default("seed"))
    splitter = parse_split(split)
    if isinstance(splitter, FilesSplit):
        base = load_dataset(dataset) if dataset else None
        if base is not None and columns is None and sep == ",":
            sep, columns = _LAYOUT_READING.get(base.layout, (sep, columns))
        folder = _folder_of(base)

        def reader(path: str) -> pd.DataFrame:
            return read_ratings_file(_beside(path, folder), sep=sep, columns=columns)

        parts = FilesSplit(splitter.train_path, splitter.test_path, reader).split()
        movies = base.movies if base is not None else None
        both = pd.concat([parts.train, parts.test], ignore_index=True)
        # string ids: one code table for both files, so a user keeps one code
        both, ids = encode_ids(both)
        if not ids.empty:
            n_train = len(parts.train)
            parts = TrainTestSplit(
                both.iloc[:n_train].reset_index(drop=True),
                both.iloc[n_train:].reset_index(drop=True),
                parts.name,
            )
        if movies is None:
            movie_ids = np.unique(both["movie_id"].to_numpy())
            titles = None if ids.movies is None else ids.movies.decode(movie_ids).tolist()
            movies = make_movies(movie_ids, title=titles)
        return Dataset(name="files", ratings=both, movies=movies, spec=split, ids=ids), parts
    if ratings:
        data = load_ratings_file(ratings, sep=sep, columns=columns)
    else:
        data = load_dataset(dataset)
    return data, splitter.split(data, seed)
