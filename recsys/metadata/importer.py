"""Bring existing metadata into the store: a metadata CSV and a folder of posters.

Offline users (and tests) get the same store an online fetch builds. Accepted CSVs:

- the shared ``movies_enriched.csv`` layout: ``movieId, title, genres, imdbId, tmdbId,
  overview, tagline, runtime, tmdb_rating`` (``genres`` holds MovieLens or TMDB genre
  names separated by ``|``, or TMDB's ``{"id", "name"}`` lists);
- TMDB's export layout (``id`` = TMDB id, ``title``, ``overview``, ``genres`` as
  ``{"id", "name"}`` lists, ``status``, ...; see :mod:`recsys.metadata.tmdb_export`):
  the store is keyed by MovieLens movie id, so its rows are matched to MovieLens movies
  through a links table (never by equal numbers) and TMDB ids the table does not list
  are left out and counted;
- this package's own export (:func:`recsys.metadata.export.write_metadata_csv`), with
  the canonical column names and ``|``-separated lists.

Bookkeeping columns (``status``, ``detail``, ``source``, ``updated_at``) are read only
from this package's own export (which has all of them); in any other file a column of
that name is the user's (TMDB's ``status`` is a release status such as ``Released``)
and never sets the store's.

Posters are ``<movieId>.jpg`` files in one folder; only files in that folder are read.
With a posters index (``movieId, path, sha256, ...``: given, or ``posters_index.csv`` in
the folder or in its parent), each entry's file is looked up in the folder by the file
name of its ``path`` and must match its SHA-256; an entry whose file is not in the
folder counts as missing. Every poster must also decode as an image
(see :func:`attach_posters`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from recsys.data.schema import parse_genres
from recsys.errors import DataError, InvalidParameterError
from recsys.metadata.frame import LIST_COLUMNS, METADATA_COLUMNS, STATUSES, make_frame
from recsys.metadata.posters import (
    PosterError,
    check_image,
    remove_stale_parts,
    sha256_file,
    write_poster,
)
from recsys.metadata.store import MetadataStore
from recsys.metadata.tmdb_export import (
    EXPORT_COLUMNS,
    is_tmdb_export,
    link_tmdb_ids,
    parse_genre_column,
    read_tmdb_export,
)
from recsys.progress import Progress

__all__ = ["ImportReport", "attach_posters", "import_metadata", "read_metadata_csv"]

_ALIASES = {
    "movieId": "movie_id",
    "tmdbId": "tmdb_id",
    "imdbId": "imdb_id",
    "tmdb_rating": "vote_average",
}
#: Columns read only from this package's own export (which writes all of them).
_BOOKKEEPING = ("status", "detail", "source", "updated_at")
_DATA_COLUMNS = (
    "overview",
    "tagline",
    "runtime",
    "vote_average",
    "release_date",
    "genre_ids",
    "popularity",
)
_POSTER_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


@dataclass
class ImportReport:
    """What :func:`import_metadata` did."""

    rows: int = 0
    poster_only: int = 0
    written: int = 0
    kept: int = 0
    posters: int = 0
    posters_rejected: int = 0
    posters_missing: int = 0
    unlinked: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the terminal."""
        text = (
            f"imported {self.written} movies ({self.rows} rows of the CSV, "
            f"{self.poster_only} with a poster only), {self.posters} posters in "
            f"{self.seconds:.1f}s"
        )
        if self.unlinked:
            text += (
                f"; left out {self.unlinked} TMDB ids the links table does not list (the "
                "store is keyed by MovieLens movie id)"
            )
        if self.kept:
            text += f"; kept {self.kept} movies already fetched (--overwrite replaces them)"
        if self.posters_rejected:
            text += f"; rejected {self.posters_rejected} posters (see 'detail' in the store)"
        if self.posters_missing:
            text += (
                f"; {self.posters_missing} movies listed in the posters index have no "
                "poster in the posters folder"
            )
        return text


