"""Movie metadata from TMDB: overviews, genres and posters, in an embedded SQLite store.

The flow is: MovieLens links (``movieId -> tmdbId``) -> :func:`fetch_metadata` (through
:class:`TMDBClient`, rate limited and retried) or :func:`import_metadata` (an existing
CSV and posters folder) -> :class:`MetadataStore` -> :func:`load_metadata` (a pandas
DataFrame, one row per movie) or ``recsys metadata export``.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from recsys.metadata import MetadataStore, import_metadata, load_metadata
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "movies.csv").write_text(
...     "movieId,title,genres,tmdbId,overview\\n1,Toy Story (1995),Animation|Comedy,862,"
...     "Toys come alive.\\n")
>>> with MetadataStore(folder / "meta.sqlite") as store:
...     _ = import_metadata(store, folder / "movies.csv", progress=False)
>>> meta = load_metadata(folder / "meta.sqlite")  # without a path: the default store
>>> meta[["movie_id", "tmdb_id", "overview"]].values.tolist()
[[1, 862, 'Toys come alive.']]
"""

from __future__ import annotations

from recsys.metadata.client import (
    DEFAULT_API_BASE,
    DEFAULT_IMAGE_BASE,
    POSTER_SIZES,
    MissingAPIKeyError,
    TMDBAuthError,
    TMDBClient,
    TMDBError,
    TMDBNotFound,
    TMDBRequestFailed,
    read_api_key,
)
from recsys.metadata.export import write_metadata_csv
from recsys.metadata.fetch import FetchReport, fetch_metadata, links_from_movies, read_links
from recsys.metadata.frame import METADATA_COLUMNS, join_movies
from recsys.metadata.genres import (
    FOREIGN_GENRE_ID,
    TMDB_MOVIE_GENRES,
    TMDB_TO_MOVIELENS,
    merge_genre_list,
    to_movielens_genres,
)
from recsys.metadata.importer import ImportReport, import_metadata, read_metadata_csv
from recsys.metadata.load import load_metadata
from recsys.metadata.popular import fetch_popular
from recsys.metadata.posters import default_posters_dir
from recsys.metadata.ratelimit import RateLimiter, RetryPolicy
from recsys.metadata.store import MetadataStore, default_store_path

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_IMAGE_BASE",
    "FOREIGN_GENRE_ID",
    "METADATA_COLUMNS",
    "POSTER_SIZES",
    "TMDB_MOVIE_GENRES",
    "TMDB_TO_MOVIELENS",
    "FetchReport",
    "ImportReport",
    "MetadataStore",
    "MissingAPIKeyError",
    "RateLimiter",
    "RetryPolicy",
    "TMDBAuthError",
    "TMDBClient",
    "TMDBError",
    "TMDBNotFound",
    "TMDBRequestFailed",
    "default_posters_dir",
    "default_store_path",
    "fetch_metadata",
    "fetch_popular",
    "import_metadata",
    "join_movies",
    "links_from_movies",
    "load_metadata",
    "merge_genre_list",
    "read_api_key",
    "read_links",
    "read_metadata_csv",
    "to_movielens_genres",
    "write_metadata_csv",
]
