"""The examples in the genre docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "genre.labels",
    "genre.stratify",
    "genre.metrics",
    "genre.sources",
    "genre.dataset",
    "genre.text_features",
    "genre.classical",
    "genre.tuning",
    "genre.evaluate",
    "genre.cooccurrence",
    "genre.experiment",
    "genre.block_inputs",
    "genre.fusion",
    "genre.fusion_experiment",
    "genre.ablation",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
