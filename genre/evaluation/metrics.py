"""Multi-label metrics, written with numpy and checked against scikit-learn in the tests.

Notation: ``Y`` is the true binary matrix of shape ``(n_movies, n_genres)``, ``P`` a
predicted binary matrix of the same shape and ``S`` real-valued scores (probabilities
or decision values; only their order matters to the ranking metrics).

==================  ================================================================
metric              meaning
==================  ================================================================
micro/macro/        F1 over all (movie, genre) cells / mean of per-genre F1 /
weighted/samples F1 per-genre F1 weighted by support / mean of per-movie F1
samples_precision   mean over movies of |predicted ∩ true| / |predicted|
samples_recall      mean over movies of |predicted ∩ true| / |true|
hamming_loss        fraction of (movie, genre) cells predicted wrongly
mean_roc_auc        mean over genres of the ROC-AUC of the scores (threshold-free;
                    genres with one class only in ``Y`` are left out)
mean_accuracy       mean over genres of the per-genre accuracy at the thresholds
top1_accuracy       fraction of movies whose highest-scored genre is a true genre
                    (the accuracy of the single "top class" prediction)
top3_precision      mean over movies of |top-3 scored ∩ true| / 3
==================  ================================================================

A ratio with a zero denominator (a genre never predicted, a movie with no true genre)
counts as ``zero_division`` (0 by default), as in scikit-learn.

Thresholds (:func:`select_thresholds`) are chosen per genre on validation data to
maximise F1 or accuracy, and then applied unchanged to the test part. Maximising each
genre's accuracy is the same as minimising the Hamming loss, so ``accuracy`` gives the
Hamming loss at the best threshold, chosen per genre and without looking at the test
part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError

__all__ = [
    "METRIC_NAMES",
    "apply_thresholds",
    "f1",
    "hamming_loss",
    "json_float",
    "mean_accuracy",
    "multilabel_report",
    "per_genre_accuracy",
    "per_genre_prf",
    "roc_auc_per_genre",
    "samples_precision_recall",
    "select_thresholds",
    "top1_accuracy",
    "topk_precision",
]

#: The summary metrics :func:`multilabel_report` returns, in a stable order.
METRIC_NAMES = (
    "micro_f1",
    "macro_f1",
    "weighted_f1",
    "samples_f1",
    "samples_precision",
    "samples_recall",
    "hamming_loss",
    "mean_roc_auc",
    "mean_accuracy",
    "top1_accuracy",
    "top3_precision",
)

Average = Literal["micro", "macro", "weighted", "samples"]
Criterion = Literal["f1", "accuracy"]


def _binary_pair(Y: ArrayLike, P: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    y, p = np.asarray(Y), np.asarray(P)
    if y.ndim != 2 or y.shape != p.shape:
        raise DataError(
            f"expected two label matrices of the same 2-d shape, received {y.shape} and {p.shape}."
        )
    return y.astype(bool), p.astype(bool)


def _scores_pair(Y: ArrayLike, S: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    y, s = np.asarray(Y), np.asarray(S, dtype=float)
    if y.ndim != 2 or y.shape != s.shape:
        raise DataError(
            f"expected labels and scores of the same 2-d shape, received {y.shape} and {s.shape}."
        )
    if not np.all(np.isfinite(s)):
        raise DataError("scores contain NaN or infinite values; check the model's output.")
    return y.astype(bool), s


def _divide(
    num: NDArray[np.float64], den: NDArray[np.float64], zero_division: float
) -> NDArray[np.float64]:
    out = np.full(np.shape(num), float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def _counts(y: NDArray[np.bool_], p: NDArray[np.bool_], axis: int | None):
    tp = np.sum(y & p, axis=axis).astype(float)
    fp = np.sum(~y & p, axis=axis).astype(float)
    fn = np.sum(y & ~p, axis=axis).astype(float)
    return tp, fp, fn


def per_genre_prf(
    Y: ArrayLike, P: ArrayLike, *, zero_division: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Per-genre precision, recall, F1 and support, each of shape ``(n_genres,)``.

    >>> p, r, f, n = per_genre_prf([[1, 0], [1, 1]], [[1, 1], [0, 1]])
    >>> p.tolist(), r.tolist(), n.tolist()
    ([1.0, 0.5], [0.5, 1.0], [2, 1])
    """
    y, p = _binary_pair(Y, P)
    tp, fp, fn = _counts(y, p, axis=0)
    precision = _divide(tp, tp + fp, zero_division)
    recall = _divide(tp, tp + fn, zero_division)
    f1_ = _divide(2 * tp, 2 * tp + fp + fn, zero_division)
    return precision, recall, f1_, y.sum(axis=0).astype(np.int64)


