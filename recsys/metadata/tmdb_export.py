"""TMDB's own CSV layout, genre lists as JSON, and TMDB ids matched through links only.

A TMDB export (TMDB's CSV layout, and the Kaggle "TMDB 5000" dumps made from it) keys
each row by the **TMDB id** in a column named ``id`` and holds its genres as a list of
``{"id", "name"}`` objects, in JSON (``[{"id": 878, "name": "Science Fiction"}]``) or
in the Python form those dumps use (``[{'id': 878, 'name': 'Science Fiction'}]``).
Its other columns have TMDB's meaning: ``status`` is the release status
(``"Released"``), not the store's fetch status, so it is read as ``tmdb_status``.

Id namespaces
    A TMDB id and a MovieLens movie id are different numbers for different things:
    TMDB id 11 is *Star Wars*, MovieLens movie 11 is *The American President*. A TMDB
    id is matched to a MovieLens movie only through a links table (MovieLens
    ``links.csv``: ``movieId, tmdbId``), never because the two integers are equal; a
    TMDB id the table does not list has no MovieLens movie (:func:`link_tmdb_ids`).

The export frame (:func:`read_tmdb_export`)
    One row per TMDB id, sorted by it: ``tmdb_id`` (int64) and the TMDB fields of the
    canonical metadata frame (:mod:`recsys.metadata.frame`): ``imdb_id``, ``title``,
    ``original_title``, ``overview``, ``tagline``, ``genre_ids``, ``tmdb_genres``
    (TMDB's names, kept as TMDB writes them), ``release_date``, ``original_language``,
    ``runtime``, ``popularity``, ``vote_average``, ``vote_count``, ``poster_path``,
    plus ``tmdb_status``. Other columns of the file are not read.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from recsys.data.schema import parse_genres
from recsys.errors import DataError, InvalidParameterError
from recsys.metadata.frame import TMDB_FIELDS
from recsys.metadata.genres import MOVIELENS_GENRES, TMDB_MOVIE_GENRES

__all__ = [
    "EXPORT_COLUMNS",
    "GenreColumn",
    "is_tmdb_export",
    "is_tmdb_export_file",
    "link_tmdb_ids",
    "parse_genre_column",
    "read_tmdb_export",
]

#: Columns of the frame :func:`read_tmdb_export` returns.
EXPORT_COLUMNS = ("tmdb_id", *TMDB_FIELDS, "tmdb_status")
_TEXT = ("imdb_id", "title", "original_title", "release_date", "original_language", "poster_path")
_PLAIN_TEXT = ("overview", "tagline")
_TMDB_NAME_TO_ID = {name: genre_id for genre_id, name in TMDB_MOVIE_GENRES.items()}
_MOVIE_ID_COLUMNS = ("movieId", "movie_id")
_FORMS = (
    'genre names separated by | ("Action|Science Fiction") or a JSON list of '
    '{"id", "name"} objects ([{"id": 28, "name": "Action"}])'
)

#: What a ``genres`` column holds: ``kind`` is ``"movielens"`` (MovieLens names),
#: ``"tmdb"`` (TMDB names or ``{"id", "name"}`` lists) or ``None`` (no genres at all);
#: ``ids`` and ``names`` have one tuple per row (``ids`` empty unless the lists gave them).
GenreColumn = tuple[
    Literal["movielens", "tmdb"] | None, list[tuple[int, ...]], list[tuple[str, ...]]
]


def is_tmdb_export(columns: Iterable[str]) -> bool:
    """Whether a CSV header is TMDB's layout: an ``id`` column and no MovieLens movie id.

    >>> is_tmdb_export(["id", "title", "genres"]), is_tmdb_export(["movieId", "id"])
    (True, False)
    """
    names = set(columns)
    return "id" in names and not names & set(_MOVIE_ID_COLUMNS)


def is_tmdb_export_file(path: str | os.PathLike[str]) -> bool:
    """Whether the header of the CSV at ``path`` is TMDB's layout (see :func:`is_tmdb_export`).

    A file that cannot be read as CSV is not (its reader says what is wrong).
    """
    try:
        header = pd.read_csv(Path(path).expanduser(), nrows=0, dtype=str, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return False
    return is_tmdb_export(header.columns)


def _genre_list(text: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Ids and names of one ``[{"id": .., "name": ..}, ...]`` cell (JSON or Python form).

    Raises ValueError when the cell is not such a list.
    """
    try:
        value = json.loads(text)
    except ValueError:
        # Kaggle's TMDB dumps write Python reprs (single quotes); literal_eval reads
        # literals only, never runs code.
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ValueError("not JSON") from None
    if not isinstance(value, list):
        raise ValueError("not a list")
    ids: list[int] = []
    names: list[str] = []
    for item in value:
        if isinstance(item, str) and item.strip():
            name, genre_id = item.strip(), _TMDB_NAME_TO_ID.get(item.strip())
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            name = item["name"].strip()
            raw_id = item.get("id")
            if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, int)):
                raise ValueError("an id is not a whole number")
            genre_id = raw_id if raw_id is not None else _TMDB_NAME_TO_ID.get(name)
        else:
            raise ValueError("an item is not a {'id', 'name'} object")
        if name and name not in names:
            names.append(name)
            if genre_id is not None:
                ids.append(int(genre_id))
    return tuple(ids), tuple(names)


