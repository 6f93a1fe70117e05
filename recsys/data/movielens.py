"""Readers for every published MovieLens layout.

=================  ==========================================================
layout             files
=================  ==========================================================
``csv``            ``ratings.csv``, ``movies.csv``, ``links.csv``, ``tags.csv``
                   (ml-latest-small, ml-latest, ml-20m, ml-25m, ml-32m)
``dat``            ``ratings.dat``, ``movies.dat`` (``::``-separated; ml-1m,
                   ml-10m, whose ``tags.dat`` is read too)
``100k``           ``u.data`` (tab-separated), ``u.item`` (``|``-separated,
                   latin-1), ``u.genre`` and the folds ``u1``..``u5``, ``ua``, ``ub``
=================  ==========================================================

The layout is detected from the files. Ratings are read with compact dtypes
(int32 ids, float32 ratings), so ml-25m fits in well under a gigabyte.
"""

from __future__ import annotations

import io
from typing import IO, Any

import numpy as np
import pandas as pd

from recsys.data.schema import make_movies, make_ratings, parse_genres, validate_ratings
from recsys.data.source import DataSource
from recsys.errors import DataError

__all__ = [
    "FOLDS_100K",
    "detect_layout",
    "read_fold",
    "read_movies",
    "read_ratings",
    "read_tags",
]

#: The predefined train/test folds shipped with ml-100k.
FOLDS_100K = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")

_CSV_DTYPES = {"userId": np.int32, "movieId": np.int32, "rating": np.float32, "timestamp": np.int64}


def detect_layout(source: DataSource) -> str:
    """Return ``"csv"``, ``"dat"`` or ``"100k"`` from the files the source holds.

    Raises
    ------
    DataError
        If no MovieLens ratings file is there.
    """
    if source.has("ratings.csv"):
        return "csv"
    if source.has("ratings.dat"):
        return "dat"
    if source.has("u.data"):
        return "100k"
    raise DataError(
        f"{str(source.path)!r} is not a MovieLens dataset: expected ratings.csv, "
        f"ratings.dat or u.data, found {', '.join(source.filenames()[:8]) or 'no files'}. "
        "Read another ratings file with recsys.data.load_ratings_file."
    )


def read_ratings(source: DataSource, layout: str | None = None) -> pd.DataFrame:
    """Read the ratings of a MovieLens dataset into the canonical frame."""
    layout = layout or detect_layout(source)
    if layout == "csv":
        name = "ratings.csv"
        with source.open(name) as handle:
            frame = _read_checked(
                handle,
                f"{source.path}:{name}",
                sep=",",
                usecols=list(_CSV_DTYPES),
                dtype=_CSV_DTYPES,
            )
        frame = frame.rename(columns={"userId": "user_id", "movieId": "movie_id"})
    elif layout == "dat":
        frame = _read_dat_ratings(source, "ratings.dat")
    elif layout == "100k":
        frame = _read_100k_ratings(source, "u.data")
    else:
        raise DataError(f"unknown MovieLens layout {layout!r}; expected csv, dat or 100k.")
    return validate_ratings(frame, f"{source.path}")


