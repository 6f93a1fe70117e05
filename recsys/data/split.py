"""Train/test splits of ratings, seeded and reproducible.

=====================  ===============================================================
spec                   what goes to the test part
=====================  ===============================================================
``random:F``           a random fraction F of all ratings
``user:F``             a random fraction F of each user's ratings; every user keeps
                       at least one rating in train
``temporal:F``         the latest fraction F of ratings by timestamp
``movies:F``           every rating of a random fraction F of the movies (cold start)
``fold:u1``            ml-100k's predefined fold (``u1``..``u5``, ``ua``, ``ub``)
``files:TRAIN,TEST``   the ratings of two files
=====================  ===============================================================

Splitters take a seed or a :class:`numpy.random.Generator` and never touch global
random state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.data.dataset import Dataset
from recsys.errors import DataError, check_seed

__all__ = [
    "FilesSplit",
    "FoldSplit",
    "MovieSplit",
    "RandomSplit",
    "Splitter",
    "TemporalSplit",
    "TrainTestSplit",
    "UserSplit",
    "parse_split",
]

SeedLike = int | np.random.Generator | None


@dataclass(frozen=True, eq=False)
class TrainTestSplit:
    """The training and test ratings of one split, and the spec that made it.

    Raises
    ------
    DataError
        If either part is empty.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    name: str

    def __post_init__(self) -> None:
        if len(self.test) == 0:
            raise DataError(
                f"split {self.name!r} left the test part empty; use a larger "
                "fraction or a dataset with more ratings."
            )
        if len(self.train) == 0:
            raise DataError(
                f"split {self.name!r} left the training part empty; use a smaller fraction."
            )