def parse_genre_column(values: Sequence[str], file: str | os.PathLike[str]) -> GenreColumn:
    """Read a CSV ``genres`` column: ``|``-separated names or ``{"id", "name"}`` lists.

    Cells that start with ``[`` are lists (JSON, or the Python form of Kaggle's TMDB
    dumps): their genres are TMDB's, names kept as written, ids kept. Otherwise the
    column holds names separated by ``|``: MovieLens names (``kind`` ``"movielens"``)
    or TMDB names (``"tmdb"``, ids from :data:`recsys.metadata.genres.TMDB_MOVIE_GENRES`).
    Empty cells and ``(no genres listed)`` give no genre.

    Parameters
    ----------
    values : the column's cells, as text (``""`` when empty).
    file : the file, for the messages.

    Returns
    -------
    GenreColumn
        ``(kind, ids, names)``: ``ids`` and ``names`` have one tuple per cell.

    Raises
    ------
    DataError
        A cell that is neither names nor a list (a broken JSON list, a list of
        something else, names neither all MovieLens nor all TMDB's, or lists mixed
        with names); the message gives the data row and the cell.

    Examples
    --------
    >>> parse_genre_column(['[{"id": 878, "name": "Science Fiction"}]', "[]"], "x.csv")
    ('tmdb', [(878,), ()], [('Science Fiction',), ()])
    >>> parse_genre_column(["[{'id': 36, 'name': 'History'}]"], "x.csv")[2]
    [('History',)]
    >>> parse_genre_column(["Adventure|Children", ""], "x.csv")
    ('movielens', [(), ()], [('Adventure', 'Children'), ()])
    """
    where = str(file)
    cells = [str(v).strip() for v in values]
    listed = [c.startswith("[") for c in cells]
    if any(listed):
        ids: list[tuple[int, ...]] = []
        names: list[tuple[str, ...]] = []
        for row, (cell, is_list) in enumerate(zip(cells, listed, strict=True)):
            if not cell:
                ids.append(())
                names.append(())
                continue
            try:
                if not is_list:
                    raise ValueError("names among lists")
                cell_ids, cell_names = _genre_list(cell)
            except ValueError:
                raise DataError(
                    f"{where!r}: the genres column is neither {_FORMS}: data row "
                    f"{row + 1} has {_clip(cell)!r}; fix that row."
                ) from None
            ids.append(cell_ids)
            names.append(cell_names)
        return "tmdb", ids, names
    names = [parse_genres(c) for c in cells]
    seen = {n for lst in names for n in lst}
    if not seen:
        return None, [() for _ in cells], names
    if seen <= set(MOVIELENS_GENRES):
        return "movielens", [() for _ in cells], names
    if seen <= set(_TMDB_NAME_TO_ID):
        return "tmdb", [tuple(_TMDB_NAME_TO_ID[n] for n in lst) for lst in names], names
    unknown = set(seen) - set(MOVIELENS_GENRES) - set(_TMDB_NAME_TO_ID)
    if unknown:
        row = next(i for i, lst in enumerate(names) if set(lst) & unknown)
        detail = f"data row {row + 1} has {_clip(cells[row])!r}"
    else:
        detail = "the names mix MovieLens' (e.g. Sci-Fi) and TMDB's (e.g. Science Fiction)"
    raise DataError(
        f"{where!r}: the genres column is neither {_FORMS}, with all names MovieLens' "
        f"or all TMDB's: {detail}; fix that row or use movielens_genres / "
        "tmdb_genres columns."
    )


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def read_tmdb_export(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV in TMDB's export layout into the export frame (module docstring).

    Parameters
    ----------
    path : a CSV with ``id`` (TMDB id) and ``title`` columns; ``overview``, ``genres``,
        ``release_date``, ``runtime``, ``vote_average``, ``vote_count``, ``status``
        and TMDB's other columns are read when present.

    Returns
    -------
    DataFrame of shape (n_movies, 16) with :data:`EXPORT_COLUMNS`, sorted by ``tmdb_id``.

    Raises
    ------
    DataError
        An unreadable file, no ``id`` or ``title`` column, an id that is not a whole
        number or appears twice, a number column with text, or a ``genres`` column
        that is neither names nor ``{"id", "name"}`` lists (:func:`parse_genre_column`).

    Examples
    --------
    >>> import tempfile
    >>> csv = Path(tempfile.mkdtemp()) / "tmdb.csv"
    >>> _ = csv.write_text('id,title,genres,status\\n11,Star Wars,'
    ...                    '"[{""id"": 878, ""name"": ""Science Fiction""}]",Released\\n')
    >>> row = read_tmdb_export(csv).iloc[0]
    >>> int(row["tmdb_id"]), row["title"], row["tmdb_genres"], row["tmdb_status"]
    (11, 'Star Wars', ('Science Fiction',), 'Released')
    """
    file = Path(path).expanduser()
    raw = _read_csv(file)
    missing = [c for c in ("id", "title") if c not in raw.columns]
    if missing:
        raise DataError(
            f"{str(file)!r} lacks the {' and '.join(missing)} column(s) of TMDB's export "
            f"layout (id = TMDB id, title, overview, genres, ...); found "
            f"{', '.join(raw.columns) or 'no columns'}."
        )
    ids = pd.to_numeric(raw["id"].str.strip(), errors="coerce")
    bad = ids.isna() | (ids != ids.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{str(file)!r}: TMDB id {raw['id'].iloc[row]!r} on data row {row + 1} is not "
            "a whole number; fix that row."
        )
    if ids.duplicated().any():
        raise DataError(
            f"{str(file)!r}: TMDB id {int(ids[ids.duplicated()].iloc[0])} appears more "
            "than once; each movie needs one row."
        )
    n = len(raw)
    data: dict[str, Any] = {"tmdb_id": ids.astype(np.int64).to_numpy()}
    for column in _TEXT:
        values = raw[column] if column in raw.columns else pd.Series([""] * n)
        data[column] = [v.strip() or None for v in values]
    if data["imdb_id"]:
        data["imdb_id"] = [
            f"tt{int(v):07d}" if v is not None and v.isdigit() else v for v in data["imdb_id"]
        ]
    for column in _PLAIN_TEXT:
        values = raw[column] if column in raw.columns else pd.Series([""] * n)
        data[column] = [v.strip() for v in values]
    if "genres" in raw.columns:
        kind, genre_ids, names = parse_genre_column(raw["genres"].tolist(), file)
        if kind == "movielens":
            # MovieLens names in a TMDB export: the names only TMDB also uses are fine,
            # anything else is not TMDB's.
            only = sorted({g for lst in names for g in lst} - set(_TMDB_NAME_TO_ID))
            if only:
                raise DataError(
                    f"{str(file)!r}: the genres column of a TMDB export holds MovieLens "
                    f"genre names ({', '.join(only[:5])}); give TMDB's genres as "
                    f"{_FORMS}."
                )
            genre_ids = [tuple(_TMDB_NAME_TO_ID[g] for g in lst) for lst in names]
    else:
        genre_ids, names = [() for _ in range(n)], [() for _ in range(n)]
    data["genre_ids"] = pd.Series(genre_ids, dtype=object).to_numpy()
    data["tmdb_genres"] = pd.Series(names, dtype=object).to_numpy()
    movie_ids = data["tmdb_id"]
    for column, kind_ in (
        ("runtime", int),
        ("popularity", float),
        ("vote_average", float),
        ("vote_count", int),
    ):
        values = raw[column] if column in raw.columns else pd.Series([""] * n)
        numbers = [_number(v, file, column, int(m)) for v, m in zip(values, movie_ids, strict=True)]
        if kind_ is int:
            data[column] = pd.array(
                [round(v) if v is not None else None for v in numbers], dtype="Int64"
            )
        else:
            data[column] = np.asarray(
                [v if v is not None else np.nan for v in numbers], dtype=np.float64
            )
    status = raw["status"] if "status" in raw.columns else pd.Series([""] * n)
    data["tmdb_status"] = [v.strip() or None for v in status]
    frame = pd.DataFrame({c: data[c] for c in EXPORT_COLUMNS})
    return frame.sort_values("tmdb_id", kind="stable").reset_index(drop=True)


def _read_csv(file: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(
            f"cannot read {str(file)!r} as a metadata CSV ({type(error).__name__}); "
            "expected TMDB's export layout (id, title, overview, genres, ...)."
        ) from None


def _number(text: str, file: Path, column: str, tmdb_id: int) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{str(file)!r}: {column} {text!r} of TMDB id {tmdb_id} is not a number; fix that row."
        ) from None
    return value if np.isfinite(value) else None


def link_tmdb_ids(
    tmdb_ids: Iterable[int], links: pd.DataFrame, *, source: str = "the links table"
) -> pd.Series:
    """The MovieLens movie of each TMDB id, through a links table only.

    Parameters
    ----------
    tmdb_ids : TMDB ids, shape (n,).
    links : a links table with ``movie_id`` and ``tmdb_id`` columns
        (:func:`recsys.metadata.read_links`, :func:`recsys.metadata.links_from_movies`).
    source : where the table came from, for the messages.

    Returns
    -------
    Series of shape (n,), dtype Int64: the MovieLens movie id, ``<NA>`` for a TMDB id
    the table does not list (never the movie whose id equals the TMDB id).

    Raises
    ------
    InvalidParameterError
        (``parameter="links"``) if the table lacks the columns, or links one of
        ``tmdb_ids`` to two MovieLens movies (both are named).

    Examples
    --------
    >>> links = pd.DataFrame({"movie_id": [260, 11], "tmdb_id": [11, 9087]})
    >>> link_tmdb_ids([11, 2], links).tolist()
    [260, <NA>]
    """
    missing = [c for c in ("movie_id", "tmdb_id") if c not in links.columns]
    if missing:
        raise InvalidParameterError(
            "links",
            f"{source} has no {', '.join(missing)} column; expected a MovieLens links "
            "table (movieId, tmdbId).",
        )
    wanted = pd.Series(list(tmdb_ids), dtype="Int64")
    table = pd.DataFrame(
        {
            "movie_id": pd.array(links["movie_id"], dtype="Int64"),
            "tmdb_id": pd.array(pd.to_numeric(links["tmdb_id"], errors="coerce"), dtype="Int64"),
        }
    ).dropna()
    table = table[table["tmdb_id"].isin(wanted)]
    twice = table[table["tmdb_id"].duplicated(keep=False)].sort_values(["tmdb_id", "movie_id"])
    if len(twice):
        tmdb_id = int(twice["tmdb_id"].iloc[0])
        movies = [int(m) for m in twice.loc[twice["tmdb_id"] == tmdb_id, "movie_id"]]
        raise InvalidParameterError(
            "links",
            f"{source} links TMDB id {tmdb_id} to {len(movies)} MovieLens movies "
            f"({' and '.join(map(str, movies))}), so the TMDB movie cannot be matched; "
            "keep one of those rows in a copy of the table and use that copy.",
        )
    mapping = dict(zip(table["tmdb_id"].astype(int), table["movie_id"].astype(int), strict=True))
    return pd.Series([mapping.get(int(t)) for t in wanted], dtype="Int64")
