"""Iterative stratification of a multi-label set (Sechidis, Tsoumakas & Vlahavas, 2011).

A random split of movies can leave a rare genre with almost no movie in the validation
or test part. Iterative stratification deals out the movies of the rarest remaining
genre first, each to the part that still needs most of that genre, so every part gets
close to its share of every genre.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError, check_seed

__all__ = ["iterative_stratification"]


def iterative_stratification(
    Y: ArrayLike,
    fractions: Sequence[float],
    *,
    seed: int | np.random.Generator | None = 0,
) -> NDArray[np.int64]:
    """Assign each row of a label matrix to one of ``len(fractions)`` parts.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_labels), binary.
    fractions : the desired size of each part, positive, summing to 1.
    seed : an int or ``numpy.random.Generator``; ties are broken with it, so the same
        seed and data give the same parts.

    Returns
    -------
    ndarray of shape (n_samples,) with the part index (``0 .. len(fractions) - 1``) of
    each row. Rows without any label go to the parts that are furthest below their
    desired size.

    Raises
    ------
    DataError
        If the fractions are not positive or do not sum to 1, or ``Y`` is not 2-d.

    Examples
    --------
    >>> Y = np.eye(3, dtype=int).repeat(4, axis=0)   # 12 rows, 3 labels of 4 rows each
    >>> parts = iterative_stratification(Y, [0.5, 0.25, 0.25], seed=0)
    >>> [np.bincount(parts[Y[:, j] == 1], minlength=3).tolist() for j in range(3)]
    [[2, 1, 1], [2, 1, 1], [2, 1, 1]]
    """
    labels = np.asarray(Y)
    if labels.ndim != 2:
        raise DataError(f"expected a 2-d label matrix, received shape {labels.shape}.")
    r = np.asarray(fractions, dtype=float)
    if r.ndim != 1 or len(r) < 1 or np.any(r <= 0) or not np.isclose(r.sum(), 1.0):
        raise DataError(f"split fractions must be positive and sum to 1, received {list(r)}.")
    if not (seed is None or isinstance(seed, np.random.Generator)):
        seed = check_seed(seed)  # numpy's own error would be a traceback at the CLI
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    labels = labels.astype(bool)
    n = labels.shape[0]
    parts = np.full(n, -1, dtype=np.int64)

    # Desired number of rows per part, and of each label's rows per part.
    want_rows = r * n
    want_label = np.outer(labels.sum(axis=0), r).astype(float)  # (k, n_parts)
    # Visit rows in a random order so ties within a label are broken at random.
    order = rng.permutation(n)
    remaining = labels[order].copy()
    alive = np.ones(n, dtype=bool)

    while True:
        counts = remaining[alive].sum(axis=0)
        if not counts.any():
            break
        # The label with the fewest remaining rows (ties broken at random).
        candidates = np.flatnonzero(counts == counts[counts > 0].min())
        label = int(rng.choice(candidates))
        for pos in np.flatnonzero(alive & remaining[:, label]):
            part = _pick(want_label[label], want_rows, rng)
            row = order[pos]
            parts[row] = part
            alive[pos] = False
            want_label[labels[row], part] -= 1
            want_rows[part] -= 1
    for pos in np.flatnonzero(alive):  # rows without labels
        part = _pick(want_rows, want_rows, rng)
        parts[order[pos]] = part
        want_rows[part] -= 1
    return parts


def _pick(first: NDArray[np.float64], second: NDArray[np.float64], rng: np.random.Generator) -> int:
    """The part with most ``first`` demand, ties by ``second`` demand, then at random."""
    best = np.flatnonzero(first == first.max())
    if len(best) > 1:
        sub = second[best]
        best = best[sub == sub.max()]
    return int(best[0] if len(best) == 1 else rng.choice(best))
