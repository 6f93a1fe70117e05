"""Co-occurrence counts, spectral co-clustering and decades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genre.analysis.cooccurrence import cocluster, cooccurrence_matrix, genres_by_decade
from recsys.errors import DataError


def test_cooccurrence_is_symmetric_with_counts_on_the_diagonal():
    rng = np.random.default_rng(0)
    Y = (rng.random((50, 5)) < 0.3).astype(int)
    C = cooccurrence_matrix(Y)
    np.testing.assert_array_equal(C, C.T)
    np.testing.assert_array_equal(np.diag(C), Y.sum(axis=0))
    assert C[0, 1] == int(((Y[:, 0] == 1) & (Y[:, 1] == 1)).sum())


def test_cocluster_recovers_planted_groups():
    rng = np.random.default_rng(1)
    groups = [[0, 3, 5], [1, 4], [2, 6, 7]]
    rows = []
    for _ in range(400):
        group = groups[rng.integers(3)]
        rows.append([int(j in group and rng.random() < 0.7) for j in range(8)])
    C = cooccurrence_matrix(np.array(rows)) + 1
    result = cocluster(C, 3, seed=0)
    found = sorted(sorted(g) for g in result.groups(list(range(8))))
    assert found == sorted(groups)
    assert sorted(result.order.tolist()) == list(range(8))


def test_cocluster_errors():
    with pytest.raises(DataError, match="between 2"):
        cocluster(np.eye(3), 4)
    with pytest.raises(DataError, match="never occurs"):
        cocluster(np.diag([1.0, 0.0, 2.0]), 2)


def test_genres_by_decade_counts():
    frame = pd.DataFrame(
        {
            "year": pd.array([1955, 1959, 2001, None], "Int64"),
            "genres": [("Drama",), ("Drama", "War"), ("War",), ("Drama",)],
        }
    )
    table = genres_by_decade(frame, ["Drama", "War"])
    assert table.loc["1950s"].tolist() == [2, 1, 2]
    assert table.loc["2000s"].tolist() == [0, 1, 1]
    assert table.loc["unknown", "movies"] == 1


def test_fewer_groups_than_asked_give_a_note_not_a_warning():
    import warnings

    # Genres 1 and 2 occur with the same genres in the same proportions: k-means on
    # four points finds only three distinct ones.
    C = np.array([[3, 3, 3, 2], [3, 4, 4, 3], [3, 4, 4, 3], [2, 3, 3, 3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning that leaks fails the test
        result = cocluster(C, 4)
    found = len(set(result.labels.tolist()))
    assert found < 4 and len(result.groups(list("abcd"))) == found
    assert result.note == (
        f"co-clustering found {found} distinct genre group(s), not the 4 "
        "asked: some genres occur with the same genres in the same "
        "proportions (common on a small set); use n_clusters="
        f"{found} or fewer, or more movies"
    )
    assert cocluster(C, 2).note is None
