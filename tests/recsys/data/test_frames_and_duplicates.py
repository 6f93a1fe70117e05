"""A pandas DataFrame as ratings (``ratings_frame``), and the duplicate-pair policy
that runs before any split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import load_ratings_file, parse_split, ratings_frame
from recsys.data.schema import drop_duplicate_pairs, make_ratings
from recsys.errors import DataError, InvalidParameterError


def test_movielens_column_names_are_found() -> None:
    raw = pd.DataFrame(
        {"userId": [1, 2], "movieId": [10, 11], "rating": [4.0, 3.5], "timestamp": [5, 6]}
    )
    frame = ratings_frame(raw)
    assert frame.columns.tolist() == ["user_id", "movie_id", "rating", "timestamp"]
    assert frame["movie_id"].tolist() == [10, 11] and frame["rating"].dtype == np.float32


def test_named_columns_win_and_others_are_left_out() -> None:
    raw = pd.DataFrame({"who": [1], "what": [2], "stars": [9.0], "rating": [1.0], "x": [0]})
    frame = ratings_frame(raw, user="who", item="what", rating="stars")
    assert frame.to_dict("records") == [{"user_id": 1, "movie_id": 2, "rating": 9.0}]


@pytest.mark.parametrize(
    ("kwargs", "parameter", "fragment"),
    [
        ({}, "user", "has no user, item column (it has: who, what, stars)"),
        ({"user": "who", "item": "nope"}, "item", "'nope' is not a column"),
    ],
)
def test_missing_columns_list_the_frame(kwargs: dict, parameter: str, fragment: str) -> None:
    raw = pd.DataFrame({"who": [1], "what": [2], "stars": [3.0]})
    with pytest.raises(InvalidParameterError) as error:
        ratings_frame(raw, **kwargs)
    assert error.value.parameter == parameter and fragment in str(error.value)


def test_float_ids_and_missing_ratings_are_one_clear_error() -> None:
    with pytest.raises(DataError, match="ids must be integers or strings"):
        ratings_frame(pd.DataFrame({"user": [1.0, None], "item": [1, 2], "rating": [3.0, 4]}))
    with pytest.raises(DataError, match="missing or not finite"):
        ratings_frame(pd.DataFrame({"user": [1], "item": [1], "rating": ["x"]}))


def test_duplicates_keep_the_latest_then_the_last_row() -> None:
    frame = make_ratings(
        [1, 1, 1, 2, 2, 3], [5, 5, 5, 5, 5, 5], [1.0, 2.0, 3.0, 4.0, 5.0, 1.5],
        [30, 10, 30, 7, 7, 1],
    )  # fmt: skip
    kept, dropped = drop_duplicate_pairs(frame)
    assert dropped == 3
    # user 1: rows 0 and 2 share the latest timestamp -> the later row (3.0)
    # user 2: equal timestamps -> the last row (5.0); order of the file kept
    assert kept[["user_id", "rating"]].to_numpy().tolist() == [[1, 3.0], [2, 5.0], [3, 1.5]]
    no_time = frame.drop(columns="timestamp")
    kept, dropped = drop_duplicate_pairs(no_time)
    assert dropped == 3 and kept["rating"].tolist() == [3.0, 5.0, 1.5]


def test_a_rerated_pair_is_never_in_both_parts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 3000
    users, movies = rng.integers(1, 30, n), rng.integers(1, 40, n)
    ratings, times = rng.integers(1, 6, n), rng.integers(0, 10**6, n)
    pd.DataFrame(
        {"userId": users, "movieId": movies, "rating": ratings, "timestamp": times}
    ).to_csv(tmp_path / "r.csv", index=False)
    data = load_ratings_file(tmp_path / "r.csv")
    pairs = pd.Series(list(zip(users, movies, strict=True)))
    assert data.n_duplicates == int(pairs.duplicated().sum()) > 0
    for spec in ("random:0.2", "user:0.2", "temporal:0.2"):
        split = parse_split(spec).split(data, seed=0)
        train = set(zip(split.train.user_id, split.train.movie_id, strict=True))
        test = set(zip(split.test.user_id, split.test.movie_id, strict=True))
        assert not train & test, spec


def test_files_split_is_relative_to_data_and_uses_its_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recsys.workflows.data import load_and_split

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "ml-100k"
    monkeypatch.chdir(tmp_path)  # nowhere near the fold files
    data, parts = load_and_split(dataset=str(fixture), split="files:u1.base,u1.test")
    expected = load_and_split(dataset=str(fixture), split="fold:u1")[1]
    pd.testing.assert_frame_equal(parts.train, expected.train)
    pd.testing.assert_frame_equal(parts.test, expected.test)
    assert "Toy Story (1995)" in data.movies["title"].tolist()
    with pytest.raises(DataError, match="no such ratings file"):
        load_and_split(dataset=str(fixture), split="files:u9.base,u1.test")
