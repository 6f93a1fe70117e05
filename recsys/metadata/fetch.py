"""The resumable metadata crawl: every MovieLens movie's TMDB details and poster.

:func:`fetch_metadata` plans from what the store already holds and requests only what
is missing:

- a movie with status ``ok`` is never requested again (its poster is downloaded if it
  has none yet);
- ``missing`` (TMDB answered 404, or no TMDB id) is not retried unless asked;
- ``failed`` (retries exhausted) is retried on the next run;
- movies sharing one TMDB id are requested once.

Each result is committed as soon as it arrives, so a run killed at any moment (even
with SIGKILL) keeps everything fetched before, and the next run carries on. A 401
stops the run at once; a long streak of failures (TMDB unreachable) stops it too.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.errors import DataError, InvalidParameterError
from recsys.metadata.client import TMDBClient, TMDBNotFound, TMDBRequestFailed
from recsys.metadata.frame import TMDB_FIELDS
from recsys.metadata.genres import TMDB_MOVIE_GENRES
from recsys.metadata.posters import (
    PosterError,
    download_poster,
    poster_filename,
    remove_stale_parts,
)
from recsys.metadata.redact import scrub
from recsys.metadata.search import pick_match, search_query
from recsys.metadata.store import MetadataStore
from recsys.progress import Progress

__all__ = [
    "FetchReport",
    "failure_cause",
    "fetch_metadata",
    "links_from_movies",
    "movie_record",
    "read_links",
    "store_lock",
]

_LINK_COLUMNS = ("movie_id", "tmdb_id", "imdb_id", "title", "genres")


@dataclass
class FetchReport:
    """What one :func:`fetch_metadata` run did (counts are movies, not requests)."""

    planned: int = 0
    done: int = 0
    missing: int = 0
    failed: int = 0
    posters: int = 0
    posters_missing: int = 0
    posters_failed: int = 0
    skipped: int = 0
    requests: int = 0
    seconds: float = 0.0
    stopped: str | None = None
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal."""
        text = (
            f"fetched {self.done} movies ({self.missing} missing, {self.failed} failed), "
            f"{self.posters} posters ({self.posters_missing} missing, "
            f"{self.posters_failed} failed) with {self.requests} requests in "
            f"{self.seconds:.1f}s"
        )
        if self.skipped:
            text += f"; {self.skipped} left for the next run (--limit)"
        return text

    def common_failure(self) -> str | None:
        """The most common cause among this run's failures (``None`` without failures).

        Each failure message is reduced to its cause (:func:`failure_cause`), so the 12
        connection errors of 12 movies count as one cause; on a tie the latest wins.
        Any ``api_key=`` value is scrubbed (the client already removed its key).
        """
        if not self.failures:
            return None
        counts = Counter(failure_cause(m) for m in self.failures)
        best = max(counts.values())
        return next(c for c in map(failure_cause, reversed(self.failures)) if counts[c] == best)


_CONNECTION = re.compile(r"host='([^']*)', port=(\d+)")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
_REQUEST_PREFIX = re.compile(r"^(?:TMDB .*? failed(?: after \d+ attempts)?: )")
_URL = re.compile(r"(?:https?://\S+|/\S*\?\S*)")


def failure_cause(message: str) -> str:
    """A short cause of a failed request, without movie ids or URLs.

    Examples
    --------
    >>> failure_cause("TMDB GET /movie/862 failed: connection failed (HTTPConnectionPool("
    ...               "host='127.0.0.1', port=9): Max retries exceeded with url: "
    ...               "/3/movie/862?api_key=*** (Caused by NewConnectionError('...: Failed to "
    ...               "establish a new connection: [Errno 111] Connection refused')))")
    'connection refused to 127.0.0.1:9'
    >>> failure_cause("TMDB GET /movie/862 failed after 3 attempts: HTTP 500 Internal Server Error")
    'HTTP 500 Internal Server Error'
    """
    text = _REQUEST_PREFIX.sub("", scrub(message)).strip()
    if text.startswith("connection failed"):
        host = _CONNECTION.search(text)
        reason = _ERRNO.search(text)
        what = reason.group(1).strip().lower() if reason else "connection failed"
        return f"{what} to {host.group(1)}:{host.group(2)}" if host else what
    text = _URL.sub("URL", text)
    return text if len(text) <= 160 else text[:157] + "..."


