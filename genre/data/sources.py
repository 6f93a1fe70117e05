"""Movie metadata for genre prediction, from a metadata CSV or a metadata store.

A thin adapter over :func:`recsys.metadata.load_metadata`, the package's one reader of
metadata (so a CSV and the store made from it by ``recsys metadata import`` give the
same movies, text and genres). It keeps the columns genre prediction needs:

====================  =======================================================
column                meaning
====================  =======================================================
``movie_id``          the movie's id in the file's id space (int64): the
                      MovieLens movie id, or the TMDB id for a CSV in
                      TMDB's export layout
``movielens_id``      the MovieLens movie it is (nullable Int64): ``movie_id``
                      itself for MovieLens-keyed metadata; for TMDB's
                      layout, through the links table (``<NA>`` when the
                      table does not list the TMDB id, or without one)
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
names or TMDB's ``{"id", "name"}`` lists, or ``recsys metadata export`` output) -- and
a CSV in TMDB's export layout (``id`` = TMDB id, ``title``, ``overview``, ``genres``;
:mod:`recsys.metadata.tmdb_export`), read in its own id space: its movies keep their
TMDB ids, titles and TMDB genre names, and are tied to MovieLens movies only through
a links table (:func:`metadata_id_space` says which space a file is in). Genre
prediction also needs an ``overview`` text column with at least one overview.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from recsys.data.schema import parse_year
from recsys.errors import DataError
from recsys.metadata.genres import genre_names
from recsys.metadata.load import load_metadata
from recsys.metadata.store import is_sqlite_file
from recsys.metadata.tmdb_export import is_tmdb_export_file, link_tmdb_ids, read_tmdb_export

__all__ = ["METADATA_COLUMNS", "IdSpace", "metadata_id_space", "read_metadata"]

METADATA_COLUMNS = (
    "movie_id",
    "movielens_id",
    "title",
    "overview",
    "tmdb_genres",
    "movielens_genres",
    "year",
)
#: The id spaces of movie ids: MovieLens movie ids or TMDB ids.
IdSpace = Literal["movielens", "tmdb"]


def metadata_id_space(path: str | os.PathLike[str]) -> IdSpace:
    """The id space of a metadata file's movies: ``"tmdb"`` for TMDB's export layout.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.csv").write_text("id,title,overview\\n11,Star Wars,A war.\\n")
    >>> _ = (folder / "b.csv").write_text("movieId,overview\\n1,Toys.\\n")
    >>> metadata_id_space(folder / "a.csv"), metadata_id_space(folder / "b.csv")
    ('tmdb', 'movielens')
    """
    file = Path(path).expanduser()
    if file.is_file() and not is_sqlite_file(file) and is_tmdb_export_file(file):
        return "tmdb"
    return "movielens"


def read_metadata(
    path: str | os.PathLike[str],
    *,
    links: pd.DataFrame | None = None,
    links_source: str = "the links table",
) -> pd.DataFrame:
    """Read movie metadata into the frame described in the module docstring.

    Parameters
    ----------
    path : a metadata CSV or a metadata store (see :func:`recsys.metadata.load_metadata`),
        or a CSV in TMDB's export layout.
    links : for TMDB's export layout, a links table (``movie_id``, ``tmdb_id``: e.g.
        :func:`recsys.metadata.links_from_movies`) giving ``movielens_id``; without it
        no movie of such a file has a MovieLens movie. Not used for other files.
    links_source : where ``links`` came from, for the messages.

    Returns
    -------
    DataFrame of shape (n_movies, 7) with :data:`METADATA_COLUMNS`, sorted by
    ``movie_id``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        An unreadable file, a CSV without a movie id (or TMDB's ``id`` and ``title``)
        or ``overview`` column, repeated movie ids, a ``genres`` column that is neither
        names nor ``{"id", "name"}`` lists, no overview at all, or ``links`` linking
        one of the file's TMDB ids to two MovieLens movies (``parameter="links"``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     csv = Path(folder) / "movies.csv"
    ...     _ = csv.write_text("movieId,title,overview,genres\\n"
    ...                        "1,Toy Story (1995),Toys come alive.,Animation|Comedy\\n")
    ...     meta = read_metadata(csv)
    >>> meta.columns.tolist()
    ['movie_id', 'movielens_id', 'title', 'overview', 'tmdb_genres', 'movielens_genres', 'year']
    >>> meta.loc[0, "title"], int(meta.loc[0, "year"]), meta.loc[0, "movielens_genres"]
    ('Toy Story (1995)', 1995, ('Animation', 'Comedy'))
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise FileNotFoundError(2, "no such file", str(file))
    store = is_sqlite_file(file)
    tmdb_space = metadata_id_space(file) == "tmdb"
    frame = _tmdb_frame(file, links, links_source) if tmdb_space else load_metadata(file)
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
    movie_ids = frame["movie_id"].to_numpy().astype(np.int64)
    return (
        pd.DataFrame(
            {
                "movie_id": movie_ids,
                "movielens_id": (
                    frame["movielens_id"].to_numpy()
                    if tmdb_space
                    else pd.array(movie_ids, dtype="Int64")
                ),
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


def _tmdb_frame(file: Path, links: pd.DataFrame | None, links_source: str) -> pd.DataFrame:
    """A TMDB export in the columns the code above reads, keyed by TMDB id."""
    export = read_tmdb_export(file)
    linked = (
        link_tmdb_ids(export["tmdb_id"], links, source=links_source)
        if links is not None
        else pd.Series([None] * len(export), dtype="Int64")
    )
    return export.assign(
        movie_id=export["tmdb_id"],
        movielens_id=pd.array(linked, dtype="Int64"),
        movielens_genres=pd.Series([()] * len(export), dtype=object),
    )


def _csv_header(file: Path) -> list[str]:
    """Column names of a CSV (already read once by :func:`load_metadata`)."""
    return list(pd.read_csv(file, nrows=0, dtype=str, encoding="utf-8-sig").columns)