def f1(
    Y: ArrayLike, P: ArrayLike, average: Average = "micro", *, zero_division: float = 0.0
) -> float:
    """F1 score of a multi-label prediction (as ``sklearn.metrics.f1_score``).

    Parameters
    ----------
    Y, P : array-like of shape (n_movies, n_genres), binary.
    average : ``micro``, ``macro``, ``weighted`` or ``samples``.

    >>> f1([[1, 0], [1, 1]], [[1, 1], [0, 1]], "micro")
    0.6666666666666666
    """
    y, p = _binary_pair(Y, P)
    if average == "micro":
        tp, fp, fn = _counts(y, p, axis=None)
        return float(_divide(np.array(2 * tp), np.array(2 * tp + fp + fn), zero_division))
    if average in ("macro", "weighted"):
        _, _, scores, support = per_genre_prf(y, p, zero_division=zero_division)
        if average == "macro":
            return float(scores.mean())
        total = support.sum()
        # No true label anywhere: scikit-learn falls back to the unweighted mean.
        return float((scores * support).sum() / total) if total > 0 else float(scores.mean())
    if average == "samples":
        tp, fp, fn = _counts(y, p, axis=1)
        return float(_divide(2 * tp, 2 * tp + fp + fn, zero_division).mean())
    raise DataError(f"unknown average {average!r}; expected micro, macro, weighted or samples.")


def samples_precision_recall(
    Y: ArrayLike, P: ArrayLike, *, zero_division: float = 0.0
) -> tuple[float, float]:
    """Mean per-movie precision and recall (``average="samples"`` in scikit-learn).

    >>> samples_precision_recall([[1, 0], [1, 1]], [[1, 1], [0, 1]])
    (0.75, 0.75)
    """
    y, p = _binary_pair(Y, P)
    tp, fp, fn = _counts(y, p, axis=1)
    return (
        float(_divide(tp, tp + fp, zero_division).mean()),
        float(_divide(tp, tp + fn, zero_division).mean()),
    )


def hamming_loss(Y: ArrayLike, P: ArrayLike) -> float:
    """Fraction of (movie, genre) cells predicted wrongly.

    >>> hamming_loss([[1, 0], [1, 1]], [[1, 1], [0, 1]])
    0.5
    """
    y, p = _binary_pair(Y, P)
    return float(np.mean(y != p)) if y.size else 0.0


def per_genre_accuracy(Y: ArrayLike, P: ArrayLike) -> NDArray[np.float64]:
    """Accuracy of each genre column, shape ``(n_genres,)``."""
    y, p = _binary_pair(Y, P)
    return np.mean(y == p, axis=0).astype(float)


def mean_accuracy(Y: ArrayLike, P: ArrayLike) -> float:
    """Mean over genres of the per-genre accuracy (equals ``1 - hamming_loss``)."""
    return float(per_genre_accuracy(Y, P).mean())