def read_links(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a MovieLens ``links.csv`` (``movieId,imdbId,tmdbId``) into link rows.

    Returns
    -------
    DataFrame with ``movie_id`` (int32), ``tmdb_id`` (Int64), ``imdb_id`` (``"tt..."``
    or ``None``), ``title`` and ``genres`` (unknown here: ``None`` and ``()``).

    Raises
    ------
    DataError
        Missing columns, non-numeric ids or repeated movie ids.
    """
    file = Path(path).expanduser()
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(
            f"cannot read {str(file)!r} as CSV ({type(error).__name__}); expected "
            "MovieLens links.csv with movieId,imdbId,tmdbId."
        ) from None
    raw = raw.rename(columns={"movieId": "movie_id", "tmdbId": "tmdb_id", "imdbId": "imdb_id"})
    missing = [c for c in ("movie_id", "tmdb_id") if c not in raw.columns]
    if missing:
        raise DataError(
            f"{str(file)!r} has no {' or '.join(missing)} column; expected "
            f"MovieLens links.csv (movieId,imdbId,tmdbId), found "
            f"{', '.join(raw.columns) or 'no columns'}."
        )
    movie_id = pd.to_numeric(raw["movie_id"], errors="coerce")
    tmdb_id = pd.to_numeric(raw["tmdb_id"].replace("", None), errors="coerce")
    bad = movie_id.isna() | (tmdb_id.isna() & (raw["tmdb_id"].str.strip() != ""))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{str(file)!r}: {int(bad.sum())} row(s) have a movie or TMDB id that "
            f"is not a number (first at data row {row + 1}); fix those rows."
        )
    if movie_id.duplicated().any():
        raise DataError(
            f"{str(file)!r}: movie id {int(movie_id[movie_id.duplicated()].iloc[0])}"
            " appears more than once; each movie needs one row."
        )
    imdb = raw["imdb_id"] if "imdb_id" in raw.columns else pd.Series([""] * len(raw))
    return pd.DataFrame(
        {
            "movie_id": movie_id.astype(np.int32).to_numpy(),
            "tmdb_id": pd.array(tmdb_id.round(), dtype="Int64"),
            "imdb_id": pd.Series([_imdb(v) for v in imdb], dtype=object).to_numpy(),
            "title": pd.Series([None] * len(raw), dtype=object).to_numpy(),
            "genres": pd.Series([()] * len(raw), dtype=object).to_numpy(),
        }
    )


def links_from_movies(movies: pd.DataFrame) -> pd.DataFrame:
    """Link rows from a MovieLens movies frame (:func:`recsys.data.load_dataset`)."""
    frame = movies.copy()
    for column, empty in (("imdb_id", None), ("title", None), ("genres", ())):
        if column not in frame.columns:
            frame[column] = pd.Series([empty] * len(frame), dtype=object)
    if "tmdb_id" not in frame.columns:
        frame["tmdb_id"] = pd.array([None] * len(frame), dtype="Int64")
    return frame[list(_LINK_COLUMNS)].reset_index(drop=True)


def _imdb(value: Any) -> str | None:
    text = str(value or "").strip()
    if text.startswith("tt"):
        return text
    return f"tt{int(text):07d}" if text.isdigit() else None


def movie_record(info: Mapping[str, Any]) -> dict[str, Any]:
    """The stored fields of a TMDB ``/movie/{id}`` response.

    Genres come as ``{"id", "name"}`` objects in details and as ``genre_ids`` in list
    results; both are accepted (names of bare ids from the built-in table, 10769
    "Foreign" included).

    Examples
    --------
    >>> record = movie_record({"id": 603, "title": "The Matrix", "release_date": "",
    ...                        "genres": [{"id": 28, "name": "Action"},
    ...                                   {"id": 878, "name": "Science Fiction"}]})
    >>> record["genre_ids"], record["tmdb_genres"], record["release_date"]
    ((28, 878), ('Action', 'Science Fiction'), None)
    """
    if "genres" in info and isinstance(info.get("genres"), list):
        pairs = [
            (int(g["id"]), str(g.get("name") or TMDB_MOVIE_GENRES.get(int(g["id"]), "")))
            for g in info["genres"]
            if isinstance(g, Mapping) and "id" in g
        ]
    else:
        pairs = [
            (int(i), TMDB_MOVIE_GENRES.get(int(i), f"genre {int(i)}"))
            for i in info.get("genre_ids") or ()
        ]

    def text(key: str) -> str | None:
        value = info.get(key)
        return str(value) if value not in (None, "") else None

    def number(key: str, kind: type) -> Any:
        value = info.get(key)
        try:
            return kind(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    return {
        "tmdb_id": number("id", int),
        "imdb_id": text("imdb_id"),
        "title": text("title"),
        "original_title": text("original_title"),
        "overview": info.get("overview") or "",
        "tagline": info.get("tagline") or "",
        "genre_ids": tuple(i for i, _ in pairs),
        "tmdb_genres": tuple(n for _, n in pairs),
        "release_date": text("release_date"),
        "original_language": text("original_language"),
        "runtime": number("runtime", int),
        "popularity": number("popularity", float),
        "vote_average": number("vote_average", float),
        "vote_count": number("vote_count", int),
        "poster_path": text("poster_path"),
    }


@contextlib.contextmanager
def store_lock(store_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``<store>.lock`` so two fetches never share a store.

    The lock dies with the process (even on SIGKILL). Where ``fcntl`` is not available
    (Windows) no lock is taken.

    Raises
    ------
    DataError
        If another process holds the lock.
    """
    if str(store_path) == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = Path(f"{store_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                f"another metadata fetch is writing to {str(store_path)!r}"
                "; wait for it to finish or use another store."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass
class _Group:
    """Movies sharing one TMDB id, and what they still need."""

    tmdb_id: int | None
    info_ids: list[int] = field(default_factory=list)  # need TMDB details
    poster_ids: list[int] = field(default_factory=list)  # stored ok, need a poster file
    title: str | None = None  # set when the TMDB id must be found by a title search
    source_ok: int | None = None  # a member already stored as ok: copy, do not ask

    @property
    def movie_ids(self) -> list[int]:
        return self.info_ids + self.poster_ids


#: The ``detail`` of movies marked missing because links.csv has no TMDB id for them.
NO_TMDB_ID = "no TMDB id in the links"


def _plan(
    links: pd.DataFrame,
    state: Mapping[int, Mapping[str, Any]],
    *,
    want_posters: bool,
    retry_missing: bool,
    search_unlinked: bool,
    refresh_imported: bool = False,
) -> tuple[list[_Group], list[int]]:
    """Work groups in movie-id order, and unlinked movies to mark missing without asking."""
    groups: dict[int, _Group] = {}
    work: list[_Group] = []
    unlinked: list[int] = []
    for row in links.sort_values("movie_id", kind="stable").to_dict("records"):
        movie_id = int(row["movie_id"])
        stored = state.get(movie_id)
        status = stored["status"] if stored else None
        if (
            refresh_imported
            and stored
            and stored.get("source") != "tmdb"
            and not pd.isna(row["tmdb_id"])
        ):
            status = "failed"  # imported, not fetched: ask TMDB for the full record
        retry = status in (None, "failed") or (status == "missing" and retry_missing)
        if stored is not None and status == "ok":
            if want_posters and _needs_poster(stored, retry_missing):
                key = stored.get("tmdb_id")
                group = groups.get(key) if key is not None else None
                if group is None:
                    group = _Group(key)
                    work.append(group)
                    if key is not None:
                        groups[key] = group
                group.poster_ids.append(movie_id)
            continue
        if pd.isna(row["tmdb_id"]):
            searchable = search_unlinked and isinstance(row.get("title"), str)
            if searchable and (
                retry or (stored is not None and stored.get("detail") == NO_TMDB_ID)
            ):
                work.append(_Group(None, [movie_id], title=row["title"]))
            elif status is None:
                unlinked.append(movie_id)
            continue
        if not retry:
            continue
        tmdb_id = int(row["tmdb_id"])
        group = groups.get(tmdb_id)
        if group is None:
            group = groups[tmdb_id] = _Group(tmdb_id)
            work.append(group)
        group.info_ids.append(movie_id)
    # An ok movie seen before a new one with the same TMDB id: copy from it as well.
    for movie_id, stored in state.items():
        key = stored.get("tmdb_id")
        if (
            stored["status"] == "ok"
            and key in groups
            and groups[key].source_ok is None
            and stored.get("source") == "tmdb"
        ):
            groups[key].source_ok = movie_id
    return [g for g in work if g.movie_ids], unlinked


def _needs_poster(stored: Mapping[str, Any], retry_missing: bool) -> bool:
    if not stored.get("poster_path"):
        return False
    if stored.get("poster_status") == "missing" and not retry_missing:
        return False
    file = stored.get("poster_file")
    return not (file and Path(file).is_file())


def fetch_metadata(
    store: MetadataStore,
    links: pd.DataFrame,
    client: TMDBClient,
    *,
    posters_dir: str | os.PathLike[str] | None = None,
    poster_size: str = "w185",
    limit: int | None = None,
    retry_missing: bool = False,
    search_unlinked: bool = False,
    refresh_imported: bool = False,
    max_consecutive_failures: int = 25,
    progress: bool = True,
) -> FetchReport:
    """Fetch TMDB details (and posters) for the movies of ``links`` not yet in ``store``.

    Parameters
    ----------
    store : where results go, one committed row per movie.
    links : link rows (:func:`read_links` or :func:`links_from_movies`).
    client : the TMDB client (rate limit and retries are its business).
    posters_dir : download posters into this directory; ``None`` skips posters.
    poster_size : a TMDB poster size (``w185``, ``w342``, ``w500``, ``original``, ...).
    limit : fetch at most this many movies (TMDB ids) in this run.
    retry_missing : ask again for movies (and posters) TMDB answered 404 for.
    search_unlinked : look movies without a TMDB id up by title and year.
    refresh_imported : fetch movies that came from ``recsys metadata import`` again (an
        import counts as done otherwise, though it lacks TMDB genres, dates and poster
        paths).
    max_consecutive_failures : stop after this many movies in a row failed (TMDB
        unreachable); everything fetched stays, and the next run resumes.
    progress : show a progress line with done/missing/failed counts on stderr.

    Returns
    -------
    FetchReport

    Raises
    ------
    TMDBAuthError
        On HTTP 401, at once (results fetched before it are kept).
    DataError
        Bad ``limit``, or another fetch holds the store.
    """
    if limit is not None and int(limit) < 0:
        raise InvalidParameterError("limit", f"limit must be >= 0; received {limit}.")
    started = time.monotonic()
    requests_before = client.requests_made
    report = FetchReport()
    folder = Path(posters_dir).expanduser().absolute() if posters_dir is not None else None
    with store_lock(store.path):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            remove_stale_parts(folder)
        store.register_links(links)
        state = {
            int(r["movie_id"]): r
            for r in store.rows(
                (
                    "movie_id",
                    "tmdb_id",
                    "status",
                    "detail",
                    "source",
                    "poster_path",
                    "poster_file",
                    "poster_status",
                )
            )
        }
        work, unlinked = _plan(
            links,
            state,
            want_posters=folder is not None,
            retry_missing=retry_missing,
            search_unlinked=search_unlinked,
            refresh_imported=refresh_imported,
        )
        if unlinked:
            store.upsert_movies(
                {"movie_id": m, "status": "missing", "source": "tmdb", "detail": NO_TMDB_ID}
                for m in unlinked
            )
            report.missing += len(unlinked)
        if limit is not None and len(work) > int(limit):
            report.skipped = sum(len(g.movie_ids) for g in work[int(limit) :])
            work = work[: int(limit)]
        report.planned = len(work)
        genres_by_movie = {
            int(r["movie_id"]): tuple(r["genres"] or ())
            for r in links.to_dict("records")
            if isinstance(r.get("genres"), tuple)
        }
        imdb_by_movie = {
            int(r["movie_id"]): r["imdb_id"]
            for r in links.to_dict("records")
            if isinstance(r.get("imdb_id"), str)
        }
        streak = 0
        with Progress(len(work), "metadata fetch", enabled=progress) as bar:
            bar.counts.update(done=0, missing=0, failed=0, posters=0)  # fixed order
            for group in work:
                outcome = _run_group(
                    group,
                    store,
                    client,
                    folder,
                    poster_size,
                    report,
                    genres_by_movie,
                    imdb_by_movie,
                    retry_missing,
                )
                bar.advance(**outcome)
                streak = streak + 1 if outcome.get("failed") else 0
                if streak >= max_consecutive_failures:
                    report.stopped = (
                        f"stopped after {streak} movies in a row failed (last: "
                        f"{report.failures[-1] if report.failures else '?'}); "
                        "TMDB may be unreachable. Re-run later to resume."
                    )
                    break
    report.requests = client.requests_made - requests_before
    report.seconds = time.monotonic() - started
    return report


def _run_group(
    group: _Group,
    store: MetadataStore,
    client: TMDBClient,
    folder: Path | None,
    size: str,
    report: FetchReport,
    genres_by_movie: Mapping[int, tuple[str, ...]],
    imdb_by_movie: Mapping[int, str],
    retry_missing: bool,
) -> dict[str, int]:
    """Fetch one group; commit its rows; return the progress counters."""
    ids = group.info_ids
    outcome = {"done": 0, "missing": 0, "failed": 0, "posters": 0}
    detail = None
    if group.title is not None:
        query, year = search_query(group.title)
        try:
            found = pick_match(client.search_movie(query, year), year)
        except TMDBRequestFailed as error:
            return _failed(store, ids, str(error), report, outcome)
        if found is None:
            return _missing(
                store,
                ids,
                f"{NO_TMDB_ID}, and no title search match for {query!r} ({year})",
                report,
                outcome,
            )
        group.tmdb_id, detail = found, f"TMDB id found by title search for {query!r} ({year})"
    if ids:
        if group.source_ok is not None:
            stored = store.get(group.source_ok) or {}
            record = {k: stored.get(k) for k in _COPIED}
        else:
            # a group without an id got one from the title search above
            assert group.tmdb_id is not None
            try:
                record = movie_record(client.movie(group.tmdb_id))
            except TMDBNotFound as error:
                return _missing(
                    store, ids, str(error), report, outcome, group.tmdb_id, imdb_by_movie
                )
            except TMDBRequestFailed as error:
                return _failed(
                    store, ids, str(error), report, outcome, group.tmdb_id, imdb_by_movie
                )
        tmdb_imdb = record.pop("imdb_id", None)
        record["tmdb_id"] = group.tmdb_id
        # MovieLens genres only when the links know them (a links.csv does not): an
        # imported row keeps its own.
        store.upsert_movies(
            {
                **record,
                "movie_id": m,
                "imdb_id": imdb_by_movie.get(m) or tmdb_imdb,
                **({"movielens_genres": genres_by_movie[m]} if genres_by_movie.get(m) else {}),
                "status": "ok",
                "detail": detail,
                "source": "tmdb",
                "attempts_add": 1,
            }
            for m in ids
        )
        report.done += len(ids)
        outcome["done"] = len(ids)
    if folder is not None:
        outcome["posters"] = _poster(group, store, client, folder, size, report, retry_missing)
    return outcome


_COPIED = (
    *TMDB_FIELDS,
    "poster_file",
    "poster_sha256",
    "poster_size",
    "poster_status",
)


def _missing(
    store: MetadataStore,
    ids: list[int],
    message: str,
    report: FetchReport,
    outcome: dict[str, int],
    tmdb_id: int | None = None,
    imdb_by_movie: Mapping[int, str] | None = None,
) -> dict[str, int]:
    store.upsert_movies(
        {
            "movie_id": m,
            "tmdb_id": tmdb_id,
            "imdb_id": (imdb_by_movie or {}).get(m),
            "status": "missing",
            "source": "tmdb",
            "detail": message,
            "attempts_add": 1,
        }
        for m in ids
    )
    report.missing += len(ids)
    outcome["missing"] = len(ids)
    return outcome


def _failed(
    store: MetadataStore,
    ids: list[int],
    message: str,
    report: FetchReport,
    outcome: dict[str, int],
    tmdb_id: int | None = None,
    imdb_by_movie: Mapping[int, str] | None = None,
) -> dict[str, int]:
    store.upsert_movies(
        {
            "movie_id": m,
            "tmdb_id": tmdb_id,
            "imdb_id": (imdb_by_movie or {}).get(m),
            "status": "failed",
            "source": "tmdb",
            "detail": message,
            "attempts_add": 1,
        }
        for m in ids
    )
    report.failed += len(ids)
    report.failures.append(message)
    outcome["failed"] = len(ids)
    return outcome


def _poster(
    group: _Group,
    store: MetadataStore,
    client: TMDBClient,
    folder: Path,
    size: str,
    report: FetchReport,
    retry_missing: bool,
) -> int:
    """Download the group's poster if it has one and lacks the file; return 1 if stored."""
    rows = [store.get(m) for m in group.movie_ids]
    todo = [r for r in rows if r and r["status"] == "ok" and _needs_poster(r, retry_missing)]
    if not todo:
        return 0
    poster_path = todo[0]["poster_path"]
    tmdb_id = todo[0]["tmdb_id"]
    target = folder / poster_filename(tmdb_id, size, poster_path)
    try:
        poster = download_poster(client, poster_path, size, target)
    except TMDBNotFound as error:
        store.upsert_movies(
            {
                "movie_id": r["movie_id"],
                "poster_status": "missing",
                "poster_file": None,
                "detail": f"poster: {error}",
            }
            for r in todo
        )
        report.posters_missing += 1
        return 0
    except (TMDBRequestFailed, PosterError) as error:
        store.upsert_movies(
            {
                "movie_id": r["movie_id"],
                "poster_status": "failed",
                "poster_file": None,
                "detail": f"poster: {error}",
            }
            for r in todo
        )
        report.posters_failed += 1
        report.failures.append(str(error))
        return 0
    store.upsert_movies(
        {
            "movie_id": r["movie_id"],
            "poster_status": "ok",
            "poster_file": str(poster.path),
            "poster_sha256": poster.sha256,
            "poster_size": size,
            "detail": None,
        }
        for r in todo
    )
    report.posters += 1
    return 1
