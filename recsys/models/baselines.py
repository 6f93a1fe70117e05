"""Non-learned baselines that every rating model is compared with.

:class:`GlobalMean` and :class:`BiasBaseline` work on contiguous indices (``-1`` marks
an id unknown to the training data). :class:`GenreMean`, the cold-start baseline, works
on raw movie ids and the movie catalogue's genres.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from recsys.errors import NotFittedError

__all__ = ["BiasBaseline", "GenreMean", "GlobalMean"]


class GlobalMean:
    """Predicts the mean training rating for every pair.

    Examples
    --------
    >>> GlobalMean().fit([0, 1], [0, 0], [3.0, 5.0]).predict([5], [7]).tolist()
    [4.0]
    """

    def fit(self, users: ArrayLike, movies: ArrayLike, ratings: ArrayLike) -> GlobalMean:
        """Learn the mean of ``ratings``; returns ``self``."""
        values = np.asarray(ratings, dtype=np.float64)
        if values.size == 0:
            raise ValueError("cannot fit a baseline on zero ratings")
        self.mean_ = float(values.mean())
        return self

    def predict(self, users: ArrayLike, movies: ArrayLike) -> NDArray[np.float64]:
        """``ndarray of shape (n,)``, the training mean repeated."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("GlobalMean is not fitted; call fit first.")
        return np.full(np.asarray(users).shape[0], self.mean_)


class BiasBaseline:
    """``mu + b_u + b_m``: user and movie biases, no interaction term.

    Fitted by alternating least squares on the regularised objective
    ``sum (r - mu - b_u - b_m)^2 + reg_user * sum b_u^2 + reg_movie * sum b_m^2``
    (Koren 2010, section 2.1; Surprise's ``BaselineOnly`` uses the same defaults). A
    user or movie unknown to the training data (index ``-1``) gets a zero bias.

    Parameters
    ----------
    reg_user, reg_movie : shrinkage of the biases towards zero.
    n_iter : alternating updates.

    Attributes
    ----------
    mean_ : float, the global mean.
    user_bias_ : ndarray of shape (n_users,).
    movie_bias_ : ndarray of shape (n_movies,).
    """

    def __init__(
        self, *, reg_user: float = 15.0, reg_movie: float = 10.0, n_iter: int = 10
    ) -> None:
        self.reg_user = reg_user
        self.reg_movie = reg_movie
        self.n_iter = n_iter

    def fit(
        self,
        users: ArrayLike,
        movies: ArrayLike,
        ratings: ArrayLike,
        *,
        n_users: int | None = None,
        n_movies: int | None = None,
    ) -> BiasBaseline:
        """Fit on index arrays of equal length; returns ``self``."""
        u = np.asarray(users, dtype=np.int64)
        m = np.asarray(movies, dtype=np.int64)
        r = np.asarray(ratings, dtype=np.float64)
        if r.size == 0:
            raise ValueError("cannot fit a baseline on zero ratings")
        n_users = int(n_users if n_users is not None else u.max() + 1)
        n_movies = int(n_movies if n_movies is not None else m.max() + 1)
        self.mean_ = float(r.mean())
        residual = r - self.mean_
        user_count = np.bincount(u, minlength=n_users)
        movie_count = np.bincount(m, minlength=n_movies)
        bu = np.zeros(n_users)
        bm = np.zeros(n_movies)
        for _ in range(self.n_iter):
            bm = np.bincount(m, residual - bu[u], minlength=n_movies) / (
                self.reg_movie + movie_count
            )
            bu = np.bincount(u, residual - bm[m], minlength=n_users) / (self.reg_user + user_count)
        self.user_bias_, self.movie_bias_ = bu, bm
        return self

    def predict(self, users: ArrayLike, movies: ArrayLike) -> NDArray[np.float64]:
        """``ndarray of shape (n,)``; index ``-1`` contributes a zero bias."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("BiasBaseline is not fitted; call fit first.")
        u = np.asarray(users, dtype=np.int64)
        m = np.asarray(movies, dtype=np.int64)
        bu = np.where(u >= 0, self.user_bias_[np.maximum(u, 0)], 0.0)
        bm = np.where(m >= 0, self.movie_bias_[np.maximum(m, 0)], 0.0)
        return self.mean_ + bu + bm


class GenreMean:
    """Cold-start baseline: the mean training rating of a movie's genres.

    For each genre, the mean of the training ratings of the movies that have it; a
    movie is predicted the mean of its genres' means (genres no training movie has are
    skipped), and the global training mean when it has no such genre. Needs no rating
    of the movie itself, only its genres, so it applies to movies never rated.

    Attributes
    ----------
    mean_ : float, the global training mean.
    genre_means_ : dict[str, float], per genre the mean rating of its training movies.

    Examples
    --------
    >>> movies = pd.DataFrame({"movie_id": [1, 2, 3],
    ...                        "genres": [("Comedy",), ("Drama",), ("Comedy", "Drama")]})
    >>> model = GenreMean().fit([1, 1, 2], [4.0, 5.0, 2.0], movies)
    >>> model.predict([3, 2, 99]).tolist()
    [3.25, 2.0, 3.6666666666666665]
    """

    def fit(self, movie_ids: ArrayLike, ratings: ArrayLike, movies: pd.DataFrame) -> GenreMean:
        """Fit on the training ratings' raw movie ids and a catalogue with ``genres``.

        Parameters
        ----------
        movie_ids, ratings : array-like of shape (n,), the training ratings.
        movies : DataFrame with ``movie_id`` and ``genres`` (tuple of str per movie).

        Raises
        ------
        ValueError
            On zero ratings or a catalogue without a ``genres`` column.
        """
        ids = np.asarray(movie_ids, dtype=np.int64).ravel()
        values = np.asarray(ratings, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError("cannot fit a baseline on zero ratings")
        if "genres" not in movies.columns or "movie_id" not in movies.columns:
            raise ValueError(
                "the genre-mean baseline needs a movie catalogue with movie_id and genres columns"
            )
        self.mean_ = float(values.mean())
        self._genres = {
            int(i): tuple(g) if isinstance(g, (tuple, list)) else ()
            for i, g in zip(movies["movie_id"], movies["genres"], strict=True)
        }
        per_movie = (
            pd.DataFrame({"movie_id": ids, "rating": values})
            .groupby("movie_id")["rating"]
            .agg(["sum", "count"])
        )
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for movie, total, count in zip(
            per_movie.index, per_movie["sum"], per_movie["count"], strict=True
        ):
            for genre in self._genres.get(int(movie), ()):
                sums[genre] = sums.get(genre, 0.0) + float(total)
                counts[genre] = counts.get(genre, 0) + int(count)
        self.genre_means_ = {g: sums[g] / counts[g] for g in sorted(sums)}
        return self

    def predict(self, movie_ids: ArrayLike) -> NDArray[np.float64]:
        """``ndarray of shape (n,)``: each movie's genre mean (global mean without one)."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("GenreMean is not fitted; call fit first.")
        ids = np.asarray(movie_ids, dtype=np.int64).ravel()
        cache: dict[int, float] = {}
        out = np.empty(len(ids))
        for i, movie in enumerate(ids.tolist()):
            if movie not in cache:
                means = [
                    self.genre_means_[g]
                    for g in self._genres.get(movie, ())
                    if g in self.genre_means_
                ]
                cache[movie] = float(np.mean(means)) if means else self.mean_
            out[i] = cache[movie]
        return out
