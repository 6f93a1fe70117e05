"""``recsys metadata``: TMDB overviews, genres and posters for MovieLens movies.

Actions::

    recsys metadata fetch   [--dataset NAME | --links links.csv] [--store PATH]
                            [--posters DIR | --no-posters] [--poster-size w185]
                            [--limit N] [--rate R] [--api-key-file FILE]
                            [--api-base URL] [--image-base URL]
    recsys metadata popular --pages N
    recsys metadata genres  [--builtin]
    recsys metadata import  --csv FILE [--links FILE | --dataset NAME]
                            [--posters-dir DIR] [--copy-posters]
    recsys metadata status  [--json]
    recsys metadata export  --csv OUT [--dataset NAME]

The API key comes from ``$TMDB_API_KEY`` or ``--api-key-file``; it is never printed or
written. ``fetch`` is resumable: run it again and it asks only for what is missing.
Exit codes: 0 done, 1 some movies failed (run again to retry them), 2 bad input or a
rejected API key.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from recsys.cli.framework import UsageError, default_of
from recsys.errors import DataError
from recsys.fileio import check_writable_file

__all__ = ["register", "run"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, received {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, received {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, received {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, received {text!r}")
    return value


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="PATH",
        help="the metadata store (SQLite file); default: "
        "<cache>/metadata/tmdb.sqlite ($RECSYS_DATA or ~/.cache/recsys)",
    )


def _client_options(parser: argparse.ArgumentParser) -> None:
    from recsys.metadata.client import DEFAULT_API_BASE, DEFAULT_IMAGE_BASE, TMDBClient
    from recsys.metadata.ratelimit import RetryPolicy

    group = parser.add_argument_group("TMDB connection")
    group.add_argument(
        "--api-key-file",
        metavar="FILE",
        help="read the TMDB API key from FILE (default: $TMDB_API_KEY)",
    )
    group.add_argument(
        "--api-base",
        metavar="URL",
        default=None,
        help=f"TMDB-compatible API root incl. version (default {DEFAULT_API_BASE})",
    )
    group.add_argument(
        "--image-base",
        metavar="URL",
        default=None,
        help=f"image root (default {DEFAULT_IMAGE_BASE})",
    )
    group.add_argument(
        "--rate",
        type=_positive_float,
        default=default_of(TMDBClient, "rate"),
        metavar="R",
        help=f"requests per second (default {default_of(TMDBClient, 'rate'):g}; TMDB allows "
        "about 40)",
    )
    group.add_argument(
        "--retries",
        type=_positive_int,
        default=default_of(RetryPolicy, "retries"),
        metavar="N",
        help=f"retries of a failed request (default {default_of(RetryPolicy, 'retries')})",
    )
    group.add_argument(
        "--backoff",
        type=_seconds,
        default=default_of(RetryPolicy, "backoff"),
        metavar="SECONDS",
        help="first pause before a retry, doubled each time "
        f"(default {default_of(RetryPolicy, 'backoff'):g})",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        default=default_of(TMDBClient, "timeout"),
        metavar="SECONDS",
        help=f"seconds to wait for TMDB to answer (default {default_of(TMDBClient, 'timeout'):g})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")


def register(subparsers: Any) -> None:
    """Add ``recsys metadata`` and its actions."""
    from recsys.metadata.client import POSTER_SIZES
    from recsys.metadata.fetch import fetch_metadata

    parser = subparsers.add_parser(
        "metadata",
        help="TMDB overviews, genres and posters for MovieLens movies",
        description=__doc__.split("\n\n")[0] + " The API key comes from $TMDB_API_KEY "
        "or --api-key-file.",
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")
    actions.required = True
    # MetadataStore(path) and read_api_key(key_file): the options that set them
    parser.set_defaults(parameter_flags={"path": "--store", "key_file": "--api-key-file"})

    fetch = actions.add_parser(
        "fetch",
        help="fetch TMDB details and posters of every movie (resumable)",
        description="Read each movie's TMDB id from links.csv (or the dataset) and store its "
        "TMDB details and poster. Re-running fetches only what is missing; "
        "404s are recorded and not asked again; failures are retried next run.",
    )
    source = fetch.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset",
        metavar="NAME",
        help="MovieLens dataset name or path (default: bundled ml-latest-small)",
    )
    source.add_argument("--links", metavar="FILE", help="a MovieLens links.csv")
    _store_option(fetch)
    posters = fetch.add_mutually_exclusive_group()
    posters.add_argument(
        "--posters", metavar="DIR", help="poster folder (default: <cache>/metadata/posters)"
    )
    posters.add_argument("--no-posters", action="store_true", help="skip posters")
    fetch.add_argument(
        "--poster-size",
        choices=POSTER_SIZES,
        default=default_of(fetch_metadata, "poster_size"),
        help=f"TMDB poster width (default {default_of(fetch_metadata, 'poster_size')})",
    )
    fetch.add_argument(
        "--limit", type=_positive_int, metavar="N", help="fetch at most N movies in this run"
    )
    fetch.add_argument(
        "--retry-missing",
        action="store_true",
        help="ask again for movies and posters TMDB answered 404 for",
    )
    fetch.add_argument(
        "--refresh-imported",
        action="store_true",
        help="fetch again the movies 'recsys metadata import' brought in",
    )
    fetch.add_argument(
        "--search-unlinked",
        action="store_true",
        help="find the TMDB id of movies links.csv lacks by title and year",
    )
    fetch.add_argument(
        "--max-failures",
        type=_positive_int,
        default=default_of(fetch_metadata, "max_consecutive_failures"),
        metavar="N",
        help="stop after N movies in a row failed "
        f"(default {default_of(fetch_metadata, 'max_consecutive_failures')})",
    )
    _client_options(fetch)
    fetch.set_defaults(func=run)

    popular = actions.add_parser(
        "popular",
        help="fetch TMDB's popular movies (20 per page) with genre names",
        description="Fetch pages 1..N of TMDB's popular movies into the store and show them "
        "with TMDB and MovieLens genre names.",
    )
    popular.add_argument(
        "--pages",
        type=_positive_int,
        default=1,
        metavar="N",
        help="pages to fetch, 1..500 (default 1)",
    )
    popular.add_argument(
        "--csv",
        metavar="OUT",
        help="also write the list to a CSV file (its folder must exist; an "
        "existing file is replaced only if its name ends in .csv)",
    )
    popular.add_argument(
        "--show",
        type=_positive_int,
        default=10,
        metavar="K",
        help="print the first K movies (default 10)",
    )
    _store_option(popular)
    _client_options(popular)
    popular.set_defaults(func=run)

    genres = actions.add_parser(
        "genres",
        help="TMDB's genre list (with 10769 'Foreign') and MovieLens names",
        description="Fetch TMDB's movie genre list, add the 'Foreign' genre (10769) TMDB "
        "leaves out, store it and print it with the MovieLens name of each.",
    )
    genres.add_argument(
        "--builtin", action="store_true", help="print the built-in list without asking TMDB"
    )
    genres.add_argument("--json", action="store_true", help="print JSON")
    _store_option(genres)
    _client_options(genres)
    genres.set_defaults(func=run)

    imp = actions.add_parser(
        "import",
        help="load a metadata CSV and a posters folder into the store",
        description="Load a metadata CSV (movieId, tmdbId, title, overview, genres, ...) "
        "and a folder of <movieId>.jpg posters into the store, checking each "
        "poster decodes and matches posters_index.csv when there is one. Only "
        "files in --posters-dir are read. A CSV in TMDB's export layout (id = TMDB id, "
        "title, overview, genres as JSON lists of {id, name}, status, ...) is matched to "
        "MovieLens movies through a links table (--links, else the links of --dataset), "
        "never by equal numbers; its TMDB ids without a link are left out and counted.",
    )
    imp.add_argument("--csv", required=True, metavar="FILE", help="the metadata CSV")
    linking = imp.add_mutually_exclusive_group()
    linking.add_argument(
        "--links",
        metavar="FILE",
        help="TMDB export only: a MovieLens links.csv (movieId, tmdbId) matching its TMDB "
        "ids to MovieLens movies (default: the links of --dataset)",
    )
    linking.add_argument(
        "--dataset",
        metavar="NAME",
        help="TMDB export only: MovieLens dataset name or path whose links match its TMDB "
        "ids (default: bundled ml-latest-small)",
    )
    imp.add_argument("--posters-dir", metavar="DIR", help="folder of <movieId>.jpg posters")
    imp.add_argument(
        "--posters-index",
        metavar="FILE",
        help="posters index (movieId, path, sha256) to check the posters "
        "against; needs --posters-dir: each entry's file is looked up there "
        "by file name (the folder in its path is ignored) and an entry "
        "whose file is not there counts as missing (default: "
        "posters_index.csv in the folder, or in its parent when it lists "
        "that folder's files)",
    )
    imp.add_argument(
        "--copy-posters",
        metavar="DIR",
        nargs="?",
        const="",
        help="copy posters into DIR (default: <cache>/metadata/posters) "
        "instead of pointing at them where they are",
    )
    imp.add_argument(
        "--overwrite", action="store_true", help="replace movies already fetched from TMDB"
    )
    imp.add_argument("--quiet", action="store_true", help="no progress line")
    _store_option(imp)
    imp.set_defaults(func=run)

    status = actions.add_parser(
        "status",
        help="coverage of the store",
        description="Movies with overview / genres / poster; missing (no metadata: TMDB "
        "answered 404, the movie has no TMDB id, or an imported file had no data for it; "
        "the reasons are counted), failed (retried by the next fetch) and pending.",
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    _store_option(status)
    status.set_defaults(func=run)

    export = actions.add_parser(
        "export",
        help="write the store as one CSV keyed by movie id",
        description="Write every stored movie as one CSV row.",
    )
    export.add_argument(
        "--csv",
        required=True,
        metavar="OUT",
        help="the CSV to write (its folder must exist; an existing file is "
        "replaced only if its name ends in .csv and it is not the store)",
    )
    export.add_argument(
        "--dataset",
        metavar="NAME",
        help="one row per movie of this MovieLens dataset (pending ones too)",
    )
    _store_option(export)
    export.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    return {
        "fetch": _fetch,
        "popular": _popular,
        "genres": _genres,
        "import": _import,
        "status": _status,
        "export": _export,
    }[args.action](args)


def _store_path(args: argparse.Namespace) -> Any:
    from recsys.metadata.store import default_store_path

    return args.store if args.store else default_store_path()


def _client(args: argparse.Namespace) -> Any:
    from recsys.metadata.client import (
        API_KEY_ENV,
        DEFAULT_API_BASE,
        DEFAULT_IMAGE_BASE,
        MissingAPIKeyError,
        TMDBClient,
        read_api_key,
    )
    from recsys.metadata.ratelimit import RetryPolicy

    try:
        key = read_api_key(args.api_key_file)
    except MissingAPIKeyError:
        raise MissingAPIKeyError(
            f"no TMDB API key: set {API_KEY_ENV} or pass --api-key-file FILE "
            "(get a free key at https://www.themoviedb.org/settings/api)."
        ) from None
    return TMDBClient(
        key,
        api_base=args.api_base or DEFAULT_API_BASE,
        image_base=args.image_base or DEFAULT_IMAGE_BASE,
        rate=args.rate,
        retry=RetryPolicy(retries=args.retries, backoff=args.backoff),
        timeout=args.timeout,
    )


def _fetch(args: argparse.Namespace) -> int:
    from recsys.metadata.fetch import fetch_metadata, links_from_movies, read_links
    from recsys.metadata.posters import default_posters_dir
    from recsys.metadata.store import MetadataStore

    client = _client(args)  # first: a missing key fails before any work
    with client:
        if args.links:
            links = read_links(args.links)
        else:
            from recsys.data import load_dataset

            links = links_from_movies(load_dataset(args.dataset).movies)
        posters = None if args.no_posters else (args.posters or default_posters_dir())
        with MetadataStore(_store_path(args)) as store:
            report = fetch_metadata(
                store,
                links,
                client,
                posters_dir=posters,
                poster_size=args.poster_size,
                limit=args.limit,
                retry_missing=args.retry_missing,
                search_unlinked=args.search_unlinked,
                refresh_imported=args.refresh_imported,
                max_consecutive_failures=max(1, args.max_failures),
                progress=not args.quiet,
            )
            coverage = store.coverage()
            where = store.path
    print(report.summary())
    print(_coverage_line(coverage))
    print(f"store: {where}")
    if report.stopped:
        print(f"recsys metadata fetch: {report.stopped}", file=sys.stderr)
        return 1
    if report.failed or report.posters_failed:
        cause = report.common_failure()
        because = f" (most common error: {client.scrub(cause)})" if cause else ""
        print(
            f"recsys metadata fetch: {report.failed} movies and {report.posters_failed} "
            f"posters failed{because}; run the same command again to retry them.",
            file=sys.stderr,
        )
        return 1
    return 0


def _popular(args: argparse.Namespace) -> int:
    from recsys.metadata.export import write_table_csv
    from recsys.metadata.popular import fetch_popular
    from recsys.metadata.store import MetadataStore

    if args.pages < 1:
        raise UsageError("--pages must be at least 1.")
    if args.csv:
        check_writable_file(
            args.csv, what="CSV", inputs=_store_files(_store_path(args)), suffix=".csv"
        )
    with _client(args) as client, MetadataStore(_store_path(args)) as store:
        frame = fetch_popular(client, store, args.pages, progress=not args.quiet)
    print(f"{len(frame)} popular movies from {args.pages} page(s)")
    for row in frame.head(args.show).to_dict("records"):
        print(
            f"{row['rank']:>5}  {row['title']}  ({str(row['release_date'] or '')[:4]})  "
            f"{', '.join(row['tmdb_genres'])}"
        )
    if args.csv:
        write_table_csv(frame, args.csv)
        print(f"wrote {args.csv}")
    return 0


def _genres(args: argparse.Namespace) -> int:
    from recsys.metadata.genres import TMDB_MOVIE_GENRES, TMDB_TO_MOVIELENS
    from recsys.metadata.store import MetadataStore

    if args.builtin:
        table = dict(sorted(TMDB_MOVIE_GENRES.items()))
    else:
        with _client(args) as client, MetadataStore(_store_path(args)) as store:
            table = client.genre_list()
            store.set_genres(table)
    rows = [{"id": i, "name": n, "movielens": TMDB_TO_MOVIELENS.get(n)} for i, n in table.items()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['id']:>6}  {row['name']:<16} -> {row['movielens'] or '(none)'}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from recsys.metadata.importer import import_metadata
    from recsys.metadata.posters import default_posters_dir
    from recsys.metadata.store import MetadataStore

    copy_to = None
    if args.posters_index and not args.posters_dir:
        raise UsageError(
            "--posters-index needs --posters-dir (the folder whose posters it describes)."
        )
    if args.copy_posters is not None:
        if not args.posters_dir:
            raise UsageError("--copy-posters needs --posters-dir (the folder to copy from).")
        copy_to = args.copy_posters or default_posters_dir()
    # Inputs first: a failed import must not leave an empty store that looks valid.
    for value in (args.csv, args.posters_index, args.links):
        if value and not Path(value).expanduser().is_file():
            raise FileNotFoundError(2, "no such file", value)
    links, links_source = _links_for(args.csv, args.links, args.dataset)
    if args.posters_dir and not Path(args.posters_dir).expanduser().is_dir():
        raise DataError(
            f"--posters-dir {args.posters_dir!r} is not a folder; give the folder "
            "holding <movieId>.jpg files."
        )
    store_path = Path(_store_path(args)).expanduser()
    created = not store_path.exists()
    try:
        with MetadataStore(store_path) as store:
            report = import_metadata(
                store,
                args.csv,
                posters_dir=args.posters_dir,
                posters_index=args.posters_index,
                copy_posters_to=copy_to,
                overwrite=args.overwrite,
                progress=not args.quiet,
                links=links,
                links_source=links_source,
            )
            coverage = store.coverage()
            where = store.path
    except BaseException:
        if created:  # the run made the store: take it away with the failure
            _remove_store(store_path)
        raise
    print(report.summary())
    if links is not None:
        print(
            f"matched {report.rows - report.unlinked} of {report.rows} TMDB ids to MovieLens "
            f"movies through {links_source}"
        )
    print(_coverage_line(coverage))
    print(f"store: {where}")
    return 0


def _links_for(csv: str, links: str | None, dataset: str | None) -> tuple[Any, str]:
    """The links table for a CSV in TMDB's export layout (``None`` for other CSVs)."""
    from recsys.metadata.tmdb_export import is_tmdb_export_file

    if not is_tmdb_export_file(csv):
        if links or dataset:
            raise UsageError(
                f"--links and --dataset apply to a CSV in TMDB's export layout (an id "
                f"column of TMDB ids); {csv!r} has movie ids already."
            )
        return None, ""
    return read_links_option(links, dataset)