def _blank(value: str) -> str | None:
    return value if value.strip() else None


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split("|") if v.strip())


def read_metadata_csv(
    path: str | os.PathLike[str],
    *,
    links: pd.DataFrame | None = None,
    links_source: str = "the links table",
) -> pd.DataFrame:
    """Read a metadata CSV into the canonical frame (:mod:`recsys.metadata.frame`).

    A ``genres`` column is read as MovieLens genres (``movielens_genres``) when its
    names are MovieLens', as TMDB genres (names and ids) when they are TMDB's or when
    it holds ``{"id", "name"}`` lists (JSON, or the Python form of Kaggle's TMDB dumps;
    see :func:`recsys.metadata.tmdb_export.parse_genre_column`); TMDB genres are never
    invented from MovieLens ones. ``tmdb_rating`` becomes ``vote_average``. Rows with
    a TMDB id and any TMDB field get status ``ok``, the others ``missing``.

    A CSV in TMDB's export layout (an ``id`` column of TMDB ids, no movie id) is
    matched to MovieLens movies through ``links`` only; its TMDB ids the table does not
    list are left out (:func:`import_metadata` counts them).

    Parameters
    ----------
    path : the CSV.
    links : a links table (``movie_id``, ``tmdb_id``: :func:`recsys.metadata.read_links`
        or :func:`recsys.metadata.links_from_movies`); needed for TMDB's export layout,
        not used otherwise (movie ids are already MovieLens').
    links_source : where ``links`` came from, for the messages.

    Returns
    -------
    DataFrame of shape (n_movies, 24): the canonical frame, sorted by ``movie_id``.

    Raises
    ------
    DataError
        No ``movieId``/``movie_id`` column (nor TMDB's ``id``), non-numeric or
        repeated movie ids, a ``genres`` column that is neither names nor
        ``{"id", "name"}`` lists, TMDB's layout without ``title`` or without
        ``links`` (``parameter="links"``), or ``links`` linking one of its TMDB ids to
        two movies.
    """
    return _read_csv(Path(path).expanduser(), links, links_source)[0]


def _read_csv(
    file: Path, links: pd.DataFrame | None, links_source: str
) -> tuple[pd.DataFrame, int]:
    """The canonical frame of a metadata CSV, and how many TMDB ids had no link."""
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(
            f"cannot read {str(file)!r} as a metadata CSV "
            f"({type(error).__name__}); expected columns like movieId, tmdbId, "
            "title, overview, genres."
        ) from None
    if is_tmdb_export(raw.columns):
        return _from_tmdb_export(file, links, links_source)
    raw = raw.rename(columns={k: v for k, v in _ALIASES.items() if k in raw.columns})
    if "movie_id" not in raw.columns:
        raise DataError(
            f"{str(file)!r} has no movieId (or movie_id) column, nor the id column of "
            f"TMDB's export layout; found {', '.join(raw.columns) or 'no columns'}."
        )
    own_export = set(_BOOKKEEPING) <= set(raw.columns)
    ids = pd.to_numeric(raw["movie_id"], errors="coerce")
    if ids.isna().any():
        bad_row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise DataError(
            f"{str(file)!r}: movie id {raw['movie_id'].iloc[bad_row]!r} on data row "
            f"{bad_row + 1} is not a number; fix that row."
        )
    if ids.duplicated().any():
        raise DataError(
            f"{str(file)!r}: movie id {int(ids[ids.duplicated()].iloc[0])} "
            "appears more than once; each movie needs one row."
        )
    genre_column, genre_ids, genre_lists = _genre_column(raw, file)
    source = f"import:{file.name}"
    rows: list[dict[str, Any]] = []
    for i, record in enumerate(raw.to_dict("records")):
        row: dict[str, Any] = {
            c: _blank(record[c])
            for c in METADATA_COLUMNS
            if c in record and c not in LIST_COLUMNS and (own_export or c not in _BOOKKEEPING)
        }
        row["movie_id"] = int(float(record["movie_id"]))
        for column in ("tmdb_id", "runtime", "vote_count"):
            if row.get(column) is not None:
                row[column] = _number(row[column], file, column, row["movie_id"], int)
        for column in ("popularity", "vote_average"):
            if row.get(column) is not None:
                row[column] = _number(row[column], file, column, row["movie_id"], float)
        if row.get("imdb_id") is not None:
            text = row["imdb_id"].strip()
            row["imdb_id"] = f"tt{int(text):07d}" if text.isdigit() else text
        for column in LIST_COLUMNS:
            if column in record:
                row[column] = _split(record[column])
        if genre_column is not None:
            row[genre_column] = genre_lists[i]
            if genre_column == "tmdb_genres" and not row.get("genre_ids"):
                row["genre_ids"] = genre_ids[i]
        row["genre_ids"] = tuple(int(float(g)) for g in row.get("genre_ids") or ())
        if row.get("poster_file") and not Path(row["poster_file"]).is_absolute():
            row["poster_file"] = str((file.parent / row["poster_file"]).absolute())
        _set_status(row, record if own_export else {}, source)
        rows.append(row)
    return make_frame(rows), 0


