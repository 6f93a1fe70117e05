"""K-fold splits for cross-validation: every rating is in exactly one test part.

=================  ==================================================================
``by``             folds
=================  ==================================================================
``"ratings"``      a seeded permutation of all ratings cut into ``K`` parts
``"user"``         each user's ratings shuffled and cut into ``K`` parts (a per-user
                   holdout of ``1/K`` in every fold; a user with fewer than ``K``
                   ratings is in the test part of only some folds)
predefined         a dataset's own folds (ml-100k's ``u1``..``u5`` for ``K = 5``),
                   used as they are (:func:`kfold_splits` with ``predefined=True``)
=================  ==================================================================

The splits are :class:`~recsys.data.split.TrainTestSplit` objects named
``"<by>-fold:i/K"``; a fold that leaves either part empty raises
:class:`~recsys.errors.DataError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data.dataset import Dataset
from recsys.data.split import TrainTestSplit
from recsys.errors import DataError, InvalidParameterError

__all__ = ["FOLD_KINDS", "fold_numbers", "kfold_splits"]

#: The number of folds of ml-100k's predefined cross-validation (``u1``..``u5``).
PREDEFINED_K = 5
#: How :func:`fold_numbers` assigns ratings to folds.
FOLD_KINDS = ("ratings", "user")


def fold_numbers(
    ratings: pd.DataFrame, k: int, *, by: str = "ratings", seed: int = 0
) -> np.ndarray:
    """The fold (``0 .. k-1``) of every rating, ``int64 ndarray of shape (n,)``.

    Raises
    ------
    InvalidParameterError
        If ``k`` is below 2 or ``by`` is unknown.

    Examples
    --------
    >>> frame = pd.DataFrame({"user_id": [1] * 4 + [2] * 2, "movie_id": range(6)})
    >>> folds = fold_numbers(frame, 2, by="user", seed=0)
    >>> sorted(folds[:4].tolist()), sorted(folds[4:].tolist())
    ([0, 0, 1, 1], [0, 1])
    """
    if int(k) != k or k < 2:
        raise InvalidParameterError("folds", f"cross-validation needs at least 2 folds, got {k!r}.")
    if by not in FOLD_KINDS:
        raise InvalidParameterError("by", f"unknown fold kind {by!r}; use one of {FOLD_KINDS}.")
    rng = np.random.default_rng(seed)
    n = len(ratings)
    if by == "ratings":
        folds = np.empty(n, dtype=np.int64)
        folds[rng.permutation(n)] = np.arange(n) % k
        return folds
    users = ratings["user_id"].to_numpy()
    order = np.lexsort((rng.random(n), users))  # shuffled within each user
    sorted_users = users[order]
    starts = np.r_[0, np.flatnonzero(sorted_users[1:] != sorted_users[:-1]) + 1] if n else []
    counts = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, counts)
    # a random offset per user, so users with few ratings are not all in the first folds
    offset = np.repeat(rng.integers(0, k, size=len(counts)), counts)
    folds = np.empty(n, dtype=np.int64)
    folds[order] = (rank + offset) % k
    return folds


def kfold_splits(
    dataset: Dataset,
    k: int,
    *,
    by: str = "ratings",
    seed: int = 0,
    predefined: bool = True,
) -> list[TrainTestSplit]:
    """The ``k`` train/test splits of a dataset.

    Parameters
    ----------
    dataset : the dataset.
    k : number of folds (>= 2).
    by : ``"ratings"`` or ``"user"`` (see the module docstring).
    seed : seeds the assignment.
    predefined : use the dataset's own 5-fold cross-validation when ``k`` is 5 and it
        has the ``u1``..``u5`` folds (ml-100k).

    Raises
    ------
    InvalidParameterError
        If ``k`` is below 2.
    DataError
        If a fold leaves its training or test part empty (too few ratings for ``k``).
    """
    if int(k) != k or k < 2:
        raise InvalidParameterError("folds", f"cross-validation needs at least 2 folds, got {k!r}.")
    names = [f"u{i}" for i in range(1, k + 1)]
    if predefined and k == PREDEFINED_K and all(name in dataset.folds for name in names):
        splits = []
        for name in names:
            train, test = dataset.read_fold(name)
            splits.append(TrainTestSplit(train, test, f"fold:{name}"))
        return splits
    ratings = dataset.ratings
    if len(ratings) < k:
        raise DataError(
            f"{len(ratings)} ratings cannot make {k} folds (a fold would be empty); "
            "use fewer folds.",
            parameter="folds",
        )
    folds = fold_numbers(ratings, k, by=by, seed=seed)
    splits = []
    for i in range(k):
        test = folds == i
        if not test.any() or test.all():
            raise DataError(
                f"fold {i + 1} of {k} would leave a part empty; use fewer folds.",
                parameter="folds",
            )
        splits.append(
            TrainTestSplit(
                ratings[~test].reset_index(drop=True),
                ratings[test].reset_index(drop=True),
                f"{by}-fold:{i + 1}/{k}",
            )
        )
    return splits
