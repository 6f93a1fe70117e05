"""recsys: embedding-based rating models on MovieLens, with Keras 3 on TensorFlow.

The data flows one way: files -> :mod:`recsys.data` (typed dataset, vocabularies,
splits) -> :mod:`recsys.models` (baselines and Keras rating models) ->
:mod:`recsys.evaluation`.
"""

from __future__ import annotations

import os

# The rating models are written for Keras 3 on TensorFlow. Quiet TensorFlow's C++
# start-up chatter unless the user asked for it (setdefault keeps their choice).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

__all__ = ["__version__"]
