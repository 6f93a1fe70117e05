"""The examples in the genre docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "genre.data.labels",
    "genre.data.stratify",
    "genre.evaluation.metrics",
    "genre.data.sources",
    "genre.data.dataset",
    "genre.text.features",
    "genre.text.classifier",
    "genre.text.tuning",
    "genre.evaluation.evaluate",
    "genre.analysis.cooccurrence",
    "genre.text.experiment",
    "genre.fusion.block_inputs",
    "genre.fusion.model",
    "genre.fusion.provenance",
    "genre.model_dir",
    "genre.workflows",
    # Each trains a small fused model (a few seconds): run with the slow tests.
    pytest.param("genre.fusion.experiment", marks=pytest.mark.slow),
    pytest.param("genre.fusion.ablation", marks=pytest.mark.slow),
    # Fits logistic regressions on a few folds (about 4 s on two busy cores).
    pytest.param("genre.fusion.split_blocks", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
