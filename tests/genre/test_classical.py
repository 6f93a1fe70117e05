"""GenreTextClassifier: scikit-learn conventions and a conformance suite."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

from genre.text.classifier import GenreTextClassifier
from genre.workflows import load_genre_model
from recsys.errors import DataError, InvalidParameterError, ModelDirError, NotFittedError
from tests.genre.helpers import text_data as _data


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
    with pytest.raises(TypeError):
        GenreTextClassifier("svm")  # type: ignore[misc]  # hyper-parameters are keyword-only


def test_clone_of_a_fitted_classifier_is_unfitted():
    texts, Y = _data()
    clf = GenreTextClassifier(model="logreg", C=3.0, min_df=1).fit(texts, Y)
    copy = clone(clf)
    assert type(copy) is GenreTextClassifier and copy.get_params() == clf.get_params()
    assert not hasattr(copy, "pipeline_") and not hasattr(copy, "thresholds_")
    with pytest.raises(NotFittedError):
        copy.predict(texts)
    assert copy.set_params(C=0.5) is copy and copy.C == 0.5


def test_thresholds_fitted_on_validation_and_used_by_predict():
    texts, Y = _data()
    clf = GenreTextClassifier(model="logreg", min_df=1).fit(
        texts[:60], Y[:60], genres=["SciFi", "Romance", "Horror"]
    )
    assert clf.thresholds_.tolist() == [0.5, 0.5, 0.5] and clf.threshold_by_ is None
    tuned = GenreTextClassifier(model="logreg", min_df=1).fit(
        texts[:60], Y[:60], validation=(texts[60:], Y[60:]), threshold_by="accuracy"
    )
    assert tuned.threshold_by_ == "accuracy" and tuned.thresholds_.tolist() != [0.5] * 3
    scores = tuned.scores(texts[60:])
    np.testing.assert_array_equal(tuned.predict(texts[60:]), scores >= tuned.thresholds_)
    with pytest.raises(InvalidParameterError, match="expected 3 genre names") as error:
        GenreTextClassifier(min_df=1).fit(texts, Y, genres=["SciFi"])
    assert error.value.parameter == "genres"


def test_save_and_load_return_the_classifier(tmp_path):
    texts, Y = _data()
    clf = GenreTextClassifier(model="svm", min_df=1).fit(
        texts[:60], Y[:60], genres=["SciFi", "Romance", "Horror"], validation=(texts[60:], Y[60:])
    )
    out = clf.save(tmp_path / "m", config={"text": "overview"}, metrics={"micro_f1": 0.5})
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "text" and config["format_version"] == 2
    assert config["text"] == "overview" and config["estimator"]["model"] == "svm"
    for loaded in (GenreTextClassifier.load(out), load_genre_model(out)):
        assert isinstance(loaded, GenreTextClassifier)
        assert loaded.get_params() == clf.get_params() and loaded.genres_ == clf.genres_
        assert loaded.thresholds_.tolist() == clf.thresholds_.tolist()
        assert loaded.threshold_by_ == "f1"
        np.testing.assert_array_equal(loaded.predict(texts[60:]), clf.predict(texts[60:]))
    top = clf.top_k(["alien space ship"], k=2)[0]
    assert top[0][0] == "SciFi" and len(top) == 2
    with pytest.raises(InvalidParameterError, match="k=0 must be between 1 and 3"):
        clf.top_k(["x"], k=0)
    assert clf.known_term_counts(["alien space", "zzz qqq"]).tolist() == [2, 0]


def test_a_format_1_text_folder_is_refused_with_the_reason(tmp_path):
    texts, Y = _data()
    out = GenreTextClassifier(min_df=1).fit(texts, Y).save(tmp_path / "m")
    config = json.loads((out / "config.json").read_text())
    del config["kind"]
    config["format_version"] = 1
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match="format version 1"):
        GenreTextClassifier.load(out)


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
