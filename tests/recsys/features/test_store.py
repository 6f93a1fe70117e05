"""Feature blocks: alignment on movie id, masks, round trips, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.errors import DataError
from recsys.features import FeatureBlock, FeatureStore


def test_alignment_and_masks() -> None:
    block = FeatureBlock.from_arrays(
        "poster", [30, 10, 20], [[3, 3], [1, 1], [2, 2]], mask=[True, True, False]
    )
    assert block.movie_ids.tolist() == [10, 20, 30] and block.coverage == 2
    values, mask = block.aligned([20, 30, 99, 10])
    assert mask.tolist() == [False, True, False, True]
    assert values.tolist() == [[0, 0], [3, 3], [0, 0], [1, 1]]  # masked rows are zeros


def test_round_trip_and_replacing_a_block(tmp_path: Path) -> None:
    first = FeatureBlock.from_arrays(
        "genres",
        [1, 2],
        [[1, 0], [0, 1]],
        provenance={"source": "movies.csv"},
        columns=["Comedy", "Drama"],
    )
    store = FeatureStore.write(tmp_path / "f", [first])
    again = store["genres"]
    np.testing.assert_array_equal(again.values, first.values)
    assert again.columns == ("Comedy", "Drama") and again.provenance == {"source": "movies.csv"}
    other = FeatureBlock.from_arrays("pca", [1], [[0.5]])
    FeatureStore.write(tmp_path / "f", [other])
    store = FeatureStore(tmp_path / "f")
    assert store.names == ["genres", "pca"]
    FeatureStore.write(tmp_path / "f", [FeatureBlock.from_arrays("genres", [5], [[1, 1]])])
    assert FeatureStore(tmp_path / "f")["genres"].movie_ids.tolist() == [5]
    assert FeatureStore(tmp_path / "f").describe()["blocks"]["pca"]["dim"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"movie_ids": [1, 1], "values": [[0], [1]]}, "appears twice"),
        ({"movie_ids": [1, 2], "values": [[0]]}, "one row per movie"),
        ({"movie_ids": [1], "values": [[np.nan]]}, "NaN"),
        ({"movie_ids": [1], "values": [[0, 1]], "columns": ["a"]}, "column names"),
    ],
)
def test_bad_blocks(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        FeatureBlock.from_arrays("x", **kwargs)


def test_nan_allowed_where_masked() -> None:
    block = FeatureBlock.from_arrays("x", [1, 2], [[np.nan], [1.0]], mask=[False, True])
    assert block.values.tolist() == [[0.0], [1.0]]


def test_not_a_store_and_missing_block(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a feature store"):
        FeatureStore(tmp_path)
    FeatureStore.write(tmp_path / "f", [FeatureBlock.from_arrays("a", [1], [[1.0]])])
    with pytest.raises(DataError, match=r"has no block 'poster'.*Build the 'poster' block"):
        FeatureStore(tmp_path / "f")["poster"]
    with pytest.raises(DataError, match=r"has no block 'tfidf'.*blocks makes are embedding, pca"):
        FeatureStore(tmp_path / "f")["tfidf"]