def roc_auc_per_genre(Y: ArrayLike, S: ArrayLike) -> NDArray[np.float64]:
    """ROC-AUC of each genre's scores, shape ``(n_genres,)``; NaN where a genre has one class.

    Computed from average ranks (the Mann-Whitney statistic), so tied scores count one
    half, as in ``sklearn.metrics.roc_auc_score``.

    >>> roc_auc_per_genre([[1, 1], [0, 1], [1, 1]], [[0.9, 0.2], [0.1, 0.3], [0.5, 0.2]]).tolist()
    [1.0, nan]
    """
    y, s = _scores_pair(Y, S)
    n_pos = y.sum(axis=0).astype(float)
    n_neg = y.shape[0] - n_pos
    if y.shape[0] == 0:
        return np.full(y.shape[1], np.nan)
    ranks = np.column_stack([_average_ranks(s[:, j]) for j in range(s.shape[1])])
    rank_sum = np.where(y, ranks, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _average_ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """1-based ranks of ``values``, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]  # exclusive
    mean_rank = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def top1_accuracy(Y: ArrayLike, S: ArrayLike) -> float:
    """Fraction of movies whose highest-scored genre is one of their true genres.

    Ties go to the first genre in column order.

    >>> top1_accuracy([[1, 0], [1, 0]], [[0.9, 0.1], [0.2, 0.8]])
    0.5
    """
    y, s = _scores_pair(Y, S)
    if y.shape[0] == 0:
        return 0.0
    best = np.argmax(s, axis=1)
    return float(y[np.arange(len(y)), best].mean())


def topk_precision(Y: ArrayLike, S: ArrayLike, k: int = 3) -> float:
    """Mean over movies of ``|top-k scored genres ∩ true genres| / k``.

    Ties go to the earlier genre in column order.

    >>> topk_precision([[1, 1, 0, 0]], [[0.9, 0.1, 0.8, 0.7]], k=2)
    0.5
    """
    y, s = _scores_pair(Y, S)
    if not 1 <= k <= y.shape[1]:
        raise DataError(
            f"k must be between 1 and the number of genres ({y.shape[1]}), received {k}."
        )
    if y.shape[0] == 0:
        return 0.0
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return float(np.take_along_axis(y, top, axis=1).sum(axis=1).mean() / k)


def select_thresholds(
    Y: ArrayLike, S: ArrayLike, criterion: Criterion = "f1"
) -> NDArray[np.float64]:
    """Per-genre decision thresholds that maximise F1 or accuracy on the given data.

    Call it on validation data only; the thresholds are then applied unchanged to test
    data with :func:`apply_thresholds` (a genre is predicted when ``score >= threshold``).

    Every distinct way of cutting the sorted scores is tried; the threshold is placed
    half-way between the last predicted and the first unpredicted score, ``-inf`` when
    every movie is predicted and ``+inf`` when none is. Ties between cuts go to the one
    predicting fewer movies. A genre without any positive validation movie gets
    ``+inf`` for F1 (never predicted).

    Parameters
    ----------
    Y : array-like of shape (n_movies, n_genres), binary.
    S : array-like of shape (n_movies, n_genres), scores.
    criterion : ``"f1"`` or ``"accuracy"``.

    Returns
    -------
    ndarray of shape (n_genres,).

    Examples
    --------
    >>> select_thresholds([[1], [1], [0], [0]], [[0.9], [0.6], [0.4], [0.1]]).tolist()
    [0.5]
    >>> select_thresholds([[0], [0], [1]], [[0.5], [0.5], [0.5]], "accuracy").tolist()
    [inf]
    """
    if criterion not in ("f1", "accuracy"):
        raise DataError(f"unknown threshold criterion {criterion!r}; expected f1 or accuracy.")
    y, s = _scores_pair(Y, S)
    n, k = y.shape
    thresholds = np.full(k, np.inf)
    if n == 0:
        return thresholds
    for j in range(k):
        order = np.argsort(-s[:, j], kind="stable")
        scores, labels = s[order, j], y[order, j]
        tp = np.concatenate([[0.0], np.cumsum(labels)])  # predicting the top c
        fp = np.arange(n + 1, dtype=float) - tp
        positives = labels.sum()
        # Valid cut sizes: 0, n, and every c where scores[c-1] > scores[c].
        valid = np.ones(n + 1, dtype=bool)
        valid[1:n] = scores[:-1] > scores[1:]
        if criterion == "f1":
            value = _divide(2 * tp, tp + fp + positives, 0.0)
        else:
            value = (tp + (n - positives - fp)) / n
        value = np.where(valid, value, -np.inf)
        c = int(np.argmax(value))
        if c == 0:
            thresholds[j] = np.inf
        elif c == n:
            thresholds[j] = -np.inf
        else:
            thresholds[j] = (scores[c - 1] + scores[c]) / 2
    return thresholds


def apply_thresholds(S: ArrayLike, thresholds: ArrayLike) -> NDArray[np.uint8]:
    """Binary predictions ``S >= thresholds`` (one threshold per genre column)."""
    s = np.asarray(S, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    if s.ndim != 2 or t.shape != (s.shape[1],):
        raise DataError(f"expected one threshold per genre ({s.shape[1:]}), received {t.shape}.")
    return (s >= t).astype(np.uint8)


def multilabel_report(
    Y: ArrayLike, S: ArrayLike, thresholds: ArrayLike, genres: Sequence[str]
) -> dict[str, Any]:
    """Every summary metric plus a per-genre table, for scores ``S`` cut at ``thresholds``.

    Returns
    -------
    dict with the keys of :data:`METRIC_NAMES` (floats; ``mean_roc_auc`` is ``None`` when
    no genre has both classes) and ``per_genre``: a list of ``{genre, support,
    precision, recall, f1, roc_auc, accuracy, threshold, predicted}`` rows. JSON has no
    infinity, so ``threshold`` is a number for a genre predicted when its score reaches
    it (``predicted: "by_threshold"``) and ``None`` (JSON ``null``) for a genre
    predicted on every movie (``predicted: "always"``, threshold ``-inf``) or on none
    (``predicted: "never"``, threshold ``+inf``).

    Examples
    --------
    >>> rep = multilabel_report([[1, 0], [0, 1]], [[0.8, 0.3], [0.2, 0.6]], [0.5, 0.5],
    ...                         ["Comedy", "Drama"])
    >>> rep["micro_f1"], rep["mean_roc_auc"], rep["per_genre"][0]["support"]
    (1.0, 1.0, 1)
    """
    y, s = _scores_pair(Y, S)
    if len(genres) != y.shape[1]:
        raise DataError(f"expected {y.shape[1]} genre names, received {len(genres)}.")
    t = np.asarray(thresholds, dtype=float)
    p = apply_thresholds(s, t).astype(bool)
    precision, recall, f1_, support = per_genre_prf(y, p)
    auc = roc_auc_per_genre(y, s)
    accuracy = per_genre_accuracy(y, p)
    samples_p, samples_r = samples_precision_recall(y, p)
    defined = auc[~np.isnan(auc)]
    report: dict[str, Any] = {
        "micro_f1": f1(y, p, "micro"),
        "macro_f1": f1(y, p, "macro"),
        "weighted_f1": f1(y, p, "weighted"),
        "samples_f1": f1(y, p, "samples"),
        "samples_precision": samples_p,
        "samples_recall": samples_r,
        "hamming_loss": hamming_loss(y, p),
        "mean_roc_auc": float(defined.mean()) if len(defined) else None,
        "mean_accuracy": float(accuracy.mean()),
        "top1_accuracy": top1_accuracy(y, s),
        "top3_precision": topk_precision(y, s, min(3, y.shape[1])),
    }
    report["per_genre"] = [
        {
            "genre": g,
            "support": int(support[j]),
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1_[j]),
            "roc_auc": None if np.isnan(auc[j]) else float(auc[j]),
            "accuracy": float(accuracy[j]),
            "threshold": float(t[j]) if np.isfinite(t[j]) else None,
            "predicted": (
                "by_threshold" if np.isfinite(t[j]) else "always" if t[j] < 0 else "never"
            ),
        }
        for j, g in enumerate(genres)
    ]
    return report


def json_float(value: float) -> float | str:
    """A float for JSON: infinities become the strings ``"inf"`` / ``"-inf"``."""
    value = float(value)
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
