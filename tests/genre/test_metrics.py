"""genre.evaluation.metrics agrees with scikit-learn and with hand-computed values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as skm

from genre.evaluation import metrics
from recsys.errors import DataError


@st.composite
def label_pairs(draw):
    n = draw(st.integers(1, 30))
    k = draw(st.integers(2, 6))  # one column is "binary" to sklearn
    Y = draw(arrays(np.uint8, (n, k), elements=st.integers(0, 1)))
    P = draw(arrays(np.uint8, (n, k), elements=st.integers(0, 1)))
    return Y, P


@st.composite
def label_scores(draw):
    n = draw(st.integers(2, 30))
    k = draw(st.integers(2, 6))  # one column is "binary" to sklearn
    Y = draw(arrays(np.uint8, (n, k), elements=st.integers(0, 1)))
    # Few distinct values, so ties are common.
    S = draw(arrays(np.float64, (n, k), elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])))
    return Y, S


def _sk(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@settings(max_examples=150, deadline=None)
@given(
    label_pairs(),
    st.sampled_from(["micro", "macro", "weighted", "samples"]),
    st.sampled_from([0.0, 1.0]),
)
def test_f1_matches_sklearn(pair, average, zero_division):
    Y, P = pair
    expected = _sk(skm.f1_score, Y, P, average=average, zero_division=zero_division)
    assert metrics.f1(Y, P, average, zero_division=zero_division) == pytest.approx(expected)


@settings(max_examples=150, deadline=None)
@given(label_pairs(), st.sampled_from([0.0, 1.0]))
def test_samples_precision_recall_match_sklearn(pair, zero_division):
    Y, P = pair
    p, r = metrics.samples_precision_recall(Y, P, zero_division=zero_division)
    assert p == pytest.approx(
        _sk(skm.precision_score, Y, P, average="samples", zero_division=zero_division)
    )
    assert r == pytest.approx(
        _sk(skm.recall_score, Y, P, average="samples", zero_division=zero_division)
    )


@settings(max_examples=100, deadline=None)
@given(label_pairs())
def test_per_genre_prf_and_hamming_match_sklearn(pair):
    Y, P = pair
    precision, recall, f1_, support = metrics.per_genre_prf(Y, P)
    sp, sr, sf, ss = _sk(skm.precision_recall_fscore_support, Y, P, average=None, zero_division=0.0)
    np.testing.assert_allclose(precision, sp)
    np.testing.assert_allclose(recall, sr)
    np.testing.assert_allclose(f1_, sf)
    np.testing.assert_array_equal(support, ss)
    assert metrics.hamming_loss(Y, P) == pytest.approx(skm.hamming_loss(Y, P))
    assert metrics.mean_accuracy(Y, P) == pytest.approx(1 - skm.hamming_loss(Y, P))


@settings(max_examples=150, deadline=None)
@given(label_scores())
def test_roc_auc_matches_sklearn_per_column(pair):
    Y, S = pair
    auc = metrics.roc_auc_per_genre(Y, S)
    for j in range(Y.shape[1]):
        if 0 < Y[:, j].sum() < len(Y):
            assert auc[j] == pytest.approx(skm.roc_auc_score(Y[:, j], S[:, j]))
        else:
            assert np.isnan(auc[j])


def test_top1_and_top3_by_hand():
    Y = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 1]])
    S = np.array(
        [
            [0.9, 0.8, 0.1, 0.2],  # top1 Comedy (true); top3 {0,1,3}: 2 true
            [0.5, 0.4, 0.3, 0.2],  # top1 0 (false); top3 {0,1,2}: 1 true
            [0.5, 0.5, 0.5, 0.1],
        ]
    )  # tie -> column 0 (false); top3 {0,1,2}: 1 true
    assert metrics.top1_accuracy(Y, S) == pytest.approx(1 / 3)
    assert metrics.topk_precision(Y, S, 3) == pytest.approx((2 + 1 + 1) / 9)


def test_topk_precision_matches_sklearn_top_k_definition():
    rng = np.random.default_rng(0)
    Y = (rng.random((50, 6)) < 0.3).astype(int)
    S = rng.random((50, 6))
    top = np.argsort(-S, axis=1)[:, :3]
    expected = np.mean([Y[i, top[i]].sum() / 3 for i in range(50)])
    assert metrics.topk_precision(Y, S, 3) == pytest.approx(expected)
    with pytest.raises(DataError, match="k must be"):
        metrics.topk_precision(Y, S, 7)


def _f1_at(y, s, t):
    return skm.f1_score(y, (s >= t).astype(int), zero_division=0.0)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(label_scores(), st.sampled_from(["f1", "accuracy"]))
def test_thresholds_are_optimal_on_the_data_they_were_chosen_on(pair, criterion):
    """No cut of the scores beats the chosen threshold on its own data."""
    Y, S = pair
    thresholds = metrics.select_thresholds(Y, S, criterion)
    for j in range(Y.shape[1]):
        y, s = Y[:, j], S[:, j]
        score = (
            _f1_at
            if criterion == "f1"
            else lambda y, s, t: skm.accuracy_score(y, (s >= t).astype(int))
        )
        best = score(y, s, thresholds[j])
        for t in np.concatenate([np.unique(s), [np.inf]]):
            assert score(y, s, t) <= best + 1e-12


def test_thresholds_by_hand_and_infinities():
    # Perfectly separable: midway between 0.6 and 0.4.
    t = metrics.select_thresholds([[1], [1], [0], [0]], [[0.9], [0.6], [0.4], [0.1]])
    assert t.tolist() == [0.5]
    # Rare genre, uninformative scores: accuracy says "never", F1 says "always".
    Y, S = [[0], [0], [0], [1]], [[0.2]] * 4
    assert metrics.select_thresholds(Y, S, "accuracy").tolist() == [np.inf]
    assert metrics.select_thresholds(Y, S, "f1").tolist() == [-np.inf]
    # No positives at all: never predicted.
    assert metrics.select_thresholds([[0], [0]], [[0.3], [0.9]], "f1").tolist() == [np.inf]


def test_thresholds_never_split_tied_scores():
    Y = [[1], [0], [1], [0]]
    S = [[0.7], [0.7], [0.2], [0.2]]
    t = metrics.select_thresholds(Y, S, "f1")[0]
    predicted = np.asarray(S)[:, 0] >= t
    # Either both 0.7s are in or both are out; the same for 0.2.
    assert predicted[0] == predicted[1] and predicted[2] == predicted[3]


def test_thresholds_shift_with_the_scores():
    """Adding a constant to validation scores shifts every finite threshold by it."""
    rng = np.random.default_rng(3)
    Y = (rng.random((80, 4)) < 0.3).astype(int)
    S = rng.random((80, 4)) + Y * 0.3
    base = metrics.select_thresholds(Y, S)
    shifted = metrics.select_thresholds(Y, S + 5.0)
    np.testing.assert_allclose(shifted, base + 5.0)


def test_report_keys_and_bad_shapes():
    Y = np.array([[1, 0], [0, 1], [1, 1]])
    S = np.array([[0.8, 0.3], [0.2, 0.6], [0.7, 0.1]])
    report = metrics.multilabel_report(Y, S, [0.5, np.inf], ["Comedy", "Drama"])
    assert set(metrics.METRIC_NAMES) <= set(report)
    assert report["per_genre"][1]["threshold"] is None
    assert report["per_genre"][1]["predicted"] == "never"
    assert report["per_genre"][0]["threshold"] == 0.5
    assert report["per_genre"][0]["predicted"] == "by_threshold"
    always = metrics.multilabel_report(Y, S, [-np.inf, 0.5], ["Comedy", "Drama"])
    assert (always["per_genre"][0]["threshold"], always["per_genre"][0]["predicted"]) == (
        None,
        "always",
    )
    assert report["per_genre"][1]["recall"] == 0.0
    assert report["hamming_loss"] == pytest.approx(2 / 6)
    with pytest.raises(DataError, match="same 2-d shape"):
        metrics.multilabel_report(Y, S[:2], [0.5, 0.5], ["Comedy", "Drama"])
    with pytest.raises(DataError, match="NaN"):
        metrics.roc_auc_per_genre(Y, np.full((3, 2), np.nan))
