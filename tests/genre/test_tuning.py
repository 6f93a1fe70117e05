"""Hyper-parameters and thresholds come from validation data; the benchmarks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genre.evaluation import metrics
from genre.evaluation.evaluate import benchmark_reports, prior_scores, score_on_test
from genre.text.tuning import default_grid, tune
from recsys.errors import DataError
from tests.genre.helpers import text_data as _data


def test_thresholds_and_choice_come_from_validation_only():
    texts, Y = _data(150, seed=1)
    tr, va = slice(0, 90), slice(90, 120)
    grid = {"C": [0.01, 1.0], "min_df": [1]}
    tuned = tune(texts[tr], Y[tr], texts[va], Y[va], model="logreg", grid=grid)
    # The thresholds are exactly those that are best on the validation scores.
    np.testing.assert_allclose(
        tuned.thresholds, metrics.select_thresholds(Y[va], tuned.estimator.scores(texts[va]), "f1")
    )
    np.testing.assert_allclose(tuned.val_scores, tuned.estimator.scores(texts[va]))
    # The chosen point has the best validation ROC-AUC of the search.
    best = max(tuned.search, key=lambda r: r["mean_roc_auc"])
    assert tuned.params == {k: best[k] for k in grid}
    # Changing only the validation labels can change the thresholds; the fitted model
    # (training data only) stays the same.
    flipped = 1 - Y[va]
    other = tune(
        texts[tr],
        Y[tr],
        texts[va],
        flipped,
        model="logreg",
        grid={"C": [tuned.params["C"]], "min_df": [1]},
    )
    np.testing.assert_allclose(other.estimator.scores(texts[va]), tuned.val_scores)
    assert not np.allclose(other.thresholds, tuned.thresholds)


def test_select_by_and_errors():
    texts, Y = _data(120, seed=2)
    with pytest.raises(DataError, match="unknown select_by"):
        tune(texts[:80], Y[:80], texts[80:], Y[80:], model="nb", select_by="accuracy")
    with pytest.raises(DataError, match="validation part is empty"):
        tune(texts, Y, [], Y[:0], model="nb")
    with pytest.raises(DataError, match="unknown model"):
        default_grid("forest")
    tuned = tune(
        texts[:80],
        Y[:80],
        texts[80:],
        Y[80:],
        model="nb",
        grid={"alpha": [0.01, 1.0], "min_df": [1]},
        select_by="macro_f1",
    )
    assert tuned.params["alpha"] == max(tuned.search, key=lambda r: r["macro_f1"])["alpha"]


def test_benchmarks():
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 4)) < [0.1, 0.2, 0.3, 0.6]).astype(int)
    genres = ["a", "b", "c", "d"]
    reports = benchmark_reports(Y[:200], Y[200:250], Y[250:], genres, "accuracy")
    prior, negative = reports["prior"], reports["all_negative"]
    assert prior["mean_roc_auc"] == 0.5
    assert negative["micro_f1"] == 0.0
    assert negative["hamming_loss"] == pytest.approx(Y[250:].mean())
    # All-negative ranks nothing: no ranking metric, rather than the prior's.
    assert negative["mean_roc_auc"] is negative["top1_accuracy"] is None
    assert negative["top3_precision"] is None and "undefined" in negative["note"]
    assert {r["roc_auc"] for r in negative["per_genre"]} == {None}
    assert {(r["threshold"], r["predicted"]) for r in negative["per_genre"]} == {(None, "never")}
    # By accuracy the prior benchmark predicts only the genre on most movies.
    assert [(r["threshold"], r["predicted"]) for r in prior["per_genre"]] == [
        (None, "never")
    ] * 3 + [(None, "always")]
    json.loads(json.dumps(reports, allow_nan=False))  # strict JSON: no inf, no NaN
    # Its top-1 is the most frequent training genre.
    assert prior["top1_accuracy"] == pytest.approx(Y[250:, 3].mean())
    assert prior_scores(Y[:200], 2).shape == (2, 4)


def test_score_on_test_payload():
    rng = np.random.default_rng(1)
    Y = (rng.random((60, 3)) < 0.4).astype(int)
    S = Y * 0.5 + rng.random((60, 3)) * 0.6
    report = score_on_test(
        Y[40:], S[40:], [0.5, 0.5, 0.5], ["x", "y", "z"], Y_train=Y[:30], Y_val=Y[30:40]
    )
    assert set(metrics.METRIC_NAMES) <= set(report)
    assert (report["n_train"], report["n_val"], report["n_test"]) == (30, 10, 20)
    assert report["genres"] == ["x", "y", "z"]
    assert len(report["per_genre"]) == 3
    assert report["micro_f1"] > report["benchmarks"]["prior"]["micro_f1"]
