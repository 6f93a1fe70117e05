"""Movie metadata for genre prediction, from a metadata CSV or a metadata store.

A thin adapter over :func:`recsys.metadata.load_metadata`, the package's one reader of
metadata (so a CSV and the store made from it by ``recsys metadata import`` give the
same movies, text and genres). It keeps the columns genre prediction needs:

====================  =======================================================
column                meaning
====================  =======================================================
``movie_id``          MovieLens movie id (int64)
``title``             title, ``""`` when unknown
``overview``          plot overview, ``""`` when missing
``tmdb_genres``       tuple of TMDB genre names (empty when unknown); from
                      ``genre_ids`` when only the ids are known
``movielens_genres``  tuple of MovieLens genre names (empty when unknown)
``year``              year of ``release_date``, else the ``(1995)`` of the
                      title (nullable Int64)
====================  =======================================================

Accepted inputs are those of :func:`recsys.metadata.load_metadata`: a store written by
``recsys metadata fetch/import``, or a CSV with a ``movieId``/``movie_id`` column (the
``movies_enriched.csv`` layout, whose ``genres`` column may hold MovieLens or TMDB
names, or ``recsys metadata export`` output). Genre prediction also needs an
``overview`` text column with at least one overview.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.schema import parse_year
from recsys.errors import DataError
from recsys.metadata.genres import genre_names
from recsys.metadata.load import load_metadata
from recsys.metadata.store import is_sqlite_file

__all__ = ["METADATA_COLUMNS", "read_metadata"]

METADATA_COLUMNS = ("movie_id", "title", "overview", "tmdb_genres", "movielens_genres", "year")


def read_metadata(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read movie metadata into the frame described in the module docstring.

    Parameters
    ----------
    path : a metadata CSV or a metadata store (see :func:`recsys.metadata.load_metadata`).

    Returns
    -------
    DataFrame of shape (n_movies, 6) with :data:`METADATA_COLUMNS`, sorted by
    ``movie_id``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        An unreadable file, a CSV without a movie id or ``overview`` column, repeated
        movie ids, or no overview at all.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     csv = Path(folder) / "movies.csv"
    ...     _ = csv.write_text("movieId,title,overview,genres\\n"
    ...                        "1,Toy Story (1995),Toys come alive.,Animation|Comedy\\n")
    ...     meta = read_metadata(csv)
    >>> meta.columns.tolist()
    ['movie_id', 'title', 'overview', 'tmdb_genres', 'movielens_genres', 'year']
    >>> meta.loc[0, "title"], int(meta.loc[0, "year"]), meta.loc[0, "movielens_genres"]
    ('Toy Story (1995)', 1995, ('Animation', 'Comedy'))
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise FileNotFoundError(2, "no such file", str(file))
    store = is_sqlite_file(file)
    frame = load_metadata(file)
    if not store and "overview" not in _csv_header(file):
        raise DataError(
            f"{str(file)!r} has no 'overview' text column; add the TMDB "
            "overviews (e.g. with the metadata store) or pass a CSV that has "
            "them."
        )
    if not frame["overview"].astype(bool).any():
        what = "the metadata store" if store else "the CSV"
        raise DataError(
            f"{str(file)!r}: {what} has no overviews; fetch the TMDB details "
            "(overviews) of its movies first."
        )
    tmdb = [
        tuple(names) if names else genre_names(ids)
        for names, ids in zip(frame["tmdb_genres"], frame["genre_ids"], strict=True)
    ]
    titles = [t if isinstance(t, str) else "" for t in frame["title"]]
    years = pd.to_datetime(frame["release_date"], errors="coerce").dt.year.astype("Int64")
    from_title = pd.Series([parse_year(t) for t in titles], index=frame.index, dtype="Int64")
    return (
        pd.DataFrame(
            {
                "movie_id": frame["movie_id"].to_numpy().astype(np.int64),
                "title": titles,
                "overview": frame["overview"].to_numpy(),
                "tmdb_genres": pd.Series(tmdb, dtype=object),
                "movielens_genres": frame["movielens_genres"].to_numpy(),
                "year": pd.array(years.fillna(from_title), dtype="Int64"),
            }
        )
        .sort_values("movie_id", kind="stable")
        .reset_index(drop=True)
    )


def _csv_header(file: Path) -> list[str]:
    """Column names of a CSV (already read once by :func:`load_metadata`)."""
    return list(pd.read_csv(file, nrows=0, dtype=str).columns)
