"""Classical text classifiers for multi-label genres: naive Bayes, linear SVM, logistic regression.

:class:`GenreTextClassifier` is a scikit-learn estimator taking raw texts: a bag-of-words
or TF-IDF vectorizer (fitted on the training texts only) followed by one binary
classifier per genre (``OneVsRestClassifier``).

Scores
    ``nb`` (``MultinomialNB``) and ``logreg`` (``LogisticRegression``) give
    probabilities (:meth:`GenreTextClassifier.scores` is ``predict_proba``). ``svm``
    (``LinearSVC``) has no probabilities: its scores are the signed distances of
    ``decision_function`` and genre thresholds are chosen on that scale; we do not
    calibrate it, because calibration would need another held-out part and the
    per-genre thresholds chosen on validation do the same job for F1 and accuracy.
    ``score_kind_`` says which.

Class weights
    ``class_weight="balanced"`` is passed to ``LinearSVC`` / ``LogisticRegression``
    (each genre's positives and negatives weigh the same in its loss). Naive Bayes has
    no class weights; for it ``"balanced"`` means uniform class priors
    (``fit_prior=False``), its closest equivalent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from genre.data.labels import check_training_labels
from genre.estimator import GenreThresholdsMixin, genre_names
from genre.evaluation.metrics import Criterion
from genre.model_dir import (
    MODEL_FILES,
    read_model_folder,
    write_model_folder,
)
from genre.text.features import make_vectorizer
from recsys.errors import DataError, InvalidParameterError, ModelDirError, NotFittedError

__all__ = ["MODELS", "GenreTextClassifier"]

MODELS = ("nb", "svm", "logreg")


def _has_proba(self: GenreTextClassifier) -> bool:
    return self.model != "svm"


class GenreTextClassifier(GenreThresholdsMixin, ClassifierMixin, BaseEstimator):
    """Vectorizer + one binary classifier per genre, on raw movie texts.

    Parameters
    ----------
    model : ``"nb"``, ``"svm"`` or ``"logreg"``.
    features : ``"tfidf"`` or ``"bow"``.
    C : inverse regularisation strength of ``svm`` and ``logreg``.
    alpha : additive smoothing of ``nb``.
    min_df, max_df, ngram_max : vectorizer vocabulary (see
        :func:`genre.text.features.make_vectorizer`).
    class_weight : ``None`` or ``"balanced"`` (see the module docstring).
    random_state : seed of ``LinearSVC``'s and ``LogisticRegression``'s solvers.

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted ``Pipeline(vectorizer, OneVsRestClassifier)``.
    n_genres_ : int
        Number of label columns seen in ``fit``.
    classes_ : ndarray of shape (n_genres,)
        ``0 .. n_genres - 1`` (the label columns).
    genres_ : tuple of str, length n_genres
        The genre of each label column (``fit``'s ``genres``; ``"0"``, ``"1"``, ...
        when none were given).
    score_kind_ : str
        ``"probability"`` (nb, logreg) or ``"decision"`` (svm).
    vocabulary_size_ : int
        Number of words (or n-grams) the vectorizer kept.
    thresholds_ : ndarray of shape (n_genres,)
        Per-genre thresholds :meth:`predict` applies to :meth:`scores`: chosen on the
        validation part given to ``fit`` (or :meth:`fit_thresholds`), else 0.5 for
        probabilities and 0 for decision scores.
    threshold_by_ : str or None
        The metric the thresholds maximised on validation (``None``: the defaults).

    Examples
    --------
    >>> texts = ["space ship alien", "alien planet", "love story", "love wedding"] * 3
    >>> Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]] * 3)
    >>> clf = GenreTextClassifier(model="logreg", C=10.0, min_df=1, max_df=1.0)
    >>> clf.fit(texts, Y, genres=["SciFi", "Romance"]) is clf
    True
    >>> clf.predict(["alien ship", "a love story"]).tolist()
    [[1, 0], [0, 1]]
    >>> [genre for genre, _, _ in clf.top_k(["alien ship"], k=1)[0]]
    ['SciFi']
    """

    def __init__(
        self,
        *,
        model: Literal["nb", "svm", "logreg"] = "logreg",
        features: Literal["tfidf", "bow"] = "tfidf",
        C: float = 1.0,
        alpha: float = 0.1,
        min_df: int | float = 2,
        max_df: float = 0.8,
        ngram_max: int = 1,
        class_weight: str | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.model = model
        self.features = features
        self.C = C
        self.alpha = alpha
        self.min_df = min_df
        self.max_df = max_df
        self.ngram_max = ngram_max
        self.class_weight = class_weight
        self.random_state = random_state

    def _base_estimator(self) -> BaseEstimator:
        if self.class_weight not in (None, "balanced"):
            raise InvalidParameterError(
                "class_weight",
                f"class_weight must be None or 'balanced', received {self.class_weight!r}.",
            )
        if self.model == "nb":
            return MultinomialNB(alpha=self.alpha, fit_prior=self.class_weight is None)
        if self.model == "svm":
            # Raw bag-of-words counts need more than the default 1000 iterations.
            return LinearSVC(
                C=self.C,
                class_weight=self.class_weight,
                max_iter=10_000,
                random_state=self.random_state,
            )
        if self.model == "logreg":
            return LogisticRegression(
                C=self.C,
                class_weight=self.class_weight,
                solver="liblinear",
                random_state=self.random_state,
            )
        raise InvalidParameterError(
            "model", f"unknown model {self.model!r}; expected one of {', '.join(MODELS)}."
        )

    def fit(
        self,
        X: Sequence[str],
        Y: ArrayLike,
        *,
        genres: Sequence[str] | None = None,
        validation: tuple[Sequence[str], ArrayLike] | None = None,
        threshold_by: Criterion = "f1",
    ) -> GenreTextClassifier:
        """Fit the vectorizer and the per-genre classifiers on training texts.

        Parameters
        ----------
        X : sequence of str, length n_movies.
        Y : array-like of shape (n_movies, n_genres), binary.
        genres : the genre of each column of ``Y`` (default ``"0"``, ``"1"``, ...).
        validation : ``(X_val, Y_val)``: per-genre thresholds are chosen on these
            texts to maximise ``threshold_by`` (:meth:`fit_thresholds`); without it
            :attr:`thresholds_` are the defaults (0.5, or 0 for svm decisions).
        threshold_by : ``"f1"`` or ``"accuracy"``.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Texts and labels of different lengths, every text empty, a vocabulary
            left empty by ``min_df`` / ``max_df``, labels that are not binary, fewer
            than 2 genres or a genre on every (or no) training movie
            (:func:`genre.data.labels.check_training_labels`), or ``genres`` of
            another length than the label columns.
        """
        texts = _texts(X)
        labels = np.asarray(Y)
        if labels.ndim != 2 or labels.shape[0] != len(texts):
            raise DataError(
                f"expected labels of shape ({len(texts)}, n_genres), received {labels.shape}."
            )
        labels = check_training_labels(labels)
        names = genre_names(genres, labels.shape[1])
        if not any(t.strip() for t in texts):
            raise DataError(
                "every training text is empty; choose a text field the movies have "
                "(e.g. the overview) or fetch the overviews first."
            )
        if self.features not in ("tfidf", "bow"):
            raise InvalidParameterError(
                "features", f"unknown features {self.features!r}; expected tfidf or bow."
            )
        vectorizer = make_vectorizer(
            self.features, min_df=self.min_df, max_df=self.max_df, ngram_max=self.ngram_max
        )
        pipeline = Pipeline(
            [
                ("vectorizer", vectorizer),
                ("classifier", OneVsRestClassifier(self._base_estimator())),
            ]
        )
        try:
            pipeline.fit(texts, labels.astype(np.int64))
        except ValueError as error:
            if "empty vocabulary" in str(error) or "max_df corresponds" in str(error):
                raise DataError(
                    f"the text vocabulary is empty with min_df={self.min_df} and "
                    f"max_df={self.max_df} ({error}); lower min_df or raise "
                    "max_df."
                ) from None
            raise
        self.pipeline_ = pipeline
        self.n_genres_ = int(labels.shape[1])
        self.classes_ = np.arange(labels.shape[1])
        self.genres_ = names
        self.score_kind_ = "probability" if self.model != "svm" else "decision"
        self.vocabulary_size_ = len(pipeline.named_steps["vectorizer"].vocabulary_)
        default = 0.5 if self.score_kind_ == "probability" else 0.0
        self.thresholds_ = np.full(self.n_genres_, default)
        self.threshold_by_ = None
        if validation is not None:
            self.fit_thresholds(*validation, by=threshold_by)
        return self

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "pipeline_")
        except Exception:
            raise NotFittedError(
                "this GenreTextClassifier is not fitted yet; call fit first."
            ) from None

    def scores(self, X: Sequence[str]) -> NDArray[np.float64]:
        """Genre scores of shape ``(n_movies, n_genres)``: probabilities or SVM decisions.

        These are the numbers :attr:`thresholds_` apply to; :attr:`score_kind_` says
        which.
        """
        self._check_fitted()
        texts = _texts(X)
        if self.score_kind_ == "probability":
            return np.asarray(self.pipeline_.predict_proba(texts), dtype=float)
        return np.asarray(self.pipeline_.decision_function(texts), dtype=float).reshape(
            len(texts), self.n_genres_
        )

    @available_if(_has_proba)
    def predict_proba(self, X: Sequence[str]) -> NDArray[np.float64]:
        """Per-genre probabilities, shape ``(n_movies, n_genres)`` (nb and logreg only)."""
        return self.scores(X)

    def decision_function(self, X: Sequence[str]) -> NDArray[np.float64]:
        """Alias of :meth:`scores` (probabilities for nb and logreg)."""
        return self.scores(X)

    def known_term_counts(self, X: Sequence[str]) -> NDArray[np.int64]:
        """For each text, how many of its words (or n-grams) the vectorizer knows.

        A text with none gets the model's scores for an empty text.

        >>> clf = GenreTextClassifier(min_df=1, max_df=1.0).fit(
        ...     ["alien ship", "love story"] * 2, [[1, 0], [0, 1]] * 2)
        >>> clf.known_term_counts(["alien love", "unknown words"]).tolist()
        [2, 0]
        """
        self._check_fitted()
        matrix = self.pipeline_.named_steps["vectorizer"].transform(_texts(X))
        return np.asarray(matrix.getnnz(axis=1), dtype=np.int64)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        search: list[dict[str, Any]] | None = None,
    ) -> Path:
        """Write this fitted classifier to a model folder (:mod:`genre.model_dir`).

        Parameters
        ----------
        path : the folder (replaced atomically if it is a genre model folder).
        config : what else ``config.json`` records (data used, text field, grid...).
        metrics : the ``metrics.json`` payload.
        search : the validation metrics of each grid point (``search.json``).

        Returns
        -------
        The folder's path.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataError
            If ``path`` is a non-empty folder that is not a genre model folder.
        """
        import joblib
        import sklearn

        self._check_fitted()
        full_config = {
            **(config or {}),
            "estimator": self.get_params(),
            "score_kind": self.score_kind_,
            "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        }
        return write_model_folder(
            path,
            kind="text",
            write_model_file=lambda tmp: joblib.dump(self, tmp / MODEL_FILES["text"]),
            genres=self.genres_,
            thresholds=self.thresholds_,
            threshold_by=self.threshold_by_,
            score_kind=self.score_kind_,
            config=full_config,
            metrics=metrics,
            extra={"search.json": search or []},
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GenreTextClassifier:
        """Read a classifier written by :meth:`save`.

        Only load folders you trust (``model.joblib`` is a pickle). The genres and
        thresholds come from ``genres.json`` and ``thresholds.json``.

        Raises
        ------
        ModelDirError
            Not a text genre model folder, damaged files, or files that disagree with
            each other (thresholds or model outputs for other genres than
            ``genres.json``).
        """
        import joblib

        folder = read_model_folder(path, kind="text", load_model_file=joblib.load)
        estimator = folder.model
        if not isinstance(estimator, cls) or not hasattr(estimator, "pipeline_"):
            raise ModelDirError(
                f"{str(folder.path / MODEL_FILES['text'])!r} does not hold a fitted "
                f"{cls.__name__}; retrain the model."
            )
        if estimator.n_genres_ != len(folder.vocabulary):
            raise ModelDirError(
                f"{str(folder.path)!r}: genres.json and the model disagree on the genres; "
                "retrain the model."
            )
        estimator.genres_ = folder.vocabulary.genres
        estimator.thresholds_ = folder.thresholds
        estimator.threshold_by_ = folder.threshold_by
        return estimator


def _texts(X: Sequence[str]) -> list[str]:
    if isinstance(X, str):
        raise DataError(
            "expected a sequence of texts, received a single string; wrap it in a list."
        )
    texts = list(X)
    if any(not isinstance(t, str) for t in texts):
        kinds = sorted({type(t).__name__ for t in texts if not isinstance(t, str)})
        raise DataError(f"expected texts (str), received {', '.join(kinds)}.")
    return texts
