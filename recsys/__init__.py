"""recsys: embedding-based rating models on MovieLens, with Keras 3 on TensorFlow.

The data flows one way: files -> :mod:`recsys.data` (typed dataset, vocabularies,
splits) -> :mod:`recsys.models` (baselines and Keras rating models) ->
:mod:`recsys.evaluation`.

>>> import recsys
>>> data = recsys.load_dataset()                      # bundled ml-latest-small
>>> split = recsys.parse_split("random:0.1").split(data, seed=0)
>>> model = recsys.RatingModel("bias").fit(split.train)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# The rating models are written for Keras 3 on TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

#: Public names, imported on first use so that ``import recsys`` stays fast (the
#: models pull in TensorFlow).
_LAZY = {
    "load_dataset": "recsys.data",
    "load_ratings_file": "recsys.data",
    "parse_split": "recsys.data",
    "Vocabulary": "recsys.data",
    "RatingModel": "recsys.models.rating_model",
    "evaluate_model": "recsys.evaluation",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")
