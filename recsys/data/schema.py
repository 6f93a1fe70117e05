"""The canonical frames every reader produces.

ratings
    ``user_id`` int32, ``movie_id`` int32, ``rating`` float32 and, when the source has
    it, ``timestamp`` int64 (seconds since the epoch). One row per rating.
movies
    ``movie_id`` int32, ``title`` str, ``year`` nullable Int16, ``genres`` (a tuple of
    genre names, empty when none are listed), ``imdb_id`` str (``"tt0114709"``) and
    ``tmdb_id`` nullable Int64 where links exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from recsys.errors import DataError

__all__ = [
    "MOVIE_COLUMNS",
    "RATING_COLUMNS",
    "drop_duplicate_pairs",
    "make_movies",
    "make_ratings",
    "parse_genres",
    "parse_year",
    "validate_ratings",
]

RATING_COLUMNS = ("user_id", "movie_id", "rating", "timestamp")
MOVIE_COLUMNS = ("movie_id", "title", "year", "genres", "imdb_id", "tmdb_id")

_YEAR = re.compile(r"\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
#: Spellings older MovieLens releases used for the same genre.
_GENRE_ALIASES = {"Children's": "Children", "Childrens": "Children"}
_NO_GENRES = {"(no genres listed)", "unknown", ""}


def parse_year(title: str) -> int | None:
    """Release year from a MovieLens title such as ``"Toy Story (1995)"``.

    >>> parse_year("Toy Story (1995)"), parse_year("Babylon 5"), parse_year("Fargo (2014-2017)")
    (1995, None, 2014)
    """
    match = _YEAR.search(title or "")
    return int(match.group(1)) if match else None


def parse_genres(text: str | float | None, sep: str = "|") -> tuple[str, ...]:
    """Genre names from a ``"Adventure|Comedy"`` field; ``"(no genres listed)"`` gives ``()``.

    >>> parse_genres("Animation|Children's|Comedy")
    ('Animation', 'Children', 'Comedy')
    """
    if not isinstance(text, str):
        return ()
    names = (_GENRE_ALIASES.get(g.strip(), g.strip()) for g in text.split(sep))
    return tuple(g for g in names if g not in _NO_GENRES)


def make_ratings(
    user_id: Iterable[int],
    movie_id: Iterable[int],
    rating: Iterable[float],
    timestamp: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Build a canonical ratings frame with compact dtypes.

    Examples
    --------
    >>> make_ratings([1, 2], [10, 10], [4.0, 3.5]).dtypes.tolist()
    [dtype('int32'), dtype('int32'), dtype('float32')]
    """
    frame = pd.DataFrame(
        {
            "user_id": _int32_ids(user_id, "user"),
            "movie_id": _int32_ids(movie_id, "movie"),
            "rating": np.asarray(rating, dtype=np.float32),
        }
    )
    if timestamp is not None:
        frame["timestamp"] = np.asarray(timestamp, dtype=np.int64)
    return frame


_INT32 = np.iinfo(np.int32)


def _int32_ids(values: Iterable[int], entity: str) -> np.ndarray:
    """Ids as int32, refusing (instead of wrapping) values that do not fit; string ids
    (see :mod:`recsys.ids`) are kept as an object array of ``str``."""
    array = np.asarray(values)
    if array.dtype == np.int32:
        return array
    if array.dtype.kind in "OUS":
        return np.asarray(array, dtype=object)
    if array.size and array.dtype.kind in "iuf":
        low, high = array.min(), array.max()
        if low < _INT32.min or high > _INT32.max:
            bad = high if high > _INT32.max else low
            raise DataError(
                f"{entity} id {int(bad)} does not fit in 32 bits "
                f"({_INT32.min}..{_INT32.max}); renumber the ids (e.g. with "
                "pandas.factorize) before loading."
            )
    return array.astype(np.int32)


def make_movies(
    movie_id: Iterable[int],
    title: Iterable[str] | None = None,
    genres: Iterable[tuple[str, ...]] | None = None,
    imdb_id: Iterable[str | None] | None = None,
    tmdb_id: Iterable[float | int | None] | None = None,
) -> pd.DataFrame:
    """Build a canonical movies frame; ``year`` is parsed from the titles."""
    ids = _int32_ids(movie_id, "movie")
    n = len(ids)
    titles = pd.Series(list(title) if title is not None else [None] * n, dtype=object)
    frame = pd.DataFrame({"movie_id": ids, "title": titles.to_numpy()})
    frame["year"] = pd.array(
        [parse_year(t) if isinstance(t, str) else None for t in titles], dtype="Int16"
    )
    frame["genres"] = pd.Series(list(genres) if genres is not None else [()] * n, dtype=object)
    frame["imdb_id"] = pd.Series(list(imdb_id) if imdb_id is not None else [None] * n, dtype=object)
    frame["tmdb_id"] = pd.array(
        pd.to_numeric(
            pd.Series(list(tmdb_id) if tmdb_id is not None else [None] * n, dtype=object),
            errors="coerce",
        ),
        dtype="Int64",
    )
    return frame.sort_values("movie_id", kind="stable").reset_index(drop=True)


def drop_duplicate_pairs(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep one rating per (user, movie) pair: the latest by timestamp, else the last
    row of the file; returns the frame and how many rows were dropped.

    A pair rated twice would otherwise be able to land in both the training and the
    test part of a split. The kept rows stay in their original order.

    Examples
    --------
    >>> frame = make_ratings([1, 1, 2], [10, 10, 10], [3.0, 5.0, 4.0], [200, 100, 50])
    >>> kept, dropped = drop_duplicate_pairs(frame)
    >>> kept["rating"].tolist(), dropped
    ([3.0, 4.0], 1)
    """
    key = pd.Series(
        (frame["user_id"].to_numpy().astype(np.int64) << 32)
        | (frame["movie_id"].to_numpy().astype(np.int64) & 0xFFFFFFFF)
    )
    if not key.duplicated().any():
        return frame, 0
    if "timestamp" in frame.columns:
        # the latest timestamp wins; among equal timestamps, the last row
        order = np.lexsort((np.arange(len(frame)), frame["timestamp"].to_numpy(), key.to_numpy()))
        keep = np.zeros(len(frame), dtype=bool)
        last_of_key = np.r_[key.to_numpy()[order][1:] != key.to_numpy()[order][:-1], True]
        keep[order[last_of_key]] = True
    else:
        keep = ~key.duplicated(keep="last").to_numpy()
    kept = frame[keep].reset_index(drop=True)
    return kept, int(len(frame) - len(kept))


def validate_ratings(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a ratings frame: required columns, no missing values, at least one row.

    Raises
    ------
    DataError
        Naming ``source`` and what to fix.
    """
    missing = [c for c in RATING_COLUMNS[:3] if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; expected "
            "user, movie and rating columns."
        )
    if len(frame) == 0:
        raise DataError(f"{source} has no ratings: give a file with at least one rating row.")
    bad = ~np.isfinite(frame["rating"].to_numpy())
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: {int(bad.sum())} rating(s) are missing or not finite numbers "
            f"(first at data row {first + 1}); fix or remove those rows."
        )
    return frame
