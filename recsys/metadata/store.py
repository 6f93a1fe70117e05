"""The metadata store: one embedded SQLite file, safe to kill at any moment.

Tables
------
``movies``   one row per MovieLens movie (primary key ``movie_id``): the TMDB fields,
             genres, the local poster and a ``status`` of ``ok``, ``missing`` (TMDB
             answered 404, or the movie has no TMDB id) or ``failed`` (retried next run).
``links``    the MovieLens movies a fetch was asked for (to report what is pending).
``genres``   TMDB genre id -> name (with 10769 "Foreign") and the MovieLens name.
``popular``  the "popular movies" pages of TMDB (``recsys metadata popular``).
``meta``     the schema version.

The database runs in WAL mode with ``synchronous=FULL`` and every write is its own
committed transaction (or one transaction per batch), so a process killed with SIGKILL
loses nothing that was committed and never leaves a half-written row. Rows are keyed on
ids and written with upserts, so running a fetch or an import twice never duplicates.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.errors import DataError
from recsys.fileio import output_step
from recsys.metadata.frame import LIST_COLUMNS, METADATA_COLUMNS, STATUSES, TMDB_FIELDS, make_frame
from recsys.metadata.genres import TMDB_TO_MOVIELENS
from recsys.paths import cache_dir

__all__ = ["SCHEMA_VERSION", "MetadataStore", "default_store_path", "is_sqlite_file"]

SCHEMA_VERSION = 1
_APP = "recsys-metadata"
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS movies (
    movie_id INTEGER PRIMARY KEY,
    tmdb_id INTEGER,
    imdb_id TEXT,
    title TEXT,
    original_title TEXT,
    overview TEXT NOT NULL DEFAULT '',
    tagline TEXT NOT NULL DEFAULT '',
    genre_ids TEXT NOT NULL DEFAULT '[]',
    tmdb_genres TEXT NOT NULL DEFAULT '[]',
    movielens_genres TEXT NOT NULL DEFAULT '[]',
    release_date TEXT,
    original_language TEXT,
    runtime INTEGER,
    popularity REAL,
    vote_average REAL,
    vote_count INTEGER,
    poster_path TEXT,
    poster_file TEXT,
    poster_sha256 TEXT,
    poster_size TEXT,
    poster_status TEXT CHECK (poster_status IN {STATUSES!r}),
    status TEXT NOT NULL CHECK (status IN {STATUSES!r}),
    detail TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS movies_tmdb_id ON movies (tmdb_id);
CREATE TABLE IF NOT EXISTS links (
    movie_id INTEGER PRIMARY KEY,
    tmdb_id INTEGER,
    imdb_id TEXT,
    title TEXT
);
CREATE TABLE IF NOT EXISTS genres (
    genre_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    movielens TEXT
);
CREATE TABLE IF NOT EXISTS popular (
    tmdb_id INTEGER PRIMARY KEY,
    rank INTEGER NOT NULL,
    page INTEGER NOT NULL,
    title TEXT,
    original_title TEXT,
    overview TEXT,
    genre_ids TEXT NOT NULL DEFAULT '[]',
    release_date TEXT,
    original_language TEXT,
    popularity REAL,
    vote_average REAL,
    vote_count INTEGER,
    poster_path TEXT,
    updated_at TEXT NOT NULL
);
"""

#: Columns of ``movies`` a caller may set (everything but the key and bookkeeping).
_MOVIE_FIELDS = (
    "tmdb_id",
    *TMDB_FIELDS,
    "movielens_genres",
    "poster_file",
    "poster_sha256",
    "poster_size",
    "poster_status",
    "status",
    "detail",
    "source",
)
_POPULAR_FIELDS = (
    "rank",
    "page",
    "title",
    "original_title",
    "overview",
    "genre_ids",
    "release_date",
    "original_language",
    "popularity",
    "vote_average",
    "vote_count",
    "poster_path",
)


def default_store_path() -> Path:
    """Where the store lives unless ``--store`` says otherwise (in the cache directory)."""
    return cache_dir("metadata", "tmdb.sqlite")


