"""The typed dataset: ratings and movies, with where they came from.

:func:`load_dataset` is the one door in: the bundled ml-latest-small (the offline
default), a downloaded MovieLens release by name, a MovieLens directory or ``.zip``,
or any delimited ratings file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

import recsys.data.movielens as movielens
from recsys.data.columnar import CachedRatings, cached_ratings, file_fingerprint
from recsys.data.download import DATASETS, fetch_dataset
from recsys.data.generic import ratings_frame, read_ratings_file
from recsys.data.schema import drop_duplicate_pairs, make_movies
from recsys.data.source import DataSource
from recsys.errors import DataError
from recsys.ids import IdMaps, encode_ids

__all__ = [
    "BUNDLED",
    "Dataset",
    "bundled_path",
    "load_dataset",
    "load_ratings_file",
    "load_ratings_frame",
]

#: The dataset shipped inside the package, used when no other is named.
BUNDLED = "ml-latest-small"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Ratings and movies of one dataset.

    Attributes
    ----------
    name : str, e.g. ``"ml-latest-small"``.
    ratings : DataFrame with ``user_id, movie_id, rating[, timestamp]``.
    movies : DataFrame with ``movie_id, title, year, genres, imdb_id, tmdb_id``; for a
        plain ratings file only ``movie_id`` is known.
    spec : how to load it again (a name, a path or ``ratings:PATH``), stored with models.
    source : the files, when the dataset came from a MovieLens layout.
    layout : ``csv``, ``dat``, ``100k`` or ``ratings-file``.
    n_duplicates : ratings dropped on reading because their (user, movie) pair was
        rated again (the latest rating by timestamp is kept, else the last row; see
        :func:`recsys.data.schema.drop_duplicate_pairs`).
    ids : the strings of string user or movie ids, whose codes the frames hold
        (:class:`recsys.ids.IdMaps`; empty when the ids are integers).
    """

    name: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    spec: str
    source: DataSource | None = field(default=None, repr=False)
    layout: str = "ratings-file"
    n_duplicates: int = 0
    ids: IdMaps = field(default_factory=IdMaps)

    @property
    def folds(self) -> tuple[str, ...]:
        """The predefined folds of the dataset (ml-100k's ``u1``..``u5``, ``ua``, ``ub``)."""
        if self.source is None or self.layout != "100k":
            return ()
        return tuple(f for f in movielens.FOLDS_100K if self.source.has(f"{f}.base"))

    def read_fold(self, fold: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(train, test)`` ratings of a predefined fold.

        Raises
        ------
        DataError
            If the dataset has no predefined folds or not this one.
        """
        if self.source is None or self.layout != "100k":
            raise DataError(
                f"{self.name} has no predefined folds; only ml-100k ships "
                "u1..u5, ua and ub. Use random:F, user:F or temporal:F."
            )
        return movielens.read_fold(self.source, fold)

    def read_tags(self) -> pd.DataFrame:
        """Free-text tags (``user_id, movie_id, tag, timestamp``); empty if there are none."""
        if self.source is None:
            return movielens.read_tags_empty()
        return movielens.read_tags(self.source, self.layout)

    def titles(self) -> pd.Series:
        """Movie titles indexed by movie id (``"movie <id>"`` where unknown)."""
        titles = self.movies.set_index("movie_id")["title"]
        return titles.where(titles.notna(), "movie " + titles.index.astype(str))


def bundled_path() -> Path:
    """Path of the bundled ``ml-latest-small.zip`` inside the installed package."""
    return Path(str(resources.files("recsys.data.bundled") / f"{BUNDLED}.zip"))


def load_dataset(
    spec: str | os.PathLike[str] | None = None, *, columnar: bool | None = None
) -> Dataset:
    """Load a MovieLens dataset by name or path.

    Parameters
    ----------
    spec : ``None`` or ``"ml-latest-small"`` for the bundled copy (no network); another
        name from :data:`recsys.data.download.DATASETS` (downloaded once into the
        cache); or the path of a MovieLens directory or ``.zip``.

    Raises
    ------
    DataError
        Unknown name, missing path, not a MovieLens layout, unreadable files.

    Examples
    --------
    >>> data = load_dataset()
    >>> len(data.ratings), data.ratings.columns.tolist()
    (100836, ['user_id', 'movie_id', 'rating', 'timestamp'])
    """
    if spec is None or str(spec) == BUNDLED:
        source, name, text = DataSource(bundled_path()), BUNDLED, BUNDLED
    elif isinstance(spec, str) and spec in DATASETS:
        source, name, text = DataSource(fetch_dataset(spec)), spec, spec
    else:
        path = Path(spec).expanduser()
        if not path.exists() and os.sep not in str(spec) and str(spec).startswith("ml-"):
            raise DataError(
                f"unknown dataset {str(spec)!r}; known: {', '.join(DATASETS)}, "
                "or the path of a MovieLens folder or .zip."
            )
        source = DataSource(path)
        name, text = source.name, str(path.resolve())
    layout = movielens.detect_layout(source)
    checksum = DATASETS[spec].md5 if isinstance(spec, str) and spec in DATASETS else None
    ratings, duplicates, _ = _read_ratings_cached(source, layout, checksum, columnar)
    movies = movielens.read_movies(source, layout)
    movies = _cover_rated_movies(movies, ratings)
    return Dataset(name, ratings, movies, text, source, layout, n_duplicates=duplicates)


_RATINGS_FILES = {"csv": "ratings.csv", "dat": "ratings.dat", "100k": "u.data"}


def _read_ratings_cached(
    source: DataSource, layout: str, checksum: str | None, columnar: bool | None
) -> CachedRatings:
    file, member = source.file_path(_RATINGS_FILES[layout])
    fingerprint = file_fingerprint(file, member=member, layout=layout, md5=checksum)
    return cached_ratings(
        fingerprint, lambda: movielens.read_ratings(source, layout), enabled=columnar
    )


def load_ratings_file(
    path: str | os.PathLike[str],
    *,
    sep: str = ",",
    columns: str | None = None,
    columnar: bool | None = None,
) -> Dataset:
    """Wrap a plain ratings file (see :func:`recsys.data.generic.read_ratings_file`).

    String ids become codes (:attr:`Dataset.ids` keeps the strings; a string movie id
    is also the movie's title). ``columnar`` is as in :func:`load_dataset`.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        read_ratings_file(path, sep=sep, columns=columns)  # raises: missing, a folder
    parsed = cached_ratings(
        file_fingerprint(file, sep=sep, columns=columns),
        lambda: read_ratings_file(path, sep=sep, columns=columns),
        enabled=columnar,
    )
    file = file.resolve()
    spec = f"ratings:{file}|sep={sep}|columns={columns or ''}"
    return _plain_dataset(file.stem, parsed, spec)


def load_ratings_frame(
    frame: pd.DataFrame,
    *,
    user: str | None = None,
    item: str | None = None,
    rating: str | None = None,
    timestamp: str | None = None,
    name: str = "frame",
) -> Dataset:
    """A :class:`Dataset` of a pandas DataFrame of ratings, ready for a model.

    The columns are found as in :func:`recsys.data.ratings_frame` (or named here);
    string ids become codes (:attr:`Dataset.ids` keeps the strings) and duplicate
    (user, movie) pairs are dropped by the documented policy, as for a file.

    Parameters
    ----------
    frame : shape (n, k), one row per rating.
    user, item, rating, timestamp : the names of those columns in ``frame``.
    name : the dataset's name (in metrics and model folders).

    Examples
    --------
    >>> raw = pd.DataFrame({"who": ["ann", "bob", "ann"], "isbn": ["0195", "0195", "X12"],
    ...                     "stars": [4.0, 3.0, 5.0]})
    >>> data = load_ratings_frame(raw, user="who", item="isbn", rating="stars")
    >>> data.ratings["user_id"].tolist(), data.ids.movies.decode([1, 2]).tolist()
    ([1, 2, 1], ['0195', 'X12'])
    """
    canonical = ratings_frame(frame, user=user, item=item, rating=rating, timestamp=timestamp)
    encoded, ids = encode_ids(canonical)
    encoded, duplicates = drop_duplicate_pairs(encoded)
    return _plain_dataset(name, CachedRatings(encoded, duplicates, ids), f"frame:{name}")


def _plain_dataset(name: str, parsed: CachedRatings, spec: str) -> Dataset:
    """A dataset of ratings alone: its movies are the rated ones, titled by their string
    id when the ids are strings."""
    ratings, duplicates, ids = parsed
    movie_ids = np.unique(ratings["movie_id"].to_numpy())
    titles = None if ids.movies is None else ids.movies.decode(movie_ids).tolist()
    movies = make_movies(movie_ids, title=titles)
    return Dataset(name, ratings, movies, spec, n_duplicates=duplicates, ids=ids)


def _cover_rated_movies(movies: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Add rows for movies that are rated but missing from the movies file."""
    rated = np.unique(ratings["movie_id"].to_numpy())
    missing = np.setdiff1d(rated, movies["movie_id"].to_numpy(), assume_unique=True)
    if len(missing) == 0:
        return movies
    return (
        pd.concat([movies, make_movies(missing)], ignore_index=True)
        .sort_values("movie_id", kind="stable")
        .reset_index(drop=True)
    )
