"""GenreTextClassifier: scikit-learn conventions and a conformance suite."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from genre.text.classifier import GenreTextClassifier
from recsys.errors import DataError, NotFittedError

WORDS = {0: "alien space robot ship", 1: "love wedding heart kiss", 2: "ghost blood terror night"}


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 3)) < 0.4).astype(int)
    Y[Y.sum(axis=1) == 0, 0] = 1
    texts = []
    for row in Y:
        words = [w for j in np.flatnonzero(row) for w in WORDS[j].split() if rng.random() < 0.6]
        words += list(rng.choice("the a city man woman story finds".split(), size=4))
        texts.append(" ".join(words))
    return texts, Y


@pytest.mark.parametrize("model", ["nb", "svm", "logreg"])
def test_fit_returns_self_learns_and_scores_have_the_right_shape(model):
    texts, Y = _data()
    clf = GenreTextClassifier(model=model, min_df=1, max_df=1.0)
    assert clf.fit(texts[:60], Y[:60]) is clf
    scores = clf.scores(texts[60:])
    assert scores.shape == (30, 3)
    assert clf.score_kind_ == ("decision" if model == "svm" else "probability")
    if model != "svm":
        assert scores.min() >= 0 and scores.max() <= 1
    # It learned: positives score higher than negatives for every genre.
    for j in range(3):
        assert scores[Y[60:, j] == 1, j].mean() > scores[Y[60:, j] == 0, j].mean()
    assert clf.predict(texts[60:]).shape == (30, 3)


def test_predict_proba_only_where_probabilities_exist():
    texts, Y = _data()
    assert hasattr(GenreTextClassifier(model="logreg").fit(texts, Y), "predict_proba")
    assert not hasattr(GenreTextClassifier(model="svm", min_df=1).fit(texts, Y), "predict_proba")


def test_params_clone_and_not_fitted():
    clf = GenreTextClassifier(model="svm", C=0.3, min_df=1)
    assert clone(clf).get_params() == clf.get_params()
    assert clf.get_params()["C"] == 0.3
    with pytest.raises(NotFittedError):
        clf.scores(["text"])


def test_same_seed_same_result():
    texts, Y = _data()
    a = GenreTextClassifier(model="svm", random_state=3).fit(texts, Y).scores(texts)
    b = GenreTextClassifier(model="svm", random_state=3).fit(texts, Y).scores(texts)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("model", "param", "a", "b"),
    [
        ("logreg", "C", 0.1, 10.0),
        ("svm", "C", 0.01, 1.0),
        ("nb", "alpha", 0.01, 1.0),
        ("logreg", "min_df", 1, 30),
        ("logreg", "ngram_max", 1, 2),
        ("logreg", "max_df", 1.0, 0.3),
        ("logreg", "features", "tfidf", "bow"),
        ("logreg", "class_weight", None, "balanced"),
        ("nb", "class_weight", None, "balanced"),
    ],
)
def test_each_hyper_parameter_changes_the_scores(model, param, a, b):
    texts, Y = _data()
    base = {"model": model, "min_df": 1, "max_df": 1.0}
    first = GenreTextClassifier(**{**base, param: a}).fit(texts, Y).scores(texts)
    second = GenreTextClassifier(**{**base, param: b}).fit(texts, Y).scores(texts)
    assert not np.allclose(first, second)


def test_bad_inputs():
    texts, Y = _data()
    with pytest.raises(DataError, match="every training text is empty"):
        GenreTextClassifier().fit([""] * 5, Y[:5])
    with pytest.raises(DataError, match="shape"):
        GenreTextClassifier().fit(texts, Y[:5])
    with pytest.raises(DataError, match="vocabulary is empty"):
        GenreTextClassifier(min_df=1000).fit(texts, Y)
    with pytest.raises(DataError, match="unknown model"):
        GenreTextClassifier(model="forest").fit(texts, Y)
    with pytest.raises(DataError, match="single string"):
        GenreTextClassifier(min_df=1).fit(texts, Y).scores("one text")


@pytest.mark.parametrize("model", ["nb", "svm", "logreg"])
def test_fit_refuses_one_genre_or_a_genre_on_every_movie(model, recwarn):
    texts, Y = _data()
    clf = GenreTextClassifier(model=model, min_df=1, max_df=1.0)
    with pytest.raises(DataError, match="at least 2 genres, received 1"):
        clf.fit(texts, Y[:, :1])
    constant = Y.copy()
    constant[:, 1] = 1
    with pytest.raises(DataError, match="genre 'column 1' is on every one of the 90 training"):
        clf.fit(texts, constant)
    assert not [w for w in recwarn if "sklearn" in str(w.filename)]
