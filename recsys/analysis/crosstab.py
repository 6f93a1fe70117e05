"""The most active users against the most-rated movies, with their training ratings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys.errors import DataError

__all__ = ["rating_crosstab"]


def rating_crosstab(model: Any, n_users: int = 15, n_movies: int = 15) -> pd.DataFrame:
    """Ratings of the ``n_users`` most active users on the ``n_movies`` most-rated movies.

    Activity and popularity are counted on the model's training interactions; ties go
    to the smaller id.

    Parameters
    ----------
    model : a fitted :class:`~recsys.models.rating_model.RatingModel`.
    n_users, n_movies : size of the table (clamped to what the model knows).

    Returns
    -------
    DataFrame of shape (n_users, n_movies), index ``user_id`` (most active first),
    columns the movie ids (most rated first), values the training rating or NaN where
    the user did not rate the movie.

    Raises
    ------
    DataError
        If ``n_users`` or ``n_movies`` is below 1.

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> from recsys.models.rating_model import RatingModel
    >>> data = load_dataset()
    >>> ratings = data.ratings[data.ratings.user_id <= 100]  # a small, quick model
    >>> model = RatingModel("bias", factors=4, epochs=1).fit(ratings, movies=data.movies)
    >>> rating_crosstab(model, 3, 2)  # doctest: +NORMALIZE_WHITESPACE
    movie_id  356  318
    user_id
    68        3.5  3.0
    19        2.0  NaN
    91        3.0  2.0
    """
    if n_users < 1 or n_movies < 1:
        raise DataError(
            f"the crosstab needs at least 1 user and 1 movie, got {n_users} x {n_movies}."
        )
    seen = model.seen_
    indptr = np.asarray(seen.indptr, dtype=np.int64)
    movies = np.asarray(seen.movies, dtype=np.int64)
    ratings = np.asarray(seen.ratings, dtype=np.float64)
    user_counts = np.diff(indptr)
    users = np.repeat(np.arange(len(user_counts)), user_counts)
    user_ids = np.asarray(model.user_vocab_.ids, dtype=np.int64)
    movie_ids = np.asarray(model.movie_vocab_.ids, dtype=np.int64)
    movie_counts = np.bincount(movies, minlength=len(movie_ids))

    top_users = np.lexsort((user_ids, -user_counts))[:n_users]
    top_movies = np.lexsort((movie_ids, -movie_counts))[:n_movies]
    row_of = np.full(len(user_ids), -1)
    row_of[top_users] = np.arange(len(top_users))
    col_of = np.full(len(movie_ids), -1)
    col_of[top_movies] = np.arange(len(top_movies))
    keep = (row_of[users] >= 0) & (col_of[movies] >= 0)
    table = np.full((len(top_users), len(top_movies)), np.nan)
    table[row_of[users[keep]], col_of[movies[keep]]] = ratings[keep]
    return pd.DataFrame(
        table,
        index=pd.Index(user_ids[top_users], name="user_id"),
        columns=pd.Index(movie_ids[top_movies], name="movie_id"),
    )