def read_fold(source: DataSource, fold: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one of ml-100k's predefined folds as ``(train, test)`` frames.

    Raises
    ------
    DataError
        If the dataset has no such fold.
    """
    if fold not in FOLDS_100K or not source.has(f"{fold}.base"):
        available = [f for f in FOLDS_100K if source.has(f"{f}.base")]
        raise DataError(
            f"fold {fold!r} is not in {str(source.path)!r}; "
            + (
                f"available folds: {', '.join(available)}."
                if available
                else "only ml-100k ships predefined folds (u1..u5, ua, ub)."
            )
        )
    return (_read_100k_ratings(source, f"{fold}.base"), _read_100k_ratings(source, f"{fold}.test"))


def read_movies(source: DataSource, layout: str | None = None) -> pd.DataFrame:
    """Read the movies (titles, years, genres, links) into the canonical frame."""
    layout = layout or detect_layout(source)
    if layout == "csv":
        movies = _read_text_csv(
            source,
            "movies.csv",
            dtype={"movieId": np.int32, "title": str, "genres": str},
            keep_default_na=False,
        )
        missing = [c for c in ("movieId", "title") if c not in movies.columns]
        if missing:
            raise DataError(
                f"{source.path}:movies.csv has no {' or '.join(missing)} column (its header "
                f"is {','.join(map(str, movies.columns))}); expected movieId,title,genres."
            )
        if "genres" not in movies.columns:  # accepted: a catalogue without genres
            movies["genres"] = ""
        imdb: list[str | None] = [None] * len(movies)
        tmdb: list[float | None] = [None] * len(movies)
        if source.has("links.csv"):
            links = _read_text_csv(
                source, "links.csv", dtype={"movieId": np.int32, "imdbId": str, "tmdbId": "Int64"}
            )
            links = links.set_index("movieId").reindex(movies["movieId"])
            imdb = [
                f"tt{int(x):07d}" if isinstance(x, str) and x.strip().isdigit() else None
                for x in links["imdbId"]
            ]
            tmdb = list(links["tmdbId"])
        return make_movies(
            movies["movieId"],
            movies["title"],
            [parse_genres(g) for g in movies["genres"]],
            imdb,
            tmdb,
        )
    if layout == "dat":
        rows = [line.split("::") for line in _decode_lines(source, "movies.dat")]
        rows = [r for r in rows if len(r) >= 3]
        return make_movies(
            [int(r[0]) for r in rows], [r[1] for r in rows], [parse_genres(r[2]) for r in rows]
        )
    if layout == "100k":
        genre_names = [
            line.split("|")[0] for line in _decode_lines(source, "u.genre") if "|" in line
        ]
        ids, titles, genres, imdb = [], [], [], []
        for line in _decode_lines(source, "u.item"):
            fields = line.split("|")
            if len(fields) < 5 + len(genre_names):
                continue
            flags = fields[5 : 5 + len(genre_names)]
            ids.append(int(fields[0]))
            titles.append(fields[1])
            genres.append(
                parse_genres(
                    "|".join(g for g, f in zip(genre_names, flags, strict=True) if f.strip() == "1")
                )
            )
            imdb.append(None)
        return make_movies(ids, titles, genres, imdb)
    raise DataError(f"unknown MovieLens layout {layout!r}; expected csv, dat or 100k.")


def read_tags(source: DataSource, layout: str | None = None) -> pd.DataFrame:
    """Read free-text tags as ``user_id, movie_id, tag, timestamp`` (empty if none)."""
    layout = layout or detect_layout(source)
    columns = ["user_id", "movie_id", "tag", "timestamp"]
    if layout == "csv" and source.has("tags.csv"):
        tags = _read_text_csv(
            source,
            "tags.csv",
            dtype={"userId": np.int32, "movieId": np.int32, "tag": str, "timestamp": np.int64},
            keep_default_na=False,
        )
        return tags.rename(columns={"userId": "user_id", "movieId": "movie_id"})[columns]
    if layout == "dat" and source.has("tags.dat"):
        rows = [line.split("::") for line in _decode_lines(source, "tags.dat")]
        rows = [r for r in rows if len(r) >= 4]
        return pd.DataFrame(
            {
                "user_id": np.array([int(r[0]) for r in rows], dtype=np.int32),
                "movie_id": np.array([int(r[1]) for r in rows], dtype=np.int32),
                "tag": [r[2] for r in rows],
                "timestamp": np.array([int(r[3]) for r in rows], dtype=np.int64),
            }
        )
    return read_tags_empty()


def read_tags_empty() -> pd.DataFrame:
    """An empty tags frame with the canonical columns."""
    return pd.DataFrame(
        {
            "user_id": np.array([], np.int32),
            "movie_id": np.array([], np.int32),
            "tag": pd.Series([], dtype=str),
            "timestamp": np.array([], np.int64),
        }
    )


def _read_checked(handle: IO[bytes], where: str, **kwargs: object) -> pd.DataFrame:
    """``pd.read_csv`` with its opaque errors turned into one actionable line."""
    try:
        return pd.read_csv(handle, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty: it has no ratings.") from None
    except OverflowError:
        raise DataError(
            f"{where}: a value does not fit a 64-bit integer (an id or timestamp); fix or "
            "remove that row."
        ) from None
    except ValueError as error:
        text = str(error)
        if "cannot safely convert" in text:
            raise DataError(
                f"{where}: an id does not fit in 32 bits ({text}); renumber the ids before loading."
            ) from None
        if "Usecols do not match" in text or "not in list" in text:
            raise DataError(
                f"{where}: missing column(s) ({text}); expected a header "
                "userId,movieId,rating,timestamp."
            ) from None
        raise DataError(
            f"{where}: a value is not a number where one is expected ({text}); "
            "fix or remove that row."
        ) from None


def _read_dat_ratings(source: DataSource, name: str) -> pd.DataFrame:
    # "1::122::5::838985046": splitting on ':' gives empty fields between the values,
    # which lets pandas' fast C parser read ml-10m's 10M lines.
    with source.open(name) as handle:
        frame = _read_checked(
            handle,
            f"{source.path}:{name}",
            sep=":",
            header=None,
            names=["user_id", "_a", "movie_id", "_b", "rating", "_c", "timestamp"],
            usecols=["user_id", "movie_id", "rating", "timestamp"],
            dtype={
                "user_id": np.int32,
                "movie_id": np.int32,
                "rating": np.float32,
                "timestamp": np.int64,
            },
        )
    return frame[["user_id", "movie_id", "rating", "timestamp"]]


def _read_100k_ratings(source: DataSource, name: str) -> pd.DataFrame:
    with source.open(name) as handle:
        frame = _read_checked(
            handle,
            f"{source.path}:{name}",
            sep="\t",
            header=None,
            names=["user_id", "movie_id", "rating", "timestamp"],
            dtype={
                "user_id": np.int32,
                "movie_id": np.int32,
                "rating": np.float32,
                "timestamp": np.int64,
            },
        )
    return make_ratings(frame["user_id"], frame["movie_id"], frame["rating"], frame["timestamp"])


def _decode(source: DataSource, name: str) -> str:
    """The text of file ``name``: UTF-8 (with or without a byte-order mark), else
    latin-1 (ml-100k and ml-1m are; so is a file saved by an old spreadsheet)."""
    with source.open(name) as handle:
        raw = handle.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # every byte is a latin-1 character


def _decode_lines(source: DataSource, name: str) -> list[str]:
    text = _decode(source, name)
    return [line for line in io.StringIO(text).read().splitlines() if line.strip()]


def _read_text_csv(source: DataSource, name: str, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` of a text file of the dataset (:func:`_decode` decodes it), its
    errors as one line naming the file.

    Raises
    ------
    DataError
        If the file is empty, misses a column or has a value of the wrong type.
    """
    where = f"{source.path}:{name}"
    try:
        return pd.read_csv(io.StringIO(_decode(source, name)), **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty; expected a header line and rows.") from None
    except (ValueError, OverflowError, pd.errors.ParserError) as error:
        raise DataError(
            f"{where} could not be read ({type(error).__name__}: {str(error)[:200]}); "
            "check that it is the MovieLens file, with its header, and fix that row."
        ) from None
