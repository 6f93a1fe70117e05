"""Read movie metadata (overviews, TMDB genres) from a CSV file or a metadata store.

The result is one canonical frame, whatever the input:

=================  ==========================================================
column             meaning
=================  ==========================================================
``movie_id``       MovieLens movie id (int64)
``title``          title, ``""`` when unknown
``overview``       plot overview, ``""`` when missing
``tmdb_genres``    tuple of TMDB genre names (empty when unknown)
``year``           release year from ``release_date`` (nullable Int64)
=================  ==========================================================

A CSV needs a movie id column (``movieId`` or ``movie_id``) and an ``overview`` column;
``title``, ``tmdb_genres`` (``|``-separated names), ``genre_ids`` (``|``-separated TMDB
ids) and ``release_date`` are used when present (e.g. ``movies_enriched.csv``). Any
other path is opened with :func:`recsys.metadata.load_metadata`, the SQLite store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from genre.labels import tmdb_ids_to_names
from recsys.errors import DataError

__all__ = ["METADATA_COLUMNS", "read_metadata"]

METADATA_COLUMNS = ("movie_id", "title", "overview", "tmdb_genres", "year")


def read_metadata(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read movie metadata into the canonical frame (see the module docstring).

    Parameters
    ----------
    path : a ``.csv`` file, or a metadata store readable by
        ``recsys.metadata.load_metadata``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        Missing id or overview column, an unreadable file, duplicate movie ids, or a
        store given where store support is not installed.

    Examples
    --------
    >>> meta = read_metadata("movies_enriched.csv")  # doctest: +SKIP
    >>> meta.columns.tolist()  # doctest: +SKIP
    ['movie_id', 'title', 'overview', 'tmdb_genres', 'year']
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise FileNotFoundError(2, "no such file", str(file))
    if file.suffix.lower() in {".csv", ".gz"} or file.name.lower().endswith(".csv.gz"):
        frame = _read_csv(file)
    else:
        frame = _read_store(file)
    if frame["movie_id"].duplicated().any():
        dup = frame.loc[frame["movie_id"].duplicated(), "movie_id"].iloc[0]
        raise DataError(f"{str(file)!r}: movie id {dup} appears more than once; "
                        "expected one row per movie.")
    return frame.sort_values("movie_id", kind="stable").reset_index(drop=True)


def _read_csv(file: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{str(file)!r} is empty: expected a header with movieId and "
                        "overview columns.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{str(file)!r} is not a readable CSV file ({error}).") from None
    id_col = next((c for c in ("movie_id", "movieId") if c in raw.columns), None)
    if id_col is None:
        raise DataError(f"{str(file)!r} has no movie id column: expected movieId or "
                        f"movie_id, found {', '.join(raw.columns) or 'none'}.")
    if "overview" not in raw.columns:
        raise DataError(f"{str(file)!r} has no 'overview' text column (found "
                        f"{', '.join(raw.columns)}); add the TMDB overviews, e.g. with the "
                        "metadata store, or pass a CSV that has them.")
    ids = pd.to_numeric(raw[id_col], errors="coerce")
    if ids.isna().any() or (ids % 1 != 0).any():
        bad = raw.loc[ids.isna() | (ids % 1 != 0), id_col].iloc[0]
        raise DataError(f"{str(file)!r}: movie id {bad!r} is not an integer; fix or remove "
                        "that row.")
    if "tmdb_genres" in raw.columns:
        tmdb = [_split_names(v) for v in raw["tmdb_genres"]]
    elif "genre_ids" in raw.columns:
        tmdb = [tmdb_ids_to_names(_split_ints(v)) for v in raw["genre_ids"]]
    else:
        tmdb = [()] * len(raw)
    return pd.DataFrame({
        "movie_id": ids.astype(np.int64).to_numpy(),
        "title": raw["title"].to_numpy() if "title" in raw.columns else [""] * len(raw),
        "overview": [v.strip() for v in raw["overview"]],
        "tmdb_genres": tmdb,
        "year": _years(raw["release_date"] if "release_date" in raw.columns else None,
                       len(raw)),
    })


def _read_store(file: Path) -> pd.DataFrame:
    try:
        from recsys.metadata import load_metadata  # type: ignore[import-not-found]
    except ImportError:
        raise DataError(
            f"{str(file)!r} is not a CSV file and metadata store support "
            "(recsys.metadata) is not available in this installation; pass a CSV with "
            "movieId and overview columns instead."
        ) from None
    store = load_metadata(file)
    if "overview" not in store.columns or "movie_id" not in store.columns:
        raise DataError(f"{str(file)!r}: the metadata store has no overview column; "
                        "fetch the TMDB metadata first.")
    overviews = [v.strip() if isinstance(v, str) else "" for v in store["overview"]]
    if not any(overviews):
        raise DataError(f"{str(file)!r}: the metadata store has no overviews; fetch the "
                        "TMDB details (overviews) for its movies first.")
    tmdb: list[tuple[str, ...]] = []
    names = store["tmdb_genres"] if "tmdb_genres" in store.columns else [None] * len(store)
    ids = store["genre_ids"] if "genre_ids" in store.columns else [None] * len(store)
    for name_list, id_list in zip(names, ids, strict=True):
        if _is_sequence(name_list) and len(name_list):
            tmdb.append(tuple(str(n) for n in name_list))
        elif _is_sequence(id_list):
            tmdb.append(tmdb_ids_to_names(id_list))
        else:
            tmdb.append(())
    titles = store["title"] if "title" in store.columns else [""] * len(store)
    return pd.DataFrame({
        "movie_id": pd.to_numeric(store["movie_id"]).astype(np.int64).to_numpy(),
        "title": [t if isinstance(t, str) else "" for t in titles],
        "overview": overviews,
        "tmdb_genres": tmdb,
        "year": _years(store["release_date"] if "release_date" in store.columns else None,
                       len(store)),
    })


def _is_sequence(value: object) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _split_names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split("|") if n.strip())


def _split_ints(text: str) -> list[int]:
    return [int(v) for v in text.replace(",", "|").split("|") if v.strip().isdigit()]


def _years(dates: Iterable[object] | None, n: int) -> pd.Series:
    if dates is None:
        return pd.Series([pd.NA] * n, dtype="Int64")
    parsed = pd.to_datetime(pd.Series(list(dates), dtype=object), errors="coerce")
    return parsed.dt.year.astype("Int64")
