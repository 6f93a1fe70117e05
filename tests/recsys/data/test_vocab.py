"""Vocabularies: a bijection between known ids and 0..n-1, explicit unknown policy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.data import Vocabulary
from recsys.errors import UnknownIdError


@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=200))
def test_index_is_a_bijection(ids: list[int]) -> None:
    vocab = Vocabulary(ids)
    index = vocab.index(ids)
    assert set(index.tolist()) == set(range(len(set(ids))))
    np.testing.assert_array_equal(vocab.to_ids(index), ids)


def test_unknown_ids_policy() -> None:
    vocab = Vocabulary([5, 7], entity="movie")
    assert vocab.index([7, 6, 5, 100], missing="negative").tolist() == [1, -1, 0, -1]
    with pytest.raises(UnknownIdError, match="unknown movie id 6") as info:
        vocab.index([5, 6])
    assert isinstance(info.value, KeyError)
    assert 7 in vocab and 6 not in vocab and "x" not in vocab


def test_empty_vocabulary() -> None:
    assert Vocabulary([]).index([1], missing="negative").tolist() == [-1]
