"""Splits: disjoint, complete, reproducible, and honouring their definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.data import Dataset, load_dataset, make_movies, make_ratings, parse_split
from recsys.data.split import FilesSplit, TrainTestSplit
from recsys.errors import DataError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def synthetic(n_users: int = 30, n_movies: int = 20, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    pairs = [(u, m) for u in range(n_users) for m in range(n_movies) if rng.random() < 0.4]
    users, movies = np.array(pairs).T
    ratings = make_ratings(
        users, movies, rng.integers(1, 6, len(pairs)), rng.permutation(len(pairs)) + 1000
    )
    return Dataset("synthetic", ratings, make_movies(np.unique(movies)), "synthetic")


def keys(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(map(tuple, frame[["user_id", "movie_id"]].to_numpy()))


@pytest.mark.parametrize("spec", ["random:0.2", "user:0.2", "temporal:0.2", "movies:0.2"])
def test_parts_are_disjoint_complete_and_reproducible(spec: str) -> None:
    data = synthetic()
    first = parse_split(spec).split(data, seed=3)
    again = parse_split(spec).split(data, seed=3)
    other = parse_split(spec).split(data, seed=4)
    assert not keys(first.train) & keys(first.test)
    assert keys(first.train) | keys(first.test) == keys(data.ratings)
    pd.testing.assert_frame_equal(first.test, again.test)
    if not spec.startswith("temporal"):
        assert keys(first.test) != keys(other.test)
    assert first.name == spec


def test_random_fraction() -> None:
    split = parse_split("random:0.1").split(load_dataset(), seed=0)
    assert len(split.test) == round(0.1 * 100_836)


def test_user_split_holds_out_per_user() -> None:
    data = synthetic()
    split = parse_split("user:0.25").split(data, seed=0)
    counts = data.ratings.groupby("user_id").size()
    held = split.test.groupby("user_id").size().reindex(counts.index, fill_value=0)
    expected = np.minimum(np.round(0.25 * counts), counts - 1)
    np.testing.assert_array_equal(held.to_numpy(), expected)


def test_temporal_split_tests_on_the_latest() -> None:
    split = parse_split("temporal:0.3").split(synthetic(), seed=0)
    assert split.train["timestamp"].max() < split.test["timestamp"].min()


def test_movie_split_holds_out_whole_movies() -> None:
    split = parse_split("movies:0.25").split(synthetic(), seed=0)
    assert not set(split.train["movie_id"]) & set(split.test["movie_id"])


def test_fold_split_uses_the_predefined_files() -> None:
    split = parse_split("fold:u1").split(load_dataset(FIXTURES / "ml-100k"))
    assert len(split.train) == 4 and len(split.test) == 2


def test_files_split(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("userId,movieId,rating\n1,2,3\n1,3,4\n")
    (tmp_path / "b.csv").write_text("userId,movieId,rating\n1,4,5\n")
    split = parse_split(f"files:{tmp_path / 'a.csv'},{tmp_path / 'b.csv'}")
    assert isinstance(split, FilesSplit)
    parts = split.split()
    assert (len(parts.train), len(parts.test)) == (2, 1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("random:1.5", "between 0 and 1"),
        ("random:abc", "is not a fraction"),
        ("shuffle:0.1", "unknown split"),
        ("files:only-one.csv", "give two files"),
    ],
)
def test_bad_split_specs(spec: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_split(spec)


def test_empty_test_part_is_an_error() -> None:
    tiny = synthetic(n_users=2, n_movies=2, seed=1)
    with pytest.raises(DataError, match="left the test part empty"):
        parse_split("random:0.01").split(tiny, seed=0)
    with pytest.raises(DataError, match="test part empty"):
        TrainTestSplit(tiny.ratings, tiny.ratings.iloc[:0], "x")


def test_temporal_needs_timestamps() -> None:
    data = synthetic()
    no_time = Dataset("t", data.ratings.drop(columns="timestamp"), data.movies, "t")
    with pytest.raises(DataError, match="needs timestamps"):
        parse_split("temporal:0.1").split(no_time)


@settings(max_examples=25, deadline=None)
@given(fraction=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_user_split_never_empties_a_user(fraction: float, seed: int) -> None:
    data = synthetic(seed=seed % 7)
    try:
        split = parse_split(f"user:{fraction}").split(data, seed=seed)
    except DataError:
        return
    # a user with two or more ratings keeps at least one in train when F < 1
    counts = data.ratings.groupby("user_id").size()
    in_train = split.train.groupby("user_id").size().reindex(counts.index, fill_value=0)
    assert ((in_train > 0) | (counts == 0)).all()
