"""Per-movie facts from a fitted model: catalogue data and training rating statistics.

Counts and means come from the model's training interactions (``model.seen_``): the
training part of the split (the share held out for early stopping included) whose user
and movie the model knows. They are not counts over the whole dataset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.errors import DataError, ModelDirError

__all__ = [
    "STATS_NOTE",
    "catalogue",
    "most_rated",
    "movie_embedding_table",
    "movie_rating_stats",
]

#: One sentence for reports saying where the counts come from.
STATS_NOTE = (
    "n_ratings and mean_rating count the training ratings of the model's split "
    "(the early-stopping share included), not the whole dataset."
)


def _user_of_interaction(model: Any) -> NDArray[np.int64]:
    indptr: NDArray[np.int64] = np.asarray(model.seen_.indptr, dtype=np.int64)
    counts = indptr[1:] - indptr[:-1]
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def movie_rating_stats(model: Any) -> pd.DataFrame:
    """Training rating statistics for every movie the model has an embedding for.

    Parameters
    ----------
    model : a fitted :class:`~recsys.models.rating_model.RatingModel`.

    Returns
    -------
    DataFrame indexed by ``movie_id`` (vocabulary order, i.e. ascending id) with columns
    ``n_ratings`` (int), ``mean_rating`` and ``raters_mean``: the average, over the users
    who rated the movie, of each user's own mean training rating. A high ``raters_mean``
    means the movie was watched by generous raters, which a bias model corrects for.

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> from recsys.models.rating_model import RatingModel
    >>> data = load_dataset()
    >>> ratings = data.ratings[data.ratings.user_id <= 100]  # a small, quick model
    >>> model = RatingModel("bias", factors=4, epochs=1).fit(ratings, movies=data.movies)
    >>> stats = movie_rating_stats(model)
    >>> int(stats.loc[1, "n_ratings"]) == int((ratings.movie_id == 1).sum())
    True
    """
    seen = model.seen_
    n_movies = len(model.movie_vocab_)
    movies = np.asarray(seen.movies, dtype=np.int64)
    ratings = np.asarray(seen.ratings, dtype=np.float64)
    users = _user_of_interaction(model)
    user_counts = np.bincount(users, minlength=len(seen.indptr) - 1)
    user_sums = np.bincount(users, weights=ratings, minlength=len(seen.indptr) - 1)
    user_means = user_sums / np.maximum(user_counts, 1)
    counts = np.bincount(movies, minlength=n_movies)
    sums = np.bincount(movies, weights=ratings, minlength=n_movies)
    raters = np.bincount(movies, weights=user_means[users], minlength=n_movies)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame(
            {
                "n_ratings": counts.astype(np.int64),
                "mean_rating": np.where(counts > 0, sums / np.maximum(counts, 1), np.nan),
                "raters_mean": np.where(counts > 0, raters / np.maximum(counts, 1), np.nan),
            },
            index=pd.Index(np.asarray(model.movie_vocab_.ids, dtype=np.int64), name="movie_id"),
        )
    return frame


def most_rated(stats: pd.DataFrame, n: int) -> NDArray[np.int64]:
    """Ids of the ``n`` movies with the most training ratings; ties go to the smaller id.

    ``n`` larger than the number of movies returns them all.
    """
    if n < 1:
        raise DataError(f"the number of movies must be at least 1, got {n}.")
    ids = stats.index.to_numpy(dtype=np.int64)
    order = np.lexsort((ids, -stats["n_ratings"].to_numpy()))
    return ids[order[:n]]


def catalogue(model: Any, movie_ids: NDArray[np.int64]) -> pd.DataFrame:
    """``movie_id, title, year, genres`` for ``movie_ids`` from the model's catalogue.

    Movies the catalogue lacks (or a model fitted without one) get the title
    ``"movie <id>"``, a missing year and no genres.
    """
    ids = np.asarray(movie_ids, dtype=np.int64)
    frame = pd.DataFrame({"movie_id": ids})
    known = model.movies_
    if known is not None and len(known):
        known = known.drop_duplicates("movie_id").set_index("movie_id")
        for column in ("title", "year", "genres"):
            if column in known.columns:
                frame[column] = known[column].reindex(ids).to_numpy()
    titles = frame["title"] if "title" in frame else pd.Series([None] * len(ids))
    frame["title"] = [
        t if isinstance(t, str) and t else f"movie {i}" for t, i in zip(titles, ids, strict=True)
    ]
    years = frame["year"] if "year" in frame else pd.Series([None] * len(ids))
    frame["year"] = pd.array(
        pd.to_numeric(pd.Series(years, dtype=object), errors="coerce"), dtype="Int64"
    )
    genres = frame["genres"] if "genres" in frame else pd.Series([()] * len(ids))
    frame["genres"] = pd.Series(
        [tuple(g) if isinstance(g, (tuple, list)) else () for g in genres], dtype=object
    )
    return frame[["movie_id", "title", "year", "genres"]]


def movie_embedding_table(model: Any) -> pd.DataFrame:
    """The model's movie embeddings (indexed by movie id, columns ``f0 ..``).

    Raises
    ------
    ModelDirError
        If the model has no movie embedding table (e.g. a network without a
        ``movie_embedding`` layer).
    """
    try:
        table = model.movie_embeddings()
    except (AttributeError, ValueError):
        raise ModelDirError(
            "this model has no movie embeddings (its network has no "
            "'movie_embedding' layer); analyse a dot, bias or mlp rating model."
        ) from None
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise ModelDirError(
            f"this model's movie embedding table is empty (shape "
            f"{table.shape}); retrain it on a non-empty ratings set."
        )
    return table