def is_sqlite_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an SQLite database file (by its 16-byte header)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _encode(field: str, value: Any) -> Any:
    if field in LIST_COLUMNS:
        return json.dumps([v for v in (value or ())], ensure_ascii=False)
    if field in ("overview", "tagline"):
        return "" if value is None else str(value).strip()
    if value is not None and not isinstance(value, (str, int, float, bytes)):
        if hasattr(value, "item"):  # numpy scalar
            value = value.item()
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


class MetadataStore:
    """Movie metadata in an SQLite file, written row by row and safe to kill.

    Parameters
    ----------
    path : the database file; created (with its directory) unless ``readonly``.
    readonly : open an existing store for reading only.

    Raises
    ------
    DataError
        If the file exists but is not a metadata store (or is from a newer version),
        or ``readonly`` is set and there is no store at ``path``.

    Examples
    --------
    >>> with MetadataStore(":memory:") as store:
    ...     store.upsert_movie(1, tmdb_id=862, title="Toy Story", status="ok")
    ...     store.coverage()["ok"]
    1
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        memory = str(path) == ":memory:"
        if not memory:
            self.path = self.path.expanduser().absolute()
            if self.path.exists() and (
                self.path.is_dir()
                or (self.path.stat().st_size > 0 and not is_sqlite_file(self.path))
            ):
                raise DataError(
                    f"{str(self.path)!r} is not a metadata store (not an SQLite "
                    "file); give another path.",
                    parameter="path",
                )
            if readonly and not self.path.exists():
                raise DataError(
                    f"no metadata store at {str(self.path)!r}: fetch or import metadata "
                    "into it first, or give the path of an existing store.",
                    parameter="path",
                )
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        target = (
            ":memory:"
            if memory
            else (f"{self.path.as_uri()}?mode=ro" if readonly else str(self.path))
        )
        try:
            try:
                self._connect(target, readonly and not memory)
            except sqlite3.OperationalError:
                if not readonly or memory or os.access(self.path.parent, os.W_OK):
                    raise
                # A store in WAL mode needs its -shm file, which a reader cannot create
                # in a folder it may not write: read the file as it is on disk instead.
                # Nothing can be writing it there (no one could create the journal).
                self._connect(f"{target}&immutable=1", True)
        except sqlite3.DatabaseError as error:
            raise DataError(
                f"cannot open the metadata store {str(self.path)!r}: {error}. Give another path.",
                parameter="path",
            ) from None

    def _connect(self, target: str, uri: bool) -> None:
        readonly = "mode=ro" in target
        self._db = sqlite3.connect(target, uri=uri, timeout=30.0, isolation_level=None)
        try:
            self._db.row_factory = sqlite3.Row
            self._setup(readonly)
        except BaseException:
            self._db.close()
            raise

    def _setup(self, readonly: bool) -> None:
        tables = {
            r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if tables and "meta" not in tables:
            raise DataError(
                f"{str(self.path)!r} is an SQLite database but not a metadata "
                "store (no 'meta' table); give another path.",
                parameter="path",
            )
        if "meta" in tables:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("app") != _APP:
                raise DataError(
                    f"{str(self.path)!r} is not a recsys metadata store; give another path.",
                    parameter="path",
                )
            version = int(meta.get("schema_version", "0"))
            if version > SCHEMA_VERSION:
                raise DataError(
                    f"the metadata store {str(self.path)!r} has schema version "
                    f"{version}, newer than this toolkit's {SCHEMA_VERSION}; "
                    "upgrade the toolkit."
                )
        if readonly:
            return
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('app', ?)", (_APP,))
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    # -- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A block whose writes are committed together, or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        output_step("commit", self.path)

    # -- movies --------------------------------------------------------------------
    def upsert_movie(self, movie_id: int, **fields: Any) -> None:
        """Insert or update one movie and commit. Unknown field names raise ``KeyError``.

        ``status`` is required for a new row. Fields not given keep their stored value.
        """
        with self.transaction():
            self._upsert(int(movie_id), fields)

    def upsert_movies(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Upsert many movies (dicts with ``movie_id``) in one transaction; return the count."""
        count = 0
        with self.transaction():
            for record in records:
                fields = {k: v for k, v in record.items() if k != "movie_id"}
                self._upsert(int(record["movie_id"]), fields)
                count += 1
        return count

    def _upsert(self, movie_id: int, fields: Mapping[str, Any]) -> None:
        unknown = set(fields) - set(_MOVIE_FIELDS) - {"attempts_add"}
        if unknown:
            raise KeyError(f"unknown metadata field(s): {', '.join(sorted(unknown))}")
        status = fields.get("status")
        if status is not None and status not in STATUSES:
            raise DataError(f"status must be one of {', '.join(STATUSES)}; received {status!r}.")
        values = {k: _encode(k, v) for k, v in fields.items() if k in _MOVIE_FIELDS}
        add = int(fields.get("attempts_add", 0))
        now = _now()
        if status is None:  # a partial update of an existing row
            sets = [f"{c} = ?" for c in values] + [f"attempts = attempts + {add}", "updated_at = ?"]
            cursor = self._db.execute(
                f"UPDATE movies SET {', '.join(sets)} WHERE movie_id = ?",
                [*values.values(), now, movie_id],
            )
            if cursor.rowcount == 0:
                raise DataError(f"movie {movie_id} is not in the store; a new row needs a status.")
            return
        values.setdefault("source", "tmdb")
        columns = ["movie_id", *values, "attempts", "updated_at"]
        params = [movie_id, *values.values(), add, now]
        updates = [f"{c} = excluded.{c}" for c in values]
        updates += [f"attempts = movies.attempts + {add}", "updated_at = excluded.updated_at"]
        self._db.execute(
            f"INSERT INTO movies ({', '.join(columns)}) VALUES ({', '.join('?' * len(params))}) "
            f"ON CONFLICT (movie_id) DO UPDATE SET {', '.join(updates)}",
            params,
        )

    def get(self, movie_id: int) -> dict[str, Any] | None:
        """One movie's stored row as a dict (lists decoded), or ``None``."""
        row = self._db.execute(
            "SELECT * FROM movies WHERE movie_id = ?", (int(movie_id),)
        ).fetchone()
        return _decode(row) if row is not None else None

    def rows(
        self,
        columns: Sequence[str] = (
            "movie_id",
            "tmdb_id",
            "status",
            "poster_path",
            "poster_file",
            "poster_status",
        ),
    ) -> list[dict[str, Any]]:
        """Selected columns of every stored movie (for planning a fetch)."""
        bad = [
            c for c in columns if c not in ("movie_id", "attempts", "poster_size", *_MOVIE_FIELDS)
        ]
        if bad:
            raise KeyError(f"unknown column(s): {', '.join(bad)}")
        cursor = self._db.execute(f"SELECT {', '.join(columns)} FROM movies ORDER BY movie_id")
        return [_decode(r) for r in cursor]

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM movies").fetchone()[0])

    # -- links ---------------------------------------------------------------------
    def register_links(self, links: pd.DataFrame) -> int:
        """Remember the movies a fetch is for (``movie_id, tmdb_id, imdb_id[, title]``)."""
        rows = [
            (
                int(r["movie_id"]),
                _encode("tmdb_id", r.get("tmdb_id")),
                _encode("imdb_id", r.get("imdb_id")),
                _encode("title", r.get("title")),
            )
            for r in links.to_dict("records")
        ]
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO links VALUES (?, ?, ?, ?) ON CONFLICT (movie_id) DO "
                "UPDATE SET tmdb_id = excluded.tmdb_id, imdb_id = excluded.imdb_id,"
                " title = COALESCE(excluded.title, links.title)",
                rows,
            )
        return len(rows)

    # -- genres and popular --------------------------------------------------------
    def set_genres(self, genres: Mapping[int, str]) -> None:
        """Store the TMDB genre list (id -> name) with the MovieLens name of each."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO genres VALUES (?, ?, ?)",
                [(int(i), str(n), TMDB_TO_MOVIELENS.get(str(n))) for i, n in genres.items()],
            )

    def genres(self) -> dict[int, str]:
        """The stored TMDB genre list (empty until ``recsys metadata genres`` ran)."""
        return {
            int(i): str(n)
            for i, n in self._db.execute("SELECT genre_id, name FROM genres ORDER BY genre_id")
        }

    def upsert_popular(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Store popular-movie results (dicts with ``tmdb_id``, ``rank``, ``page``, ...)."""
        rows = []
        for record in records:
            values = [_encode(f, record.get(f)) for f in _POPULAR_FIELDS]
            rows.append((int(record["tmdb_id"]), *values, _now()))
        columns = ("tmdb_id", *_POPULAR_FIELDS, "updated_at")
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
        with self.transaction() as db:
            db.executemany(
                f"INSERT INTO popular ({', '.join(columns)}) VALUES "
                f"({', '.join('?' * len(columns))}) ON CONFLICT (tmdb_id) DO "
                f"UPDATE SET {updates}",
                rows,
            )
        return len(rows)

    def popular_frame(self) -> pd.DataFrame:
        """The stored popular movies, by rank."""
        frame = pd.read_sql_query("SELECT * FROM popular ORDER BY rank", self._db)
        frame["genre_ids"] = [tuple(json.loads(v)) for v in frame["genre_ids"]]
        return frame

    # -- reports -------------------------------------------------------------------
    def missing_reasons(self) -> dict[str, int]:
        """Why movies have no metadata: each ``detail`` of a ``missing`` row (a TMDB
        404, no TMDB id, no data in an imported file...) with its count, most first."""
        rows = self._db.execute(
            "SELECT COALESCE(NULLIF(TRIM(detail), ''), 'no reason recorded') AS why,"
            " COUNT(*) AS n FROM movies WHERE status = 'missing' GROUP BY why"
            " ORDER BY n DESC, why"
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def coverage(self) -> dict[str, int]:
        """Counts: movies, ok/missing/failed, with overview/genres/poster, pending links.

        ``genres`` counts movies with TMDB or MovieLens genres, ``tmdb_genres`` only
        TMDB's; ``pending`` counts registered links with no row yet.
        """
        one = self._db.execute(
            "SELECT COUNT(*) AS movies,"
            " COALESCE(SUM(status = 'ok'), 0) AS ok,"
            " COALESCE(SUM(status = 'missing'), 0) AS missing,"
            " COALESCE(SUM(status = 'failed'), 0) AS failed,"
            " COALESCE(SUM(TRIM(overview) != ''), 0) AS overview,"
            " COALESCE(SUM(genre_ids != '[]' OR movielens_genres != '[]'), 0) AS genres,"
            " COALESCE(SUM(genre_ids != '[]'), 0) AS tmdb_genres,"
            " COALESCE(SUM(poster_file IS NOT NULL), 0) AS poster,"
            " COALESCE(SUM(poster_status = 'missing'), 0) AS poster_missing,"
            " COALESCE(SUM(poster_status = 'failed'), 0) AS poster_failed"
            " FROM movies"
        ).fetchone()
        result = {k: int(one[k]) for k in one.keys()}
        result["links"] = int(self._db.execute("SELECT COUNT(*) FROM links").fetchone()[0])
        result["pending"] = int(
            self._db.execute(
                "SELECT COUNT(*) FROM links WHERE movie_id NOT IN (SELECT movie_id FROM movies)"
            ).fetchone()[0]
        )
        return result

    def to_frame(self) -> pd.DataFrame:
        """Every stored movie as the canonical frame (see :mod:`recsys.metadata.frame`)."""
        cursor = self._db.execute(
            f"SELECT {', '.join(METADATA_COLUMNS)} FROM movies ORDER BY movie_id"
        )
        return make_frame(_decode(r) for r in cursor)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(zip(row.keys(), tuple(row), strict=True))
    for column in LIST_COLUMNS:
        if column in out and out[column] is not None:
            out[column] = tuple(json.loads(out[column]))
    return out