def _from_tmdb_export(
    file: Path, links: pd.DataFrame | None, links_source: str
) -> tuple[pd.DataFrame, int]:
    """Canonical rows of the linked movies of a TMDB export, and the unlinked count."""
    export = read_tmdb_export(file)
    if links is None:
        raise InvalidParameterError(
            "links",
            f"{str(file)!r} is in TMDB's export layout: its id column holds TMDB ids, "
            "which are matched to MovieLens movies through a links table only (MovieLens "
            "links.csv: movieId, tmdbId), never by equal numbers; give the links table.",
        )
    movie_ids = link_tmdb_ids(export["tmdb_id"], links, source=links_source)
    source = f"import:{file.name}"
    rows: list[dict[str, Any]] = []
    columns = [c for c in EXPORT_COLUMNS if c in METADATA_COLUMNS]
    for record, movie_id in zip(export.to_dict("records"), movie_ids, strict=True):
        if movie_id is pd.NA:
            continue
        row = {c: record[c] for c in columns}
        row["movie_id"] = int(movie_id)
        _set_status(row, {}, source)
        rows.append(row)
    frame = make_frame(rows)
    return frame, int(movie_ids.isna().sum())


def _number(text: str, file: Path, column: str, movie_id: int, kind: type) -> Any:
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{str(file)!r}: {column} {text!r} of movie {movie_id} is not a number; fix that row."
        ) from None
    if not np.isfinite(value):
        return None
    return round(value) if kind is int else value


def _genre_column(
    raw: pd.DataFrame, file: Path
) -> tuple[str | None, list[tuple[int, ...]], list[tuple[str, ...]]]:
    """Which canonical column a ``genres`` column feeds, and its ids and names per row."""
    if "genres" not in raw.columns:
        return None, [], []
    kind, ids, names = parse_genre_column(raw["genres"].tolist(), file)
    target = "tmdb_genres" if kind == "tmdb" else "movielens_genres"
    return (target if target not in raw.columns else None), ids, names


def _set_status(row: dict[str, Any], record: Mapping[str, str], source: str) -> None:
    row["source"] = row.get("source") or source
    given = (record.get("status") or "").strip()
    if given:
        if given not in STATUSES:
            raise DataError(
                f"status {given!r} of movie {row['movie_id']} is not one of {', '.join(STATUSES)}."
            )
        row["status"] = given
    elif row.get("tmdb_id") is None:
        row["status"], row["detail"] = "missing", "no TMDB id in the imported CSV"
    elif any(row.get(c) not in (None, "", ()) for c in _DATA_COLUMNS):
        row["status"] = "ok"
    else:
        row["status"], row["detail"] = "missing", "no TMDB data in the imported CSV"