def read_links_option(links: str | None, dataset: str | None) -> tuple[Any, str]:
    """``(table, description)`` of ``--links FILE``, else of the dataset's links."""
    from recsys.metadata.fetch import links_from_movies, read_links

    if links:
        return read_links(links), f"the links table {links!r}"
    from recsys.data import load_dataset

    loaded = load_dataset(dataset)
    return links_from_movies(loaded.movies), f"the links of {loaded.spec}"


_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _store_files(path: Any) -> list[Path]:
    """The SQLite store at ``path`` and its journal files (which may not exist)."""
    return [Path(f"{Path(path).expanduser()}{suffix}") for suffix in _SQLITE_SUFFIXES]


def _dataset_files(spec: str | None) -> list[Path]:
    """The files a ``--dataset`` path names (a .zip, or the files of a folder)."""
    path = Path(spec).expanduser() if spec else None
    if path is None or not path.exists():  # a dataset name such as "ml-25m", or nothing
        return []
    return [path, *(p for p in path.iterdir() if p.is_file())] if path.is_dir() else [path]


def _remove_store(path: Path) -> None:
    """Delete an SQLite store and its journal files."""
    for file in _store_files(path):
        with contextlib.suppress(FileNotFoundError):
            file.unlink()


def _status(args: argparse.Namespace) -> int:
    from recsys.metadata.store import MetadataStore

    with MetadataStore(_store_path(args), readonly=True) as store:
        coverage = store.coverage()
        reasons = store.missing_reasons()
        where = str(store.path)
    if args.json:
        print(json.dumps({"store": where, **coverage, "missing_reasons": reasons}, indent=2))
        return 0
    print(f"store: {where}")
    print(_coverage_line(coverage))
    for why, count in reasons.items():
        print(f"  missing {count}: {why}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from recsys.metadata.export import write_metadata_csv
    from recsys.metadata.frame import join_movies
    from recsys.metadata.store import MetadataStore

    store_path = _store_path(args)
    check_writable_file(
        args.csv,
        what="CSV",
        inputs=(*_store_files(store_path), *_dataset_files(args.dataset)),
        suffix=".csv",
    )
    with MetadataStore(store_path, readonly=True) as store:
        frame = store.to_frame()
    if args.dataset:
        from recsys.data import load_dataset

        frame = join_movies(load_dataset(args.dataset).movies, frame)
    path = write_metadata_csv(frame, args.csv)
    print(f"wrote {len(frame)} movies to {path}")
    return 0


def _coverage_line(c: dict[str, int]) -> str:
    n = max(c["movies"], 1)

    def pct(k: str) -> str:
        return f"{c[k]} ({100.0 * c[k] / n:.1f}%)"

    text = (
        f"movies {c['movies']}: ok {c['ok']}, missing {c['missing']}, failed "
        f"{c['failed']}; with overview {pct('overview')}, genres {pct('genres')}, "
        f"TMDB genres {pct('tmdb_genres')}, poster {pct('poster')}"
    )
    if c.get("links"):
        text += f"; pending {c['pending']} of {c['links']} linked"
    return text
