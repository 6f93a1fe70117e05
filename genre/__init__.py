"""genre: multi-label movie genre prediction.

Layout:

- :mod:`genre.data`: the labelled movie set (genre vocabulary, metadata sources,
  multi-label stratified splits, saved sets);
- :mod:`genre.text`: classical text models (TF-IDF or bag of words with naive Bayes,
  linear SVM, logistic regression: :class:`~genre.text.classifier.GenreTextClassifier`),
  their validation grid search and one tuned-and-tested run;
- :mod:`genre.fusion`: a fused multi-input Keras model
  (:class:`~genre.fusion.model.FusionClassifier`) on the blocks of the shared movie
  feature store, one trained-and-tested run and the block ablation;
- :mod:`genre.evaluation`: multi-label metrics with thresholds chosen on validation
  data, and the test report beside trivial benchmarks;
- :mod:`genre.analysis`: genre co-occurrence, co-clustering and charts;
- :mod:`genre.model_dir`: the one folder format of saved models (``kind`` text or
  fused); each classifier has ``save(path)`` and ``Class.load(path)``;
- :mod:`genre.workflows`: the policies the command line, benchmarks and notebooks
  share (which options fit a model, what a saved model records, loading any model);
- :mod:`genre.cli`: the ``genre`` command, which only parses arguments and prints.

Both classifiers are scikit-learn estimators with one contract: keyword-only
hyper-parameters, ``fit(X, Y, *, validation=..., genres=...)`` returning ``self``,
``scores`` / ``predict_proba`` / ``predict`` / ``top_k``, fitted attributes ending in
``_``. The poster (VGG16) and overview (word2vec) feature extractors live in
:mod:`recsys.features`, because the rating models read the same store. This package
reads movies, metadata and features through :mod:`recsys` and never the other way
round.
"""

from __future__ import annotations

# Nothing is re-exported here: ``genre --help`` imports this package and must stay fast,
# and the submodules pull in pandas, scikit-learn and Keras. Import what you need from
# them (``genre.data.dataset``, ``genre.text.classifier``, ``genre.fusion.model``, ...). Only
# ``genre.fusion.model`` (and what imports it) loads Keras, on the backend chosen by
# ``KERAS_BACKEND`` or ``--backend`` (TensorFlow, JAX or PyTorch; see recsys.backend); the
# text models and ``genre predict`` on them never do.
__all__: list[str] = []
