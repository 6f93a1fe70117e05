"""K-fold splits: every rating tested once, per-user folds, ml-100k's predefined folds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import load_dataset
from recsys.errors import DataError, InvalidParameterError
from recsys.evaluation.folds import fold_numbers, kfold_splits
from tests.conftest import REPO


def ratings(n_users: int = 12, per_user: int = 9) -> pd.DataFrame:
    users = np.repeat(np.arange(1, n_users + 1), per_user)
    return pd.DataFrame(
        {
            "user_id": users,
            "movie_id": np.tile(np.arange(per_user), n_users) + 100,
            "rating": np.tile([1.0, 3.0, 5.0], n_users * per_user // 3),
        }
    )


@pytest.mark.parametrize("by", ["ratings", "user"])
def test_every_rating_is_tested_once_and_folds_are_balanced(by: str) -> None:
    frame = ratings()
    folds = fold_numbers(frame, 3, by=by, seed=5)
    assert sorted(np.unique(folds).tolist()) == [0, 1, 2]
    assert np.bincount(folds).tolist() == [36, 36, 36]
    if by == "user":  # each user's ratings are spread evenly: 3 per fold
        for _, part in pd.Series(folds).groupby(frame["user_id"].to_numpy()):
            assert np.bincount(part, minlength=3).tolist() == [3, 3, 3]
    assert np.array_equal(folds, fold_numbers(frame, 3, by=by, seed=5))
    assert not np.array_equal(folds, fold_numbers(frame, 3, by=by, seed=6))


def test_one_fold_and_unknown_kinds_are_refused() -> None:
    with pytest.raises(InvalidParameterError) as error:
        fold_numbers(ratings(), 1)
    assert error.value.parameter == "folds"
    with pytest.raises(InvalidParameterError):
        fold_numbers(ratings(), 3, by="movies")


def test_ml_100k_predefined_folds_are_used_as_they_are(tmp_path: Path) -> None:
    layout = tmp_path / "ml-100k"
    shutil.copytree(REPO / "tests/fixtures/ml-100k", layout)
    base = (layout / "u1.base").read_text()
    test = (layout / "u1.test").read_text()
    for i in range(2, 6):  # u2..u5: u1's parts swapped for some, to tell them apart
        (layout / f"u{i}.base").write_text(test + base if i % 2 else base)
        (layout / f"u{i}.test").write_text(base if i % 2 else test)
    data = load_dataset(layout)
    splits = kfold_splits(data, 5, seed=0)
    assert [s.name for s in splits] == [f"fold:u{i}" for i in range(1, 6)]
    for i, split in enumerate(splits, 1):
        train, held = data.read_fold(f"u{i}")
        pd.testing.assert_frame_equal(split.train, train)
        pd.testing.assert_frame_equal(split.test, held)
    # 3 folds: not the predefined ones -> a seeded K-fold over the ratings
    assert [s.name for s in kfold_splits(data, 3, seed=0)] == [
        f"ratings-fold:{i}/3" for i in (1, 2, 3)
    ]


def test_too_few_ratings_for_k_folds() -> None:
    data = load_dataset(REPO / "tests/fixtures/ml-100k")  # 6 ratings, only u1 predefined
    with pytest.raises(DataError, match="fewer folds") as error:
        kfold_splits(data, 7)
    assert error.value.parameter == "folds"
