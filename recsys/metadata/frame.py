"""The canonical movie-metadata frame every reader of this package returns.

One row per MovieLens movie, keyed by ``movie_id``:

==================  ===========  ====================================================
column              dtype        content
==================  ===========  ====================================================
movie_id            int32        MovieLens movie id
tmdb_id             Int64        TMDB id (``<NA>`` when unknown)
imdb_id             object       ``"tt0114709"`` or ``None``
title               object       TMDB title (MovieLens title for imported rows)
original_title      object       title in the original language, or ``None``
overview            object       plot summary (stripped), ``""`` when missing
tagline             object       tag line, ``""`` when missing
genre_ids           object       tuple of TMDB genre ids, possibly empty
tmdb_genres         object       tuple of TMDB genre names, possibly empty
movielens_genres    object       tuple of MovieLens genre names, possibly empty
release_date        object       ``"1995-10-30"`` or ``None``
original_language   object       ISO 639-1 code or ``None``
runtime             Int64        minutes
popularity          float64      TMDB popularity
vote_average        float64      TMDB mean vote (0-10)
vote_count          Int64        TMDB vote count
poster_path         object       TMDB image path (``"/abc.jpg"``) or ``None``
poster_file         object       absolute path of the local poster, or ``None``
poster_sha256       object       hex SHA-256 of the poster file, or ``None``
poster_status       object       ``"ok"``, ``"missing"``, ``"failed"`` or ``None``
status              object       ``"ok"``, ``"missing"`` (404, no TMDB id), ``"failed"``
detail              object       why a movie is missing or failed, else ``None``
source              object       ``"tmdb"`` or ``"import:<file name>"``
updated_at          object       ISO-8601 UTC time of the last change
==================  ===========  ====================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LIST_COLUMNS",
    "METADATA_COLUMNS",
    "STATUSES",
    "TMDB_FIELDS",
    "join_movies",
    "make_frame",
]

#: Statuses of a movie (and of its poster) in the store.
STATUSES = ("ok", "missing", "failed")

#: The fields of a TMDB movie record this package keeps (the TMDB id aside), shared by
#: the store, the fetcher, the TMDB-export reader and the canonical frame.
TMDB_FIELDS = (
    "imdb_id",
    "title",
    "original_title",
    "overview",
    "tagline",
    "genre_ids",
    "tmdb_genres",
    "release_date",
    "original_language",
    "runtime",
    "popularity",
    "vote_average",
    "vote_count",
    "poster_path",
)
#: Column order of the canonical frame.
METADATA_COLUMNS = (
    "movie_id",
    "tmdb_id",
    *TMDB_FIELDS,
    "movielens_genres",
    "poster_file",
    "poster_sha256",
    "poster_status",
    "status",
    "detail",
    "source",
    "updated_at",
)
#: Columns holding tuples.
LIST_COLUMNS = ("genre_ids", "tmdb_genres", "movielens_genres")
_INT_COLUMNS = ("tmdb_id", "runtime", "vote_count")
_FLOAT_COLUMNS = ("popularity", "vote_average")
_TEXT_COLUMNS = ("overview", "tagline")


def _none_if_missing(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def make_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the canonical frame from records (missing keys become empty values).

    List columns accept tuples or lists; text columns turn ``None`` into ``""``; the
    result is sorted by ``movie_id``.

    Examples
    --------
    >>> frame = make_frame([{"movie_id": 1, "tmdb_id": 862, "genre_ids": [16, 35]}])
    >>> frame.loc[0, "genre_ids"], frame.loc[0, "overview"], str(frame["tmdb_id"].dtype)
    ((16, 35), '', 'Int64')
    """
    records = list(rows)
    data: dict[str, Any] = {}
    data["movie_id"] = np.asarray([int(r["movie_id"]) for r in records], dtype=np.int32)
    for column in METADATA_COLUMNS[1:]:
        values = [_none_if_missing(r.get(column)) for r in records]
        if column in LIST_COLUMNS:
            values = [tuple(v) if v is not None else () for v in values]
            if column == "genre_ids":
                values = [tuple(int(x) for x in v) for v in values]
            data[column] = pd.Series(values, dtype=object)
        elif column in _INT_COLUMNS:
            data[column] = pd.array(
                [int(v) if v is not None else None for v in values], dtype="Int64"
            )
        elif column in _FLOAT_COLUMNS:
            data[column] = np.asarray(
                [float(v) if v is not None else np.nan for v in values], dtype=np.float64
            )
        elif column in _TEXT_COLUMNS:
            data[column] = pd.Series(
                [str(v).strip() if v is not None else "" for v in values], dtype=object
            )
        else:
            data[column] = pd.Series(
                [str(v) if v is not None else None for v in values], dtype=object
            )
    frame = pd.DataFrame(data)
    return frame.sort_values("movie_id", kind="stable").reset_index(drop=True)


def join_movies(movies: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """Metadata for every movie of a MovieLens movies frame (left join on ``movie_id``).

    Movies without metadata get a row with ``status`` ``"pending"``, their MovieLens
    title, ids and genres, and empty TMDB fields. ``movielens_genres`` is filled from
    the MovieLens genres wherever the metadata left it empty.

    Parameters
    ----------
    movies : a movies frame from :func:`recsys.data.load_dataset` (``movie_id, title,
        genres, imdb_id, tmdb_id``).
    metadata : a canonical frame from :func:`recsys.metadata.load_metadata`.

    Returns
    -------
    DataFrame with the canonical columns, one row per row of ``movies``, in its order.
    """
    by_id = {int(r["movie_id"]): r for r in metadata.to_dict("records")}
    rows = []
    for movie in movies.to_dict("records"):
        movie_id = int(movie["movie_id"])
        row = dict(
            by_id.get(movie_id)
            or {
                "movie_id": movie_id,
                "tmdb_id": _none_if_missing(movie.get("tmdb_id")),
                "imdb_id": _none_if_missing(movie.get("imdb_id")),
                "title": _none_if_missing(movie.get("title")),
                "status": "pending",
            }
        )
        if not row.get("movielens_genres"):
            row["movielens_genres"] = tuple(movie.get("genres") or ())
        rows.append(row)
    frame = make_frame(rows)
    order = {m: i for i, m in enumerate(int(x) for x in movies["movie_id"])}
    return frame.sort_values("movie_id", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )
