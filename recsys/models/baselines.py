"""Non-learned baselines that every rating model is compared with.

Every baseline is a scikit-learn estimator (hyper-parameters in the constructor,
``fit`` returns ``self``, fitted attributes end in ``_``) with one signature:
``fit(users, movies, ratings)`` and ``predict(users, movies)`` on contiguous indices,
``-1`` marking an id unknown to the training data. :class:`GenreMean`, the cold-start
baseline, also takes the genres of each movie index (see :func:`catalogue_genres`), so
that it can score movies without training ratings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator

from recsys.errors import InvalidParameterError, NotFittedError

__all__ = [
    "BiasBaseline",
    "GenreMean",
    "GlobalMean",
    "Popularity",
    "RandomScores",
    "catalogue_genres",
]


class GlobalMean(BaseEstimator):
    """Predicts the mean training rating for every pair.

    Attributes
    ----------
    mean_ : float, the mean training rating.

    Examples
    --------
    >>> GlobalMean().fit([0, 1], [0, 0], [3.0, 5.0]).predict([5], [7]).tolist()
    [4.0]
    """

    def fit(self, users: ArrayLike, movies: ArrayLike, ratings: ArrayLike) -> GlobalMean:
        """Learn the mean of ``ratings`` (``users`` and ``movies`` are not read); returns
        ``self``."""
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

    def score_users(self, users: ArrayLike, n_movies: int) -> NDArray[np.float64]:
        """Scores of every movie index for each user index, ``(len(users), n_movies)``:
        the mean everywhere (a top-N list then follows the tie rule alone)."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("GlobalMean is not fitted; call fit first.")
        return np.full((np.asarray(users).shape[0], int(n_movies)), self.mean_)


