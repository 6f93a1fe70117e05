"""Top-k lists and their quality, vectorised over blocks of users (numpy only).

:func:`top_k` picks each row's ``k`` best columns of a ``(users, movies)`` score matrix
with one ``np.partition`` per block: ties are broken by column ascending (columns are
movie indices of a sorted vocabulary, so by movie id ascending), and columns scored
``-inf`` (movies a user rated in training) are never picked. :func:`hits` marks which
picks are relevant test movies, and :func:`ranking_metrics` turns the ``(users, k)``
hit matrix into per-user metrics:

=================  ==============================================================
metric             per user (``rel``: the user's relevant count, ``h_i``: hit at i)
=================  ==============================================================
``precision@k``    ``sum(h) / k``
``recall@k``       ``sum(h) / rel``
``ndcg@k``         ``sum(h_i / log2(i + 1)) / sum_{i <= min(rel, k)} 1 / log2(i + 1)``
``map@k``          ``sum_i h_i * precision@i / min(rel, k)``
``mrr@k``          ``1 / (rank of the first hit)``, 0 without one
``hit_rate@k``     1 if any hit, else 0
=================  ==============================================================

(binary gains, ranks ``i`` from 1). Catalogue coverage is :func:`coverage`: the share
of the catalogue that appears in at least one list.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import InvalidParameterError

__all__ = [
    "METRICS",
    "coverage",
    "hits",
    "mask_keys",
    "metric_names",
    "ranking_metrics",
    "top_k",
]

#: The per-user metrics :func:`ranking_metrics` returns (then ``coverage``).
METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")


def metric_names(k: int) -> list[str]:
    """The column names of every top-N metric at ``k``, coverage last.

    >>> metric_names(5)[:2], metric_names(5)[-1]
    (['precision@5', 'recall@5'], 'coverage@5')
    """
    return [f"{name}@{k}" for name in (*METRICS, "coverage")]


def _check_k(k: int) -> int:
    if int(k) != k or k < 1:
        raise InvalidParameterError("k", f"k must be a whole number >= 1, got {k!r}.")
    return int(k)


def top_k(scores: ArrayLike, k: int) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """The ``k`` best columns of each row, best first, ties by column ascending.

    Parameters
    ----------
    scores : array of shape (n_users, n_movies); ``-inf`` marks a column that must not
        be picked (NaN is treated as ``-inf``).
    k : list length (more than ``n_movies`` is cut to ``n_movies``).

    Returns
    -------
    columns : int64 ndarray of shape (n_users, min(k, n_movies)), best first.
    valid : bool ndarray of the same shape, False where a row had fewer than ``k``
        finite scores (those trailing columns are filler, not picks).

    Raises
    ------
    InvalidParameterError
        If ``k`` is below 1.

    Examples
    --------
    >>> cols, valid = top_k([[0.5, 2.0, 2.0, -np.inf], [1.0, 1.0, 1.0, 3.0]], 3)
    >>> cols.tolist(), valid.tolist()
    ([[1, 2, 0], [3, 0, 1]], [[True, True, True], [True, True, True]])
    >>> top_k([[1.0, -np.inf, -np.inf]], 2)[1].tolist()
    [[True, False]]
    """
    k = _check_k(k)
    s = np.array(scores, dtype=np.float64, ndmin=2)
    s[np.isnan(s)] = -np.inf
    n_users, n_movies = s.shape
    k = min(k, n_movies)
    if n_users == 0 or k == 0:
        empty = np.zeros((n_users, k), dtype=np.int64)
        return empty, np.zeros((n_users, k), dtype=bool)
    # the k-th largest value of each row, then: everything above it, and as many columns
    # equal to it as are needed, the lowest columns first (the tie rule)
    threshold = -np.partition(-s, k - 1, axis=1)[:, k - 1 : k]
    above = s > threshold
    equal = s == threshold
    need = k - above.sum(axis=1, keepdims=True)
    chosen = above | (equal & (np.cumsum(equal, axis=1) <= need))
    columns = np.nonzero(chosen)[1].reshape(n_users, k)  # ascending within a row
    picked = np.take_along_axis(s, columns, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")  # stable: ties stay by column
    columns = np.take_along_axis(columns, order, axis=1)
    valid = np.isfinite(np.take_along_axis(picked, order, axis=1))
    return columns.astype(np.int64), valid


def mask_keys(
    scores: NDArray[np.floating],
    rows: ArrayLike,
    sorted_keys: ArrayLike,
    n_movies: int,
) -> NDArray[np.floating]:
    """Set ``scores[i, m] = -inf`` in place for every key ``rows[i] * n_movies + m`` of
    ``sorted_keys`` (e.g. the movies each user rated in training); returns ``scores``.

    Examples
    --------
    >>> s = np.zeros((2, 3))
    >>> mask_keys(s, [4, 0], np.array([0 * 3 + 2, 4 * 3 + 1]), 3).tolist()
    [[0.0, -inf, 0.0], [0.0, 0.0, -inf]]
    """
    r = np.asarray(rows, dtype=np.int64).ravel()
    keys = np.asarray(sorted_keys, dtype=np.int64)
    n = int(n_movies)
    lo = np.searchsorted(keys, r * n)
    hi = np.searchsorted(keys, (r + 1) * n)
    counts = hi - lo
    if counts.sum() == 0:
        return scores
    starts = np.cumsum(counts) - counts
    positions = np.arange(int(counts.sum())) + np.repeat(lo - starts, counts)
    scores[np.repeat(np.arange(len(r)), counts), keys[positions] % n] = -np.inf
    return scores


def hits(
    columns: ArrayLike,
    valid: ArrayLike,
    rows: ArrayLike,
    relevant_keys: ArrayLike,
    n_movies: int,
) -> NDArray[np.bool_]:
    """Which picks are relevant: ``(n_users, k)`` bool.

    Parameters
    ----------
    columns, valid : :func:`top_k`'s result for ``rows``.
    rows : int array of shape (n_users,), the user index of each row.
    relevant_keys : sorted int64 array of ``user * n_movies + movie`` for every
        relevant (user, movie) pair.
    n_movies : the number of columns of the score matrix.

    Examples
    --------
    >>> hits([[2, 0]], [[True, True]], [1], np.array([1 * 3 + 0]), 3).tolist()
    [[False, True]]
    """
    cols = np.asarray(columns, dtype=np.int64)
    keys = np.asarray(rows, dtype=np.int64)[:, None] * int(n_movies) + cols
    sorted_keys = np.asarray(relevant_keys, dtype=np.int64)
    at = np.searchsorted(sorted_keys, keys)
    at = np.minimum(at, max(len(sorted_keys) - 1, 0))
    found = sorted_keys[at] == keys if len(sorted_keys) else np.zeros(keys.shape, dtype=bool)
    return np.asarray(found & np.asarray(valid, dtype=bool))


def ranking_metrics(
    hit: ArrayLike, n_relevant: ArrayLike, k: int
) -> dict[str, NDArray[np.float64]]:
    """Per-user metrics at ``k`` from a hit matrix (see the module docstring).

    Parameters
    ----------
    hit : bool array of shape (n_users, width), width <= k: whether the pick at each
        rank is relevant (a list shorter than ``k`` counts as misses beyond it).
    n_relevant : int array of shape (n_users,), relevant movies of each user (those
        that cannot be retrieved included); every entry must be >= 1.
    k : the cut-off.

    Returns
    -------
    dict of metric name (without ``@k``) to float64 ndarray of shape (n_users,).

    Raises
    ------
    InvalidParameterError
        If ``k`` is below 1, the hit matrix is wider than ``k``, or a user has no
        relevant movie.

    Examples
    --------
    >>> m = ranking_metrics([[False, True, True]], [4], 3)
    >>> round(float(m["precision"][0]), 4), float(m["recall"][0]), float(m["mrr"][0])
    (0.6667, 0.5, 0.5)
    >>> round(float(m["map"][0]), 4)  # (1/2 + 2/3) / min(4, 3)
    0.3889
    """
    k = _check_k(k)
    h = np.array(hit, dtype=bool, ndmin=2)
    rel = np.asarray(n_relevant, dtype=np.int64).ravel()
    if h.shape[1] > k:
        raise InvalidParameterError("k", f"the hit matrix has {h.shape[1]} ranks, more than k={k}.")
    if len(rel) != h.shape[0]:
        raise InvalidParameterError(
            "n_relevant", f"{len(rel)} relevant counts for {h.shape[0]} users."
        )
    if len(rel) and rel.min() < 1:
        raise InvalidParameterError(
            "n_relevant", "every evaluated user needs at least one relevant movie."
        )
    if h.shape[1] < k:
        h = np.pad(h, ((0, 0), (0, k - h.shape[1])))
    hf = h.astype(np.float64)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    n_hits = hf.sum(axis=1)
    ideal_n = np.minimum(rel, k)
    ideal = np.cumsum(discount)[ideal_n - 1] if len(rel) else np.zeros(0)
    cumulative = np.cumsum(hf, axis=1)
    first = np.argmax(h, axis=1)
    any_hit = h.any(axis=1)
    return {
        "precision": n_hits / k,
        "recall": n_hits / rel,
        "ndcg": (hf @ discount) / ideal,
        "map": (hf * cumulative / ranks).sum(axis=1) / ideal_n,
        "mrr": np.where(any_hit, 1.0 / (first + 1.0), 0.0),
        "hit_rate": any_hit.astype(np.float64),
    }


def coverage(columns: ArrayLike, valid: ArrayLike, n_movies: int) -> float:
    """Share of the ``n_movies`` catalogue that appears in at least one list.

    >>> coverage([[0, 1], [1, 2]], [[True, True], [True, False]], 4)
    0.5
    """
    cols = np.asarray(columns, dtype=np.int64)[np.asarray(valid, dtype=bool)]
    if n_movies <= 0:
        return 0.0
    return float(len(np.unique(cols)) / n_movies)
