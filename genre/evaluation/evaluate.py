"""Score a model once on the test part, beside the trivial benchmarks.

Trivial benchmarks (no text at all)
    ``prior``: every movie gets each genre's training frequency as its score, with
    per-genre thresholds chosen on validation exactly as for a model (by F1 that means
    "always predict" for genres where that maximises F1, by accuracy "never predict"
    for genres on fewer than half the movies). Its ROC-AUC is 0.5 and its top-k
    genres are the k most frequent ones.
    ``all_negative``: no genre ever predicted (thresholds ``+inf``). It has no scores,
    so it ranks nothing: its ranking metrics (``mean_roc_auc``, ``top1_accuracy``,
    ``top3_precision`` and each genre's ``roc_auc``) are ``None`` (JSON ``null``, shown
    as ``-``), not the prior's ranking; its report says so in ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from genre.evaluation import metrics
from recsys.errors import DataError

__all__ = ["RANKING_METRICS", "benchmark_reports", "prior_scores", "score_on_test"]

#: The summary metrics that only depend on how the scores rank genres and movies.
RANKING_METRICS = ("mean_roc_auc", "top1_accuracy", "top3_precision")


def prior_scores(Y_train: ArrayLike, n: int) -> NDArray[np.float64]:
    """Scores of shape ``(n, n_genres)``: each genre's training frequency on every row.

    >>> prior_scores([[1, 0], [1, 1]], 3).tolist()
    [[1.0, 0.5], [1.0, 0.5], [1.0, 0.5]]
    """
    y = np.asarray(Y_train, dtype=float)
    if y.ndim != 2 or len(y) == 0:
        raise DataError(f"expected a non-empty training label matrix, received {y.shape}.")
    return np.tile(y.mean(axis=0), (n, 1))


def benchmark_reports(
    Y_train: ArrayLike,
    Y_val: ArrayLike,
    Y_test: ArrayLike,
    genres: Sequence[str],
    threshold_by: Literal["f1", "accuracy"] = "f1",
) -> dict[str, dict[str, Any]]:
    """Test metrics of the ``prior`` and ``all_negative`` benchmarks (see module docstring)."""
    y_val, y_test = np.asarray(Y_val), np.asarray(Y_test)
    val_scores = prior_scores(Y_train, len(y_val))
    test_scores = prior_scores(Y_train, len(y_test))
    thresholds = metrics.select_thresholds(y_val, val_scores, threshold_by)
    never = np.full(len(genres), np.inf)
    negative = metrics.multilabel_report(y_test, test_scores, never, genres)
    for name in RANKING_METRICS:
        negative[name] = None
    for row in negative["per_genre"]:
        row["roc_auc"] = None
    negative["note"] = (
        "predicts no genre and has no scores: its ranking metrics "
        f"({', '.join(RANKING_METRICS)}, per-genre roc_auc) are undefined "
        "(null)"
    )
    return {
        "prior": metrics.multilabel_report(y_test, test_scores, thresholds, genres),
        "all_negative": negative,
    }


def score_on_test(
    Y_test: ArrayLike,
    test_scores: ArrayLike,
    thresholds: ArrayLike,
    genres: Sequence[str],
    *,
    Y_train: ArrayLike,
    Y_val: ArrayLike,
    threshold_by: Literal["f1", "accuracy"] = "f1",
) -> dict[str, Any]:
    """The ``metrics.json`` payload: model metrics on test, benchmarks, sizes, genres.

    Returns
    -------
    dict with the summary metrics of :func:`genre.evaluation.metrics.multilabel_report` at the top
    level, ``per_genre``, ``benchmarks`` (``prior``, ``all_negative``), ``n_train``,
    ``n_val``, ``n_test``, ``genres`` and ``threshold_by``.
    """
    y_train, y_val = np.asarray(Y_train), np.asarray(Y_val)
    report = metrics.multilabel_report(Y_test, test_scores, thresholds, genres)
    report["benchmarks"] = benchmark_reports(y_train, y_val, Y_test, genres, threshold_by)
    report.update(
        {
            "n_train": len(y_train),
            "n_val": len(y_val),
            "n_test": len(np.asarray(Y_test)),
            "genres": list(genres),
            "threshold_by": threshold_by,
        }
    )
    return report
