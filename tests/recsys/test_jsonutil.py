"""jsonable: what a value reads back as from a JSON file."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import recsys.jsonutil
from recsys.jsonutil import jsonable


def test_numpy_tuples_paths_and_keys():
    value = {
        "units": (64, np.int64(8)),
        "lr": np.float32(0.25),
        "w": np.arange(3),
        "path": Path("/tmp/x"),
        7: None,
        "nested": [{"b": (True,)}],
    }
    assert jsonable(value) == {
        "units": [64, 8],
        "lr": 0.25,
        "w": [0, 1, 2],
        "path": "/tmp/x",
        "7": None,
        "nested": [{"b": [True]}],
    }
    assert isinstance(jsonable(np.int32(3)), int)
    assert jsonable(object) == str(object)  # anything else: its str


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_a_written_and_read_value_is_unchanged(value):
    assert jsonable(value) == json.loads(json.dumps(value)) == value
    assert jsonable(jsonable(value)) == jsonable(value)


def test_doctest():
    assert doctest.testmod(recsys.jsonutil).failed == 0