class BiasBaseline(BaseEstimator):
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
    user_bias_ : ndarray of float64, shape (n_users,).
    movie_bias_ : ndarray of float64, shape (n_movies,).
    """

    mean_: float
    user_bias_: NDArray[np.float64]
    movie_bias_: NDArray[np.float64]

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

    @classmethod
    def from_biases(
        cls,
        mean: float,
        user_bias: NDArray[np.float64],
        movie_bias: NDArray[np.float64],
    ) -> BiasBaseline:
        """A fitted baseline with these biases (a saved model's; the constructor's
        defaults for the hyper-parameters)."""
        baseline = cls()
        baseline.mean_ = float(mean)
        baseline.user_bias_ = np.asarray(user_bias)
        baseline.movie_bias_ = np.asarray(movie_bias)
        return baseline

    def predict(self, users: ArrayLike, movies: ArrayLike) -> NDArray[np.float64]:
        """``ndarray of shape (n,)``; index ``-1`` contributes a zero bias."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("BiasBaseline is not fitted; call fit first.")
        u = np.asarray(users, dtype=np.int64)
        m = np.asarray(movies, dtype=np.int64)
        bu = np.where(u >= 0, self.user_bias_[np.maximum(u, 0)], 0.0)
        bm = np.where(m >= 0, self.movie_bias_[np.maximum(m, 0)], 0.0)
        return self.mean_ + bu + bm

    def score_users(self, users: ArrayLike) -> NDArray[np.float64]:
        """Scores of every movie index for each user index, ``(len(users), n_movies)``:
        ``mu + b_u + b_m`` (for ranking, the movie bias alone decides the order)."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("BiasBaseline is not fitted; call fit first.")
        u = np.asarray(users, dtype=np.int64)
        bu = np.where(u >= 0, self.user_bias_[np.maximum(u, 0)], 0.0)
        return self.mean_ + bu[:, None] + self.movie_bias_[None, :]


class Popularity(BaseEstimator):
    """Ranks movies by their number of training ratings (a top-N baseline).

    Every user gets the same scores, the counts; the top-N protocol breaks ties by movie
    id and leaves out the movies the user rated. It predicts no ratings.

    Attributes
    ----------
    counts_ : ndarray of int64, shape (n_movies,), training ratings per movie index.

    Examples
    --------
    >>> Popularity().fit([0, 1, 1], [2, 2, 0], n_movies=3).score_users([0]).tolist()
    [[1.0, 0.0, 2.0]]
    """

    counts_: NDArray[np.int64]

    def fit(
        self,
        users: ArrayLike,
        movies: ArrayLike,
        ratings: ArrayLike | None = None,
        *,
        n_movies: int | None = None,
    ) -> Popularity:
        """Count the ratings of each movie index (``users``, ``ratings`` not read)."""
        m = np.asarray(movies, dtype=np.int64)
        if m.size == 0:
            raise ValueError("cannot fit a baseline on zero ratings")
        self.counts_ = np.bincount(m, minlength=int(n_movies if n_movies else m.max() + 1))
        return self

    def score_users(self, users: ArrayLike) -> NDArray[np.float64]:
        """``(len(users), n_movies)``: the counts repeated for every user."""
        if not hasattr(self, "counts_"):
            raise NotFittedError("Popularity is not fitted; call fit first.")
        n = np.asarray(users).shape[0]
        return np.broadcast_to(self.counts_.astype(np.float64), (n, len(self.counts_))).copy()


class RandomScores(BaseEstimator):
    """Uniform random scores, seeded per user (a top-N baseline).

    User index ``u`` always gets the same scores for a given ``seed``, however the users
    are grouped into blocks.

    Parameters
    ----------
    seed : the seed; user ``u``'s scores come from ``default_rng([seed, u])``.

    Attributes
    ----------
    n_movies_ : int, the number of movie indices scored.

    Examples
    --------
    >>> r = RandomScores(seed=1).fit([0], [0], n_movies=4)
    >>> bool((r.score_users([3]) == r.score_users([2, 3])[1]).all())
    True
    """

    n_movies_: int

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    def fit(
        self,
        users: ArrayLike,
        movies: ArrayLike,
        ratings: ArrayLike | None = None,
        *,
        n_movies: int | None = None,
    ) -> RandomScores:
        """Remember the number of movies; returns ``self``."""
        m = np.asarray(movies, dtype=np.int64)
        if m.size == 0:
            raise ValueError("cannot fit a baseline on zero ratings")
        self.n_movies_ = int(n_movies if n_movies else m.max() + 1)
        return self

    def score_users(self, users: ArrayLike) -> NDArray[np.float64]:
        """``(len(users), n_movies)`` uniform scores in [0, 1)."""
        if not hasattr(self, "n_movies_"):
            raise NotFittedError("RandomScores is not fitted; call fit first.")
        u = np.asarray(users, dtype=np.int64).ravel()
        out = np.empty((len(u), self.n_movies_))
        for row, user in enumerate(u.tolist()):
            out[row] = np.random.default_rng([int(self.seed), max(user, 0)]).random(self.n_movies_)
        return out


def catalogue_genres(movies: pd.DataFrame, movie_ids: ArrayLike) -> list[tuple[str, ...]]:
    """The genres of each of ``movie_ids`` in a catalogue: what :meth:`GenreMean.fit`
    takes, for movie indices of a vocabulary whose ids are ``movie_ids``.

    A movie absent from the catalogue, or without genres, gets ``()``.

    Raises
    ------
    DataError
        If ``movies`` has no ``movie_id`` or ``genres`` column.

    Examples
    --------
    >>> movies = pd.DataFrame({"movie_id": [1, 2], "genres": [("Comedy",), ("Drama",)]})
    >>> catalogue_genres(movies, [2, 5])
    [('Drama',), ()]
    """
    if "genres" not in movies.columns or "movie_id" not in movies.columns:
        raise InvalidParameterError(
            "movies",
            "the genre-mean baseline needs a movie catalogue with movie_id and genres "
            f"columns; the one given has {', '.join(map(str, movies.columns)) or 'none'}.",
        )
    by_id = {
        int(i): tuple(g) if isinstance(g, (tuple, list)) else ()
        for i, g in zip(movies["movie_id"], movies["genres"], strict=True)
    }
    return [by_id.get(int(i), ()) for i in np.asarray(movie_ids, dtype=np.int64).ravel()]


class GenreMean(BaseEstimator):
    """Cold-start baseline: the mean training rating of a movie's genres.

    For each genre, the mean of the training ratings of the movies that have it; a
    movie is predicted the mean of its genres' means (genres no training movie has are
    skipped), and the global training mean when it has no such genre. Needs no rating
    of the movie itself, only its genres, so it applies to movies never rated: give it
    movie indices of a vocabulary that holds them (e.g. the training movies and the
    catalogue's).

    Attributes
    ----------
    mean_ : float, the global training mean.
    genre_means_ : dict[str, float], per genre the mean rating of its training movies.
    movie_genres_ : list of tuple[str, ...], length n_movies, the genres of each movie
        index (as given to ``fit``).

    Examples
    --------
    >>> movies = pd.DataFrame({"movie_id": [1, 2, 3],
    ...                        "genres": [("Comedy",), ("Drama",), ("Comedy", "Drama")]})
    >>> genres = catalogue_genres(movies, [1, 2, 3])  # movie index i is id i + 1
    >>> model = GenreMean().fit([0, 1, 0], [0, 0, 1], [4.0, 5.0, 2.0], genres=genres)
    >>> model.predict([0, 0, 0], [2, 1, -1]).tolist()
    [3.25, 2.0, 3.6666666666666665]
    """

    mean_: float
    genre_means_: dict[str, float]
    movie_genres_: list[tuple[str, ...]]

    def fit(
        self,
        users: ArrayLike,
        movies: ArrayLike,
        ratings: ArrayLike,
        *,
        genres: Sequence[Sequence[str]],
    ) -> GenreMean:
        """Fit on index arrays of equal length and the genres of every movie index;
        returns ``self`` (``users`` are not read).

        Parameters
        ----------
        users, movies, ratings : array-like of shape (n,), the training ratings.
        genres : the genres of each movie index (``genres[i]`` for index ``i``), e.g.
            :func:`catalogue_genres` of the vocabulary's ids.

        Raises
        ------
        ValueError
            On zero ratings, or a movie index outside ``genres``.
        """
        m = np.asarray(movies, dtype=np.int64).ravel()
        values = np.asarray(ratings, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError("cannot fit a baseline on zero ratings")
        table = [tuple(g) for g in genres]
        if m.min() < 0 or m.max() >= len(table):
            raise ValueError(
                f"movie indices span {m.min()}..{m.max()}, but genres were given for "
                f"{len(table)} movies; give the genres of every movie index."
            )
        self.mean_ = float(values.mean())
        self.movie_genres_ = table
        sums_per_movie = np.bincount(m, values, minlength=len(table))
        counts_per_movie = np.bincount(m, minlength=len(table))
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for movie in np.flatnonzero(counts_per_movie).tolist():
            for genre in table[movie]:
                sums[genre] = sums.get(genre, 0.0) + float(sums_per_movie[movie])
                counts[genre] = counts.get(genre, 0) + int(counts_per_movie[movie])
        self.genre_means_ = {g: sums[g] / counts[g] for g in sorted(sums)}
        return self

    def predict(self, users: ArrayLike, movies: ArrayLike) -> NDArray[np.float64]:
        """``ndarray of shape (n,)``: each movie's genre mean (the global mean for a movie
        without a rated genre, or index ``-1``)."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("GenreMean is not fitted; call fit first.")
        m = np.asarray(movies, dtype=np.int64).ravel()
        per_movie = np.full(len(self.movie_genres_) + 1, self.mean_)  # last: unknown
        for index, genres in enumerate(self.movie_genres_):
            rated = [self.genre_means_[g] for g in genres if g in self.genre_means_]
            if rated:
                per_movie[index] = np.mean(rated)
        known = (m >= 0) & (m < len(self.movie_genres_))
        return per_movie[np.where(known, m, len(self.movie_genres_))]
