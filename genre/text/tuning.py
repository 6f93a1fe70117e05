"""Choose hyper-parameters and per-genre thresholds on the validation part only.

Protocol (the test part is never seen here):

1. For every point of a small grid (vectorizer ``min_df`` and ``ngram_max``, and ``C``
   or ``alpha``), fit :class:`~genre.text.classifier.GenreTextClassifier` on the training
   texts and score the validation texts.
2. Keep the point with the best validation ``select_by`` metric. The default,
   ``mean_roc_auc``, does not depend on thresholds; ``micro_f1`` and ``macro_f1`` are
   measured at thresholds chosen on the same validation scores, so they are optimistic
   (equally so for every grid point).
3. Choose one threshold per genre on the validation scores of that model
   (:func:`genre.evaluation.metrics.select_thresholds`, maximising F1 or accuracy).

The chosen model is *not* refitted on train + validation: its thresholds belong to the
score scale of the fitted model.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from genre.evaluation import metrics
from genre.text.classifier import MODELS, GenreTextClassifier
from recsys.errors import DataError, InvalidParameterError

__all__ = ["SELECT_BY", "TunedModel", "default_grid", "tune"]

SELECT_BY = ("mean_roc_auc", "micro_f1", "macro_f1")


def default_grid(model: str) -> dict[str, list[Any]]:
    """The hyper-parameter grid searched for ``model`` unless one is given.

    >>> default_grid("nb")["alpha"]
    [0.03, 0.1, 0.3, 1.0]
    """
    vocabulary = {"min_df": [2, 5], "ngram_max": [1, 2]}
    if model == "nb":
        return {**vocabulary, "alpha": [0.03, 0.1, 0.3, 1.0]}
    if model == "svm":
        return {**vocabulary, "C": [0.01, 0.03, 0.1, 0.3, 1.0]}
    if model == "logreg":
        return {**vocabulary, "C": [0.3, 1.0, 3.0, 10.0]}
    raise InvalidParameterError(
        "model", f"unknown model {model!r}; expected one of {', '.join(MODELS)}."
    )


@dataclass
class TunedModel:
    """The model chosen on validation data, its thresholds and the search it came from.

    Attributes
    ----------
    estimator : the fitted classifier.
    params : its grid parameters.
    thresholds : ndarray of shape (n_genres,), chosen on validation scores.
    val_scores : ndarray of shape (n_val, n_genres), its validation scores.
    search : one row per grid point: the parameters and validation metrics.
    """

    estimator: GenreTextClassifier
    params: dict[str, Any]
    thresholds: NDArray[np.float64]
    val_scores: NDArray[np.float64]
    search: list[dict[str, Any]] = field(default_factory=list)


def tune(
    X_train: Sequence[str],
    Y_train: ArrayLike,
    X_val: Sequence[str],
    Y_val: ArrayLike,
    *,
    model: Literal["nb", "svm", "logreg"],
    features: Literal["tfidf", "bow"] = "tfidf",
    class_weight: str | None = None,
    seed: int = 0,
    grid: dict[str, list[Any]] | None = None,
    select_by: str = "mean_roc_auc",
    threshold_by: Literal["f1", "accuracy"] = "f1",
    on_step: Callable[[dict[str, Any]], None] | None = None,
    genres: Sequence[str] | None = None,
) -> TunedModel:
    """Grid-search on validation data, then pick per-genre thresholds on it.

    Parameters
    ----------
    X_train, X_val : texts of the training and validation movies.
    Y_train, Y_val : label matrices of shape (n, n_genres).
    model, features, class_weight, seed : passed to :class:`GenreTextClassifier`.
    grid : ``{parameter: [values]}``; :func:`default_grid` when ``None``.
    select_by : ``mean_roc_auc``, ``micro_f1`` or ``macro_f1`` on validation.
    threshold_by : ``f1`` or ``accuracy``.
    on_step : called with each search row (for progress output).
    genres : the genre of each label column (the classifier's ``genres_``).

    Raises
    ------
    DataError
        Unknown ``select_by``, an empty grid, or no validation movie.

    Examples
    --------
    >>> texts = ["alien ship", "alien war", "love story", "love song"] * 4
    >>> Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]] * 4)
    >>> tuned = tune(texts[:8], Y[:8], texts[8:], Y[8:], model="nb",
    ...              grid={"alpha": [0.1, 1.0], "min_df": [1]})
    >>> len(tuned.search), tuned.thresholds.shape
    (2, (2,))
    """
    if select_by not in SELECT_BY:
        raise InvalidParameterError(
            "select_by",
            f"unknown select_by {select_by!r}; expected one of {', '.join(SELECT_BY)}.",
        )
    y_val = np.asarray(Y_val)
    if len(X_val) == 0:
        raise DataError(
            "the validation part is empty; rebuild the dataset with a validation fraction above 0."
        )
    grid = default_grid(model) if grid is None else grid
    names = sorted(grid)
    points = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(grid[n] for n in names))
    ]
    if not points:
        raise DataError("the hyper-parameter grid is empty.")
    best: tuple[float, int] | None = None
    fitted: GenreTextClassifier | None = None
    best_scores: NDArray[np.float64] | None = None
    search: list[dict[str, Any]] = []
    for index, params in enumerate(points):
        estimator = GenreTextClassifier(
            model=model, features=features, class_weight=class_weight, random_state=seed, **params
        )
        estimator.fit(
            X_train, Y_train, genres=genres, validation=(X_val, y_val), threshold_by=threshold_by
        )
        scores = estimator.scores(X_val)
        predicted = metrics.apply_thresholds(scores, estimator.thresholds_)
        auc = metrics.roc_auc_per_genre(y_val, scores)
        row = {
            **params,
            "vocabulary_size": estimator.vocabulary_size_,
            "mean_roc_auc": float(np.nanmean(auc)) if np.isfinite(auc).any() else 0.0,
            "micro_f1": metrics.f1(y_val, predicted, "micro"),
            "macro_f1": metrics.f1(y_val, predicted, "macro"),
        }
        search.append(row)
        if on_step is not None:
            on_step(row)
        key = (row[select_by], -index)  # ties go to the earlier (simpler) grid point
        if best is None or key > best:
            best, fitted, best_scores = key, estimator, scores
    assert fitted is not None and best_scores is not None and best is not None
    chosen = points[-best[1]]
    return TunedModel(fitted, chosen, fitted.thresholds_, best_scores, search)
