"""Iterative multi-label stratification."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genre.data.stratify import iterative_stratification
from recsys.errors import DataError


def _labels(seed, n=600, k=8):
    rng = np.random.default_rng(seed)
    rates = np.linspace(0.03, 0.45, k)
    return (rng.random((n, k)) < rates).astype(np.uint8)


def test_every_genre_in_every_part_close_to_its_share():
    Y = _labels(1)
    parts = iterative_stratification(Y, [0.8, 0.1, 0.1], seed=0)
    assert set(np.unique(parts)) == {0, 1, 2}
    for j in range(Y.shape[1]):
        per_part = np.bincount(parts[Y[:, j] == 1], minlength=3)
        assert per_part.min() > 0
        expected = np.array([0.8, 0.1, 0.1]) * Y[:, j].sum()
        assert np.all(np.abs(per_part - expected) <= 1.5)
    sizes = np.bincount(parts, minlength=3)
    assert np.all(np.abs(sizes - np.array([480, 60, 60])) <= 3)


def test_better_than_a_random_split_for_rare_genres():
    Y = _labels(2)
    rng = np.random.default_rng(0)
    strat = iterative_stratification(Y, [0.8, 0.1, 0.1], seed=0)
    rand = rng.permutation(np.repeat([0, 1, 2], [480, 60, 60]))

    def error(parts):
        return sum(
            abs(
                np.bincount(parts[Y[:, j] == 1], minlength=3)
                - np.array([0.8, 0.1, 0.1]) * Y[:, j].sum()
            ).sum()
            for j in range(Y.shape[1])
        )

    assert error(strat) < error(rand)


def test_reproducible_and_seed_dependent():
    Y = _labels(3)
    a = iterative_stratification(Y, [0.8, 0.1, 0.1], seed=5)
    b = iterative_stratification(Y, [0.8, 0.1, 0.1], seed=np.random.default_rng(5))
    c = iterative_stratification(Y, [0.8, 0.1, 0.1], seed=6)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 60), st.integers(1, 5), st.integers(0, 10_000))
def test_each_row_in_exactly_one_part(n, k, seed):
    Y = (np.random.default_rng(seed).random((n, k)) < 0.3).astype(int)
    parts = iterative_stratification(Y, [0.6, 0.2, 0.2], seed=seed)
    assert parts.shape == (n,)
    assert set(parts.tolist()) <= {0, 1, 2}


@pytest.mark.parametrize("fractions", [[0.5, 0.6], [0.0, 1.0], [-0.2, 1.2]])
def test_bad_fractions(fractions):
    with pytest.raises(DataError, match="fractions"):
        iterative_stratification(np.ones((4, 2)), fractions)
