"""genre: multi-label movie genre prediction.

What lives here: the labelled movie set (genre vocabulary, multi-label stratified
splits), genre co-occurrence analysis, classical text models (TF-IDF or bag of words
with naive Bayes, linear SVM, logistic regression), multi-label metrics with
thresholds chosen on validation data, poster (VGG16) and overview (word2vec) feature
extractors, and a fused multi-input Keras model with its ablations. It reads movies
and metadata through :mod:`recsys` and never the other way round.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__all__: list[str] = []