def _find_index(folder: Path) -> Path | None:
    """``posters_index.csv`` in ``folder``, or in its parent when it lists ``folder``'s files.

    An index in the parent describes the folder its ``path`` entries point into (the
    shared layout: ``posters/posters_index.csv`` with ``images/<movieId>.jpg``); it is
    not applied to a sibling folder of other posters.
    """
    own = folder / "posters_index.csv"
    if own.is_file():
        return own
    parent = folder.parent / "posters_index.csv"
    if parent.is_file():
        table = _read_index(parent)
        where = {(parent.parent / p).parent.resolve() for p in table["path"] if p}
        if folder.resolve() in where:
            return parent
    return None


def _read_index(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(
            f"cannot read the posters index {str(path)!r} "
            f"({type(error).__name__}); expected columns movieId, path, "
            "sha256."
        ) from None
    if "movieId" not in table.columns or "path" not in table.columns:
        raise DataError(
            f"{str(path)!r} is not a posters index: expected columns movieId, path, sha256."
        )
    return table


def attach_posters(
    frame: pd.DataFrame,
    posters_dir: str | os.PathLike[str],
    *,
    index: str | os.PathLike[str] | None = None,
    copy_to: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, int, int, int]:
    """Point each movie of ``frame`` at its poster file in ``posters_dir``.

    Only files in ``posters_dir`` are ever read or stored. Without an index, a movie's
    poster is ``<movieId>.jpg`` (or ``.jpeg``, ``.png``, ``.webp``) there and must decode
    completely. An index (``index``, else ``posters_index.csv`` in the folder, or in its
    parent when its paths point into the folder) is a table ``movieId, path, sha256``:
    each entry names its poster by the file name of ``path``, looked up in
    ``posters_dir`` whatever folder ``path`` mentions; that file must match the
    ``sha256`` (then Pillow's structure check suffices: the checksum vouches for the
    bytes) or, without a checksum, decode completely. An entry whose file is not in
    ``posters_dir`` counts as missing (the movie gets no poster); movies the index does
    not list are looked up as without an index. Rejected posters get ``poster_status``
    ``"failed"`` and a ``detail``. Posters of movies the frame lacks are added as rows
    with status ``"missing"`` (no TMDB metadata).

    Parameters
    ----------
    frame : the canonical metadata frame (:func:`read_metadata_csv`).
    posters_dir : the folder of poster files.
    index : a posters index; its entries are resolved inside ``posters_dir``.
    copy_to : copy accepted posters (atomically) into this folder and point there;
        otherwise the store points at the files where they are.

    Returns
    -------
    (frame, accepted, rejected, missing): the frame with poster columns set (and
    poster-only rows added), the counts of accepted and rejected posters, and the
    count of the frame's movies the index lists whose file is not in ``posters_dir``
    (index entries of movies neither in ``frame`` nor in the folder are not counted).

    Raises
    ------
    DataError
        If ``posters_dir`` is not a directory or the index is not a posters index.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "movies.csv").write_text("movieId,title,genres\\n1,Toy Story,Comedy\\n")
    >>> (folder / "images").mkdir()
    >>> Image.new("RGB", (4, 6)).save(folder / "images" / "1.jpg")
    >>> frame, ok, bad, missing = attach_posters(
    ...     read_metadata_csv(folder / "movies.csv"), folder / "images")
    >>> ok, bad, missing, Path(frame.loc[0, "poster_file"]).name
    (1, 0, 0, '1.jpg')
    """
    folder = Path(posters_dir).expanduser().absolute()
    if not folder.is_dir():
        raise DataError(
            f"the posters folder {str(folder)!r} is not a directory; give the "
            "folder holding <movieId>.jpg files."
        )
    index_path = Path(index).expanduser() if index is not None else _find_index(folder)
    expected: dict[int, tuple[Path | None, str | None]] = {}
    described: dict[int, dict[str, Any]] = {}
    if index_path is not None:
        for rec in _read_index(index_path).to_dict("records"):
            name = PurePath(rec["path"].replace("\\", "/")).name if rec["path"] else ""
            expected[int(rec["movieId"])] = (
                folder / name if name else None,
                rec.get("sha256") or None,
            )
            described[int(rec["movieId"])] = rec
    target = Path(copy_to).expanduser().absolute() if copy_to is not None else None
    if target is not None:
        remove_stale_parts(target)  # left by an import or fetch that was killed
    rows = frame.to_dict("records")
    # Posters of movies the CSV does not list still belong to MovieLens movies: keep them,
    # in rows that say there is no TMDB metadata for the movie.
    known = {int(r["movie_id"]) for r in rows}
    on_disk = {
        int(p.stem)
        for p in folder.iterdir()
        if p.stem.isdigit() and p.suffix.lower() in _POSTER_EXTENSIONS
    }
    listed = {m for m, (file, _) in expected.items() if file is not None and file.is_file()}
    for movie_id in sorted((listed | (on_disk - set(expected))) - known):
        rec = described.get(movie_id, {})
        imdb = str(rec.get("imdbId") or "").strip()
        rows.append(
            {
                "movie_id": movie_id,
                "title": rec.get("title") or None,
                "imdb_id": f"tt{int(imdb):07d}" if imdb.isdigit() else None,
                "tmdb_id": int(float(rec["tmdbId"])) if rec.get("tmdbId") else None,
                "movielens_genres": parse_genres(rec.get("genres")),
                "status": "missing",
                "source": frame_source(frame),
                "detail": "poster only: the movie is not in the imported CSV",
            }
        )
    accepted = rejected = missing = 0
    with Progress(len(rows), "import posters", enabled=progress) as bar:
        for row in rows:
            bar.advance()
            movie_id = int(row["movie_id"])
            if movie_id in expected:
                file, sha = expected[movie_id]
                if file is None or not file.is_file():
                    missing += 1
                    continue
            else:
                sha = None
                file = next(
                    (
                        folder / f"{movie_id}{ext}"
                        for ext in _POSTER_EXTENSIONS
                        if (folder / f"{movie_id}{ext}").is_file()
                    ),
                    None,
                )
                if file is None:
                    continue
            problem = None
            try:
                digest = sha256_file(file)
                if sha and digest != sha:
                    problem = f"poster {file.name}: sha256 differs from {index_path}"
                else:  # bytes vouched for by the index: a structure check is enough
                    check_image(file, full=sha is None)
            except PosterError as error:
                problem = f"poster {file.name}: {error}"
            if problem is not None:
                row.update(
                    poster_status="failed", poster_file=None, poster_sha256=None, detail=problem
                )
                rejected += 1
                continue
            if target is not None:
                copy = target / f"{movie_id}{file.suffix}"
                if copy.is_file() and sha256_file(copy) != digest:
                    # The store may name the old copy: keep it until the new rows are
                    # committed (see _settle_copies), so a kill never pairs a row with
                    # bytes it does not describe.
                    copy = target / f"{movie_id}.{digest[:16]}{file.suffix}"
                if not (copy.is_file() and sha256_file(copy) == digest):  # else: already there
                    write_poster(file.read_bytes(), copy)
                file = copy
            row.update(poster_status="ok", poster_file=str(file), poster_sha256=digest)
            accepted += 1
    return make_frame(rows), accepted, rejected, missing


def frame_source(frame: pd.DataFrame) -> str:
    """The ``source`` of an imported frame's rows (``"import"`` when it is empty)."""
    sources = [s for s in frame["source"] if s] if "source" in frame.columns else []
    return sources[0] if sources else "import"


def import_metadata(
    store: MetadataStore,
    csv_path: str | os.PathLike[str],
    *,
    posters_dir: str | os.PathLike[str] | None = None,
    posters_index: str | os.PathLike[str] | None = None,
    copy_posters_to: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    batch: int = 500,
    links: pd.DataFrame | None = None,
    links_source: str = "the links table",
) -> ImportReport:
    """Load a metadata CSV (and posters) into ``store``.

    Movies the store already holds with status ``ok`` are kept unless ``overwrite``;
    re-importing the same file changes nothing and never duplicates (rows are keyed on
    ``movie_id``). All rows are committed in one transaction, so an import stopped at
    any point (even killed) leaves the store as it was; posters copied by a stopped
    import are files the store does not name (the next import replaces them), and
    temporary ``.part`` files it left in ``copy_posters_to`` are removed by the next
    import. ``batch`` is kept for compatibility and no longer used. Posters are read from
    ``posters_dir`` only; ``posters_index`` entries are resolved inside it (see
    :func:`attach_posters`) and need ``posters_dir``. A CSV in TMDB's export layout is
    matched to MovieLens movies through ``links`` (see :func:`read_metadata_csv`); the
    report counts its TMDB ids without a link (``unlinked``), which are not stored.

    Returns
    -------
    ImportReport

    Raises
    ------
    DataError
        See :func:`read_metadata_csv` and :func:`attach_posters`; also when
        ``posters_index`` is given without ``posters_dir``.
    """
    if posters_index is not None and posters_dir is None:
        raise InvalidParameterError(
            "posters_dir",
            "a posters index needs the posters folder it describes: give "
            "posters_dir too (the index's entries are looked up there).",
        )
    started = time.monotonic()
    frame, unlinked = _read_csv(Path(csv_path).expanduser(), links, links_source)
    report = ImportReport(rows=len(frame) + unlinked, unlinked=unlinked)
    if posters_dir is not None:
        n_read = len(frame)
        frame, report.posters, report.posters_rejected, report.posters_missing = attach_posters(
            frame, posters_dir, index=posters_index, copy_to=copy_posters_to, progress=progress
        )
        report.poster_only = len(frame) - n_read
    if not overwrite:
        fetched = {
            int(r["movie_id"])
            for r in store.rows(("movie_id", "status", "source"))
            if r["status"] == "ok" and r["source"] == "tmdb"
        }
        keep = frame["movie_id"].isin(fetched)
        report.kept = int(keep.sum())
        frame = frame[~keep]
    records = []
    for row in frame.to_dict("records"):
        record = {k: v for k, v in row.items() if k not in ("updated_at",)}
        for key, value in list(record.items()):
            if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                record[key] = None
        records.append(record)
    if records:  # one transaction: a killed import leaves the store as it was
        report.written = store.upsert_movies(records)
    if copy_posters_to is not None:
        _settle_copies(store, Path(copy_posters_to).expanduser().absolute())
    report.seconds = time.monotonic() - started
    return report


_STAGED = re.compile(r"(?P<movie>\d+)\.[0-9a-f]{16}(?P<ext>\.[A-Za-z]+)")


def _settle_copies(store: MetadataStore, folder: Path) -> None:
    """Give staged poster copies (``<movieId>.<sha256:16>.jpg``, written beside a copy
    an older row named) their plain name ``<movieId>.jpg``, at no moment leaving a row
    that names bytes it does not describe.

    For each staged file the store names: its bytes are written over the plain name
    (the row still names the staged file), the row is pointed at the plain name
    (committed), then the staged file is removed. Staged files no row names (left by a
    killed import) are removed.
    """
    if not folder.is_dir():
        return
    named = {
        str(r["poster_file"]): int(r["movie_id"])
        for r in store.rows(("movie_id", "poster_file"))
        if r["poster_file"]
    }
    for staged in sorted(folder.iterdir()):
        match = _STAGED.fullmatch(staged.name)
        if match is None:
            continue
        if named.get(str(staged)) == int(match["movie"]):
            plain = folder / f"{match['movie']}{match['ext']}"
            write_poster(staged.read_bytes(), plain)
            store.upsert_movie(int(match["movie"]), poster_file=str(plain))
        staged.unlink(missing_ok=True)