class Splitter:
    """Base class: ``split(dataset, seed)`` returns a :class:`TrainTestSplit`."""

    name: str = ""

    def split(self, dataset: Dataset, seed: SeedLike = None) -> TrainTestSplit:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _seed(seed: SeedLike) -> SeedLike:
    """``seed`` checked (:func:`recsys.errors.check_seed`) unless it is ``None`` or a
    ``numpy.random.Generator``."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    return check_seed(seed)


def _fraction(value: float, spec: str) -> float:
    if not 0.0 < value < 1.0:
        raise DataError(
            f"split {spec!r}: the fraction must be between 0 and 1 (exclusive), "
            f"got {value}; e.g. random:0.1."
        )
    return value


def _take(ratings: pd.DataFrame, test_mask: np.ndarray, name: str) -> TrainTestSplit:
    return TrainTestSplit(
        ratings[~test_mask].reset_index(drop=True), ratings[test_mask].reset_index(drop=True), name
    )


class RandomSplit(Splitter):
    """A random fraction of all ratings goes to test."""

    def __init__(self, fraction: float) -> None:
        self.name = f"random:{fraction:g}"
        self.fraction = _fraction(fraction, self.name)

    def split(self, dataset: Dataset, seed: SeedLike = None) -> TrainTestSplit:
        rng = np.random.default_rng(_seed(seed))
        n = len(dataset.ratings)
        test = np.zeros(n, dtype=bool)
        test[rng.permutation(n)[: int(round(self.fraction * n))]] = True
        return _take(dataset.ratings, test, self.name)


class UserSplit(Splitter):
    """A random fraction of each user's ratings goes to test (per-user holdout)."""

    def __init__(self, fraction: float) -> None:
        self.name = f"user:{fraction:g}"
        self.fraction = _fraction(fraction, self.name)

    def split(self, dataset: Dataset, seed: SeedLike = None) -> TrainTestSplit:
        rng = np.random.default_rng(_seed(seed))
        users = dataset.ratings["user_id"].to_numpy()
        order = np.lexsort((rng.random(len(users)), users))  # shuffled within each user
        sorted_users = users[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
        counts = np.diff(np.r_[starts, len(users)])
        rank = np.arange(len(users)) - np.repeat(starts, counts)
        # every user keeps at least one training rating
        n_test = np.minimum(np.round(self.fraction * counts), counts - 1).astype(np.int64)
        test = np.zeros(len(users), dtype=bool)
        test[order] = rank < np.repeat(n_test, counts)
        return _take(dataset.ratings, test, self.name)


class TemporalSplit(Splitter):
    """The latest fraction of ratings by timestamp goes to test."""

    def __init__(self, fraction: float) -> None:
        self.name = f"temporal:{fraction:g}"
        self.fraction = _fraction(fraction, self.name)

    def split(self, dataset: Dataset, seed: SeedLike = None) -> TrainTestSplit:
        _seed(seed)  # checked even where unused: the model takes it next
        if "timestamp" not in dataset.ratings.columns:
            raise DataError(
                f"split {self.name!r} needs timestamps, and {dataset.name} has "
                "none (a header column named timestamp, or 'timestamp' among the "
                "columns of a file without a header); or use random:F."
            )
        n = len(dataset.ratings)
        order = np.argsort(dataset.ratings["timestamp"].to_numpy(), kind="stable")
        test = np.zeros(n, dtype=bool)
        n_test = int(round(self.fraction * n))
        if n_test:
            test[order[n - n_test :]] = True
        return _take(dataset.ratings, test, self.name)


class MovieSplit(Splitter):
    """Every rating of a random fraction of the movies goes to test (cold-start movies)."""

    def __init__(self, fraction: float) -> None:
        self.name = f"movies:{fraction:g}"
        self.fraction = _fraction(fraction, self.name)

    def split(self, dataset: Dataset, seed: SeedLike = None) -> TrainTestSplit:
        rng = np.random.default_rng(_seed(seed))
        movies = np.unique(dataset.ratings["movie_id"].to_numpy())
        held = rng.permutation(movies)[: int(round(self.fraction * len(movies)))]
        test = np.isin(dataset.ratings["movie_id"].to_numpy(), held)
        return _take(dataset.ratings, test, self.name)


class FoldSplit(Splitter):
    """One of ml-100k's predefined folds (the seed is not used)."""

    def __init__(self, fold: str) -> None:
        self.name = f"fold:{fold}"
        self.fold = fold

    def split(self, dataset: Dataset, seed: SeedLike = None) -> TrainTestSplit:
        _seed(seed)  # checked even where unused: the model takes it next
        train, test = dataset.read_fold(self.fold)
        return TrainTestSplit(train, test, self.name)


class FilesSplit(Splitter):
    """Training and test ratings from two files, read with ``reader(path)``."""

    def __init__(
        self, train_path: str, test_path: str, reader: Callable[[str], pd.DataFrame] | None = None
    ) -> None:
        self.name = f"files:{train_path},{test_path}"
        self.train_path, self.test_path = train_path, test_path
        self.reader = reader

    def split(self, dataset: Dataset | None = None, seed: SeedLike = None) -> TrainTestSplit:
        _seed(seed)  # checked even where unused: the model takes it next
        if self.reader is None:
            from recsys.data.generic import read_ratings_file

            reader: Callable[[str], pd.DataFrame] = read_ratings_file
        else:
            reader = self.reader
        return TrainTestSplit(reader(self.train_path), reader(self.test_path), self.name)


_FRACTION_SPLITS: dict[str, type[Splitter]] = {
    "random": RandomSplit,
    "user": UserSplit,
    "temporal": TemporalSplit,
    "movies": MovieSplit,
}


def parse_split(spec: str) -> Splitter:
    """Make a splitter from its text form (see the module docstring).

    Raises
    ------
    DataError
        On an unknown kind or a bad fraction.

    Examples
    --------
    >>> parse_split("random:0.1").fraction
    0.1
    """
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind in _FRACTION_SPLITS:
        try:
            value = float(arg)
        except ValueError:
            raise DataError(
                f"split {spec!r}: {arg!r} is not a fraction; e.g. {kind}:0.1."
            ) from None
        return _FRACTION_SPLITS[kind](value)  # type: ignore[call-arg]
    if kind == "fold" and arg:
        return FoldSplit(arg.strip())
    if kind == "files":
        parts = [p for p in arg.split(",") if p]
        if len(parts) != 2:
            raise DataError(f"split {spec!r}: give two files, files:TRAIN,TEST.")
        return FilesSplit(parts[0], parts[1])
    raise DataError(
        f"unknown split {spec!r}; use random:F, user:F, temporal:F, movies:F, "
        "fold:u1 or files:TRAIN,TEST."
    )
