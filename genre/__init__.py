"""genre: multi-label movie genre prediction.

What lives here: the labelled movie set (genre vocabulary, multi-label stratified
splits), genre co-occurrence analysis, classical text models (TF-IDF or bag of words
with naive Bayes, linear SVM, logistic regression), multi-label metrics with
thresholds chosen on validation data, and a fused multi-input Keras model
(:mod:`genre.fusion.model`) on the blocks of the shared movie feature store with its
ablation (:mod:`genre.fusion.ablation`). The poster (VGG16) and overview (word2vec) feature
extractors live in :mod:`recsys.features`, because the rating models read the same
store. This package reads movies, metadata and features through :mod:`recsys` and
never the other way round.
"""

from __future__ import annotations

# Nothing is re-exported here: ``genre --help`` imports this package and must stay fast,
# and the submodules pull in pandas, scikit-learn and Keras. Import what you need from
# them (``genre.data.dataset``, ``genre.text.classifier``, ``genre.fusion.model``, ...). Only
# ``genre.fusion.model`` (and what imports it) loads Keras, on the backend chosen by
# ``KERAS_BACKEND`` or ``--backend`` (TensorFlow, JAX or PyTorch; see recsys.backend); the
# text models and ``genre predict`` on them never do.
__all__: list[str] = []
