"""A reader for ratings files that are not in a MovieLens layout.

``read_ratings_file("r.tsv", sep="\\t", columns="user,item,rating,timestamp")`` reads a
file without a header whose columns are in that order (``-`` skips a column). With a
header, the columns are found by name (``userId``/``user_id``/``user``,
``movieId``/``item_id``/``item``/``movie``, ``rating``, ``timestamp``/``time``), or by
the names ``columns`` maps to them (``user=reviewer,item=asin,rating=overall``).
Files compressed with gzip, bzip2, xz or zip (one member) are read as they are, the
format inferred from the name (``.gz``, ``.bz2``, ``.xz``, ``.zip``); a UTF-8 byte-order
mark is ignored.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from recsys.data.schema import make_ratings, validate_ratings
from recsys.errors import DataError, InvalidParameterError

__all__ = [
    "COMPRESSIONS",
    "parse_column_map",
    "parse_columns",
    "ratings_frame",
    "read_ratings_file",
    "text_ids",
]

#: File-name endings read as compressed files, and their format.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip"}

_ALIASES = {
    "user": "user_id",
    "user_id": "user_id",
    "userid": "user_id",
    "uid": "user_id",
    "item": "movie_id",
    "item_id": "movie_id",
    "itemid": "movie_id",
    "movie": "movie_id",
    "movie_id": "movie_id",
    "movieid": "movie_id",
    "iid": "movie_id",
    "rating": "rating",
    "score": "rating",
    "stars": "rating",
    "timestamp": "timestamp",
    "time": "timestamp",
    "ts": "timestamp",
}
_REQUIRED = ("user_id", "movie_id", "rating")


def parse_columns(spec: str) -> list[str | None]:
    """Parse ``"user,item,rating,-,timestamp"`` into canonical names (``None`` = skip).

    Raises
    ------
    DataError
        On an unknown name or when user, item or rating is missing.

    Examples
    --------
    >>> parse_columns("user,item,rating,-")
    ['user_id', 'movie_id', 'rating', None]
    """
    names: list[str | None] = []
    for raw in spec.split(","):
        key = raw.strip().lower()
        if key in ("-", ""):
            names.append(None)
        elif key in _ALIASES:
            names.append(_ALIASES[key])
        else:
            raise InvalidParameterError(
                "columns",
                f"columns={spec!r}: unknown column name {raw!r}; use user, item, rating, "
                "timestamp or - to skip a column (e.g. user,item,rating,timestamp).",
            )
    for need in _REQUIRED:
        if need not in names:
            raise InvalidParameterError(
                "columns",
                f"columns={spec!r} has no {need.split('_')[0]} column; "
                "name at least user, item and rating.",
            )
    if len([n for n in names if n]) != len({n for n in names if n}):
        raise InvalidParameterError("columns", f"columns={spec!r} names a column twice.")
    return names


def parse_column_map(spec: str) -> dict[str, str]:
    """Parse ``"user=userId,item=movieId,rating=stars,timestamp=ts"``: canonical name
    to the header's column name.

    Raises
    ------
    InvalidParameterError
        On an unknown role, a role given twice, an empty header name, or when user,
        item or rating is missing.

    Examples
    --------
    >>> parse_column_map("user=reviewer, item=asin, rating=overall")
    {'user_id': 'reviewer', 'movie_id': 'asin', 'rating': 'overall'}
    """
    mapping: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        role, equals, name = part.partition("=")
        key = _ALIASES.get(role.strip().lower())
        if not equals or key is None or not name.strip():
            raise InvalidParameterError(
                "columns",
                f"columns={spec!r}: {part.strip()!r} is not ROLE=HEADER_NAME with ROLE one "
                "of user, item, rating, timestamp (e.g. user=userId,item=movieId,rating=stars).",
            )
        if key in mapping:
            raise InvalidParameterError("columns", f"columns={spec!r} names {role.strip()} twice.")
        mapping[key] = name.strip()
    absent = [n.split("_")[0] for n in _REQUIRED if n not in mapping]
    if absent:
        raise InvalidParameterError(
            "columns",
            f"columns={spec!r} has no {' or '.join(absent)} column; map at least user, item "
            "and rating (e.g. user=userId,item=movieId,rating=stars).",
        )
    return mapping


def ratings_frame(
    frame: pd.DataFrame,
    *,
    user: str | None = None,
    item: str | None = None,
    rating: str | None = None,
    timestamp: str | None = None,
) -> pd.DataFrame:
    """A pandas DataFrame of ratings in the canonical form the models take
    (``user_id, movie_id, rating[, timestamp]``, compact dtypes).

    Columns not named are found by their usual names, as in a file's header
    (``userId``/``user``, ``movieId``/``item``/``item_id``, ``rating``/``stars``,
    ``timestamp``/``ts``; any case), so ``ratings_frame(pd.read_csv("ratings.csv"))``
    reads a MovieLens file as it is. Other columns are left out. Ids are integers, or
    strings (``"tt0111161"``, user names) kept as they are; number them for a model
    with :func:`recsys.data.load_ratings_frame`, which also drops duplicate pairs.

    Parameters
    ----------
    frame : shape (n, k), one row per rating.
    user, item, rating, timestamp : the names of those columns in ``frame``.

    Returns
    -------
    DataFrame, shape (n, 3 or 4).

    Raises
    ------
    InvalidParameterError
        If a named column is absent, or user, item or rating cannot be found (the
        message lists the frame's columns).
    DataError
        On missing or non-finite ratings.

    Examples
    --------
    >>> raw = pd.DataFrame({"reviewer": [1, 2], "asin": [7, 7], "overall": [5.0, 3.0]})
    >>> ratings_frame(raw, user="reviewer", item="asin", rating="overall")
       user_id  movie_id  rating
    0        1         7     5.0
    1        2         7     3.0
    """
    given = {"user_id": user, "movie_id": item, "rating": rating, "timestamp": timestamp}
    found: dict[str, Any] = {}
    for role, name in given.items():
        parameter = {"user_id": "user", "movie_id": "item"}.get(role, role)
        if name is not None:
            if name not in frame.columns:
                raise InvalidParameterError(
                    parameter,
                    f"{parameter}={name!r} is not a column of the frame, which has: "
                    f"{', '.join(map(str, frame.columns))}.",
                )
            found[role] = name
            continue
        for column in frame.columns:
            if _ALIASES.get(str(column).strip().lower()) == role:
                found[role] = column
                break
    absent = [r for r in _REQUIRED if r not in found]
    if absent:
        names = ", ".join({"user_id": "user", "movie_id": "item"}.get(a, a) for a in absent)
        raise InvalidParameterError(
            {"user_id": "user", "movie_id": "item"}.get(absent[0], absent[0]),
            f"the ratings frame has no {names} column (it has: "
            f"{', '.join(map(str, frame.columns))}); name them with "
            "recsys.data.ratings_frame(frame, user=..., item=..., rating=...).",
        )
    ids = {}
    for role in ("user_id", "movie_id"):
        column = frame[found[role]]
        label = role.split("_")[0]
        if column.dtype.kind in "iu":
            ids[role] = column.to_numpy()
        elif column.dtype.kind in "OUS" or isinstance(column.dtype, pd.StringDtype):
            ids[role] = text_ids(
                column, label, lambda row: f"the ratings frame's row {row}"
            ).to_numpy()
        else:
            raise DataError(
                f"column {found[role]!r} holds {column.dtype} values; {label} ids must be "
                "integers or strings (a float column often means missing ids: drop "
                "those rows and convert it with .astype(int))."
            )
    ratings = make_ratings(
        ids["user_id"],
        ids["movie_id"],
        pd.to_numeric(frame[found["rating"]], errors="coerce").to_numpy(dtype=np.float64),
        frame[found["timestamp"]].to_numpy() if "timestamp" in found else None,
    )
    return validate_ratings(ratings, "the ratings frame")


def _compression(file: Path) -> str | None:
    return COMPRESSIONS.get(file.suffix.lower())


def _open_text(file: Path) -> TextIO:
    """``file`` opened as UTF-8 text (BOM dropped), decompressed by its name's ending.

    Raises
    ------
    DataError
        If a zip archive holds no file or several.
    """
    kind = _compression(file)
    if kind == "gzip":
        return gzip.open(file, "rt", encoding="utf-8-sig", errors="replace")
    if kind == "bzip2":
        return bz2.open(file, "rt", encoding="utf-8-sig", errors="replace")
    if kind == "xz":
        return lzma.open(file, "rt", encoding="utf-8-sig", errors="replace")
    if kind == "zip":
        archive = zipfile.ZipFile(file)
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) != 1:
            archive.close()
            raise DataError(
                f"{str(file)!r} holds {len(members)} files; a zipped ratings file must "
                "hold exactly one (unzip it and give the ratings file)."
            )
        raw = archive.open(members[0])
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
    return open(file, encoding="utf-8-sig", errors="replace")


_CORRUPT = (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error, ValueError)


def _corrupt(file: Path, error: BaseException) -> DataError:
    kind = _compression(file)
    return DataError(
        f"{str(file)!r} is not a valid {kind} file ({type(error).__name__}: "
        f"{str(error)[:120]}); check that it was downloaded completely, or rename it if "
        "it is not compressed."
    )


def read_ratings_file(
    path: str | os.PathLike[str],
    *,
    sep: str = ",",
    columns: str | None = None,
) -> pd.DataFrame:
    """Read a delimited ratings file into the canonical ratings frame.

    Parameters
    ----------
    path : path of the file.
    sep : the field separator (``","``, ``"\\t"``, ``"::"``, ``";"`` ...).
    columns : the file's columns in order, for files without a header
        (see :func:`parse_columns`; a header line, if present, is skipped), or, for a
        file with a header, ``ROLE=NAME`` pairs naming its columns
        (``user=userId,item=movieId,rating=stars,timestamp=ts``, see
        :func:`parse_column_map`).

    Raises
    ------
    DataError
        Missing, empty or corrupt file, wrong separator, missing column, non-numeric
        or missing rating, non-integer id.
    """
    file = Path(path).expanduser()
    if file.is_dir():
        raise DataError(
            f"{str(file)!r} is a folder, not a ratings file; give the file (a MovieLens "
            "folder is read as a dataset, not as a ratings file)."
        )
    if not file.is_file():
        raise DataError(f"no such ratings file: {str(file)!r}.")
    sep = _unescape(sep)
    if not sep:
        raise InvalidParameterError(
            "sep", "sep is empty; give the field separator, e.g. ',' or '\\t' for tabs."
        )
    try:
        first = _first_line(file)
    except DataError:
        raise
    except _CORRUPT as error:
        if _compression(file) is None:
            raise
        raise _corrupt(file, error) from None
    if first is None:
        raise DataError(f"{str(file)!r} is empty: it has no ratings.")
    fields = first.split(sep)
    header_names = [_ALIASES.get(f.strip().strip('"').lower()) for f in fields]
    if columns is None and any(header_names):
        absent = [n.split("_")[0] for n in _REQUIRED if n not in header_names]
        if absent:
            raise DataError(
                f"{str(file)!r}: the header {first.strip()!r} has no "
                f"{' or '.join(absent)} column; a ratings file needs user, item "
                "and rating columns."
            )
    if len(fields) < 3:
        hint = next((s for s in (",", "\t", ";", "::", "|", " ") if s != sep and s in first), None)
        raise InvalidParameterError(
            "sep",
            f"{str(file)!r}: the first line has {len(fields)} field(s) when split on {sep!r}"
            + (
                f"; it looks separated by {hint!r}: use that separator."
                if hint
                else "; give the separator the file uses."
            ),
        )
    if columns is not None and "=" in columns:
        mapping = parse_column_map(columns)
        header = [f.strip().strip('"') for f in fields]
        names = []
        for field in header:
            role = next((r for r, n in mapping.items() if n == field), None)
            if role is None:  # a case-insensitive match when no exact one
                role = next((r for r, n in mapping.items() if n.lower() == field.lower()), None)
            names.append(role)
        unknown = [n for r, n in mapping.items() if r not in names]
        if unknown:
            raise InvalidParameterError(
                "columns",
                f"columns={columns!r}: {', '.join(repr(u) for u in unknown)} not in the "
                f"header of {str(file)!r}, which has: {', '.join(header)}.",
            )
        has_header = True
    elif columns is not None:
        names = parse_columns(columns)
        if len(names) != len(fields):
            raise InvalidParameterError(
                "columns",
                f"columns={columns!r} names {len(names)} column(s) but {str(file)!r} has "
                f"{len(fields)} field(s) per line (split on {sep!r}).",
            )
        rating_at = names.index("rating")
        has_header = not _is_number(fields[rating_at])
    else:
        mapped = header_names
        if not all(n in mapped for n in _REQUIRED):
            raise DataError(
                f"{str(file)!r}: the header {first.strip()!r} does not name user, item and "
                "rating columns; for a file without a header give the columns in order, "
                "e.g. user,item,rating[,timestamp] (- skips a column).",
                parameter="columns",
            )
        names, has_header = mapped, True
    wanted = [i for i, n in enumerate(names) if n]
    options: dict[str, Any] = dict(  # read_csv keyword arguments, of several types
        sep=sep,
        header=None,
        skiprows=1 if has_header else 0,
        usecols=wanted,
        names=list(range(len(names))),
        engine="python" if len(sep) > 1 else "c",
        skip_blank_lines=True,
        encoding="utf-8-sig",
        compression="infer",
    )
    id_columns = [i for i in wanted if names[i] in ("user_id", "movie_id")]
    text_columns = _text_id_columns(file, id_columns, options)
    try:
        raw = _read_typed(file, names, wanted, text_columns, options)
    except (ValueError, TypeError, OverflowError, pd.errors.ParserError) as error:
        if set(text_columns) != set(id_columns):
            # an id past the sampled rows is not an integer: read every id as text
            try:
                raw = _read_typed(file, names, wanted, id_columns, options)
                text_columns = id_columns
            except (ValueError, TypeError, OverflowError, pd.errors.ParserError):
                raw = None
        else:
            raw = None
        if raw is None:
            try:
                _diagnose(file, names, wanted, has_header, options)
            except (EOFError, zipfile.BadZipFile, lzma.LZMAError, OSError, zlib.error) as bad:
                if _compression(file) is None:
                    raise
                raise _corrupt(file, bad) from None
            raise DataError(
                f"{str(file)!r} could not be read as ratings ({type(error).__name__}: "
                f"{str(error)[:200]}); check the separator, the columns and the values."
            ) from None
    if raw.empty:
        raise DataError(f"{str(file)!r} has a header but no ratings.")
    for index in text_columns:
        raw[index] = text_ids(
            raw[index],
            str(names[index]).split("_")[0],
            lambda row: f"{str(file)!r} line {row + 1 + int(has_header)}",
        )
    values = {names[i]: raw[i].to_numpy() for i in wanted}
    frame = make_ratings(
        values["user_id"], values["movie_id"], values["rating"], values.get("timestamp")
    )
    return validate_ratings(frame, str(file))


#: How many rows :func:`_text_id_columns` looks at to decide that ids are strings.
SAMPLE_ROWS = 1000
#: An integer written plainly: no sign but ``-``, no leading zero, no spaces.
PLAIN_INTEGER = r"-?(?:0|[1-9][0-9]*)"


def _text_id_columns(file: Path, id_columns: list[int], options: dict[str, Any]) -> list[int]:
    """The id columns to read as text: those whose first :data:`SAMPLE_ROWS` values are
    not all plainly written integers (``tt0111161``, ``0195153448``: a leading zero
    would be lost as a number). Later rows that are not integers are caught by the
    typed read, which is then redone with every id column as text."""
    if not id_columns:
        return []
    try:
        sample = pd.read_csv(
            file, dtype=str, keep_default_na=False, **{**options, "nrows": SAMPLE_ROWS}
        )
    except (ValueError, TypeError, OverflowError, pd.errors.ParserError, *_CORRUPT):
        return []  # the typed read will say what is wrong
    return [i for i in id_columns if not sample[i].str.strip().str.fullmatch(PLAIN_INTEGER).all()]


def _read_typed(
    file: Path,
    names: list[str | None],
    wanted: list[int],
    text_columns: list[int],
    options: dict[str, Any],
) -> pd.DataFrame:
    """``read_csv`` with ratings as float32, ids in ``text_columns`` as text, the others int64."""
    dtypes: dict[int, Any] = {
        i: (np.float32 if names[i] == "rating" else str if i in text_columns else np.int64)
        for i in wanted
    }
    try:
        return pd.read_csv(file, dtype=dtypes, **options)
    except (EOFError, zipfile.BadZipFile, lzma.LZMAError, OSError, zlib.error) as error:
        if _compression(file) is None:
            raise
        raise _corrupt(file, error) from None


def text_ids(column: pd.Series, label: str, where: Callable[[int], str]) -> pd.Series:
    """Ids that are not (all) integers, as read from a file or a DataFrame column:
    stripped, refused when empty, and turned into int64 when every value is a plainly
    written integer (``"042"`` is not one: a zero-padded code keeps its zero).

    Parameters
    ----------
    column : shape (n,), the ids (strings, or a mix of strings and numbers).
    label : ``"user"`` or ``"movie"``, for messages.
    where : names row ``i`` (0-based) for messages: a file line, a frame row.

    Returns
    -------
    Series, shape (n,): int64, or stripped strings.

    Raises
    ------
    DataError
        On an empty id, an integer that does not fit 64 bits, or a column of decimal
        numbers (``2.5``: most likely columns in the wrong order).

    Examples
    --------
    >>> text_ids(pd.Series([" 7", "12"]), "user", str).dtype
    dtype('int64')
    >>> text_ids(pd.Series(["0195153448", "tt01"]), "movie", str).tolist()
    ['0195153448', 'tt01']
    >>> text_ids(pd.Series(["0042", "0007"]), "movie", str).tolist()
    ['0042', '0007']
    """
    missing = column.isna().to_numpy()
    text = column.astype(str).str.strip()
    empty = missing | (text == "").to_numpy()  # already stripped: no second pass
    if empty.any():
        raise DataError(
            f"{where(int(np.flatnonzero(empty)[0]))}: the {label} id is empty "
            f"({int(empty.sum())} such row(s)); every rating needs a {label} id: fill or "
            "remove those rows."
        )
    uniques = pd.Series(pd.unique(text), dtype=object)
    if uniques.str.fullmatch(PLAIN_INTEGER).all():
        too_big = [v for v in uniques if len(v) > 18 and abs(int(v)) >= 2**63]
        if not too_big:
            return text.astype(np.int64)
        bad = text.isin(too_big).to_numpy()
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where(row)}: {label} value {text.iloc[row]!r} does not fit a 64-bit integer "
            f"({int(bad.sum())} such row(s)); fix or remove those rows."
        )
    decimals = uniques[~uniques.str.fullmatch(r"-?[0-9]+")]
    if len(decimals) and pd.to_numeric(uniques, errors="coerce").notna().all():
        # every id is a number and some are not integers: a column mix-up (zero-padded
        # integer codes such as ISBNs are string ids)
        bad = text.isin(decimals).to_numpy()
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where(row)}: {label} value {text.iloc[row]!r} is not an integer "
            f"({int(bad.sum())} such row(s)); ids are integers or strings that are not "
            "decimal numbers: check the column order, or fix those rows."
        )
    return text  # string ids (zero-padded codes such as ISBNs keep their zeros)


def _diagnose(
    file: Path,
    names: list[str | None],
    wanted: list[int],
    has_header: bool,
    options: dict[str, Any],
) -> None:
    """Re-read ``file`` as text to say which row broke the typed read, then raise."""
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, **options)
    except pd.errors.ParserError as error:
        raise DataError(
            f"{str(file)!r}: rows have different numbers of fields ({error}); check the separator.",
            parameter="sep",
        ) from None
    for index in wanted:
        label = str(names[index]).split("_")[0]
        text = raw[index].str.strip()
        column = pd.to_numeric(text, errors="coerce")
        if names[index] in ("user_id", "movie_id"):
            continue  # any text is a valid id (string ids); only the numbers can break
        bad = column.isna().to_numpy().copy()
        if names[index] != "rating":
            bad |= ~np.isclose(np.mod(column.fillna(0).to_numpy(dtype=float), 1), 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{str(file)!r} line {row + 1 + int(has_header)}: {label} value "
                f"{raw[index].iloc[row]!r} is not "
                f"{'a number' if names[index] == 'rating' else 'an integer'} "
                f"({int(bad.sum())} such row(s)); fix or remove those rows, "
                "or check the separator and the column order."
            )
        if names[index] == "timestamp":
            huge = np.abs(column.to_numpy(dtype=float)) >= 2.0**63
            if huge.any():
                row = int(np.flatnonzero(huge)[0])
                raise DataError(
                    f"{str(file)!r} line {row + 1 + int(has_header)}: {label} value "
                    f"{raw[index].iloc[row]!r} does not fit a 64-bit integer "
                    f"({int(huge.sum())} such row(s)); fix or remove those rows."
                )


def _unescape(sep: str) -> str:
    """``sep`` with backslash escapes (``\\t``) decoded.

    Raises
    ------
    InvalidParameterError
        If an escape is malformed (``\\x`` without two hex digits).
    """
    if "\\" not in sep:
        return sep
    try:
        return sep.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as error:
        raise InvalidParameterError(
            "sep",
            f"sep={sep!r} has a malformed escape ({error.reason}); give the separator "
            "itself, or an escape such as '\\t' for a tab or '\\x1f' for byte 0x1f.",
        ) from None


def _first_line(file: Path) -> str | None:
    with _open_text(file) as handle:
        for line in handle:
            if line.strip():
                return line.rstrip("\r\n")
    return None


def _is_number(text: str) -> bool:
    try:
        float(text.strip().strip('"'))
    except ValueError:
        return False
    return True
