"""Who rated what: a model's training ratings grouped by user index (CSR layout).

Plain numpy (no pandas, no Keras): a saved model's interactions are read back as they
were written.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Interactions"]


class Interactions:
    """Training ratings grouped by user index, in compressed sparse row layout.

    Parameters
    ----------
    indptr : ndarray of int64, shape (n_users + 1,); user ``u``'s ratings are
        ``movies[indptr[u]:indptr[u + 1]]`` and ``ratings[indptr[u]:indptr[u + 1]]``.
    movies : ndarray of int32, shape (n_ratings,), movie indices.
    ratings : ndarray of float32, shape (n_ratings,), the ratings.

    Examples
    --------
    >>> seen = Interactions.from_arrays(
    ...     np.array([1, 0, 1]), np.array([5, 6, 7]), np.array([4.0, 3.0, 2.5]), n_users=3
    ... )
    >>> seen.indptr.tolist(), seen.movies_of(1).tolist(), seen.movies_of(2).tolist()
    ([0, 1, 3, 3], [5, 7], [])
    """

    def __init__(
        self, indptr: NDArray[np.int64], movies: NDArray[np.int32], ratings: NDArray[np.float32]
    ) -> None:
        self.indptr = indptr
        self.movies = movies
        self.ratings = ratings

    @classmethod
    def from_arrays(
        cls,
        users: NDArray[np.integer],
        movies: NDArray[np.integer],
        ratings: NDArray[np.floating],
        n_users: int,
    ) -> Interactions:
        """Group ``(user index, movie index, rating)`` triples by user (stable order)."""
        order = np.argsort(users, kind="stable")
        counts = np.bincount(users, minlength=n_users)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(indptr, movies[order].astype(np.int32), ratings[order].astype(np.float32))

    @property
    def n_users(self) -> int:
        """Users of the vocabulary the interactions were grouped by."""
        return len(self.indptr) - 1

    def movies_of(self, user: int) -> NDArray[np.int32]:
        """Movie indices rated by user index ``user``."""
        return self.movies[self.indptr[user] : self.indptr[user + 1]]
