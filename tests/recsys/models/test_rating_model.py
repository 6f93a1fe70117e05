"""The conformance suite every rating model kind passes."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from recsys.data import RandomSplit, make_ratings
from recsys.data.dataset import Dataset
from recsys.errors import DataError, ModelDirError, NotFittedError, UnknownIdError
from recsys.evaluation import rmse
from recsys.models.rating_model import FALLBACK_BOTH, FALLBACK_MOVIE, FALLBACK_USER, RatingModel

from .synthetic import planted_movies, planted_ratings

KINDS = ["dot", "bias", "mlp"]
FAST = {"batch_size": 256, "epochs": 5, "factors": 8, "learning_rate": 0.05}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ratings = planted_ratings()
    split = RandomSplit(0.15).split(Dataset("p", ratings, planted_movies(ratings), "p"), seed=0)
    return split.train, split.test, planted_movies(ratings)


@pytest.fixture(scope="module", params=KINDS)
def fitted(request: pytest.FixtureRequest, data) -> RatingModel:
    train, _test, movies = data
    return RatingModel(
        request.param, batch_size=256, epochs=60, patience=5, learning_rate=0.01, factors=8, seed=1
    ).fit(train, movies=movies)


def test_fit_returns_self_and_learns(fitted: RatingModel, data) -> None:
    train, test, _ = data
    estimator = clone(fitted).set_params(epochs=1)
    assert estimator.fit(train) is estimator
    assert estimator.training_.epochs_run == 1
    assert fitted.network_ is not None and fitted.training_.epochs_run >= 1
    predicted = fitted.predict(test["user_id"], test["movie_id"])
    assert predicted.shape == (len(test),)
    assert predicted.min() >= 1 and predicted.max() <= 5
    global_mean = rmse(test["rating"], np.full(len(test), train["rating"].mean()))
    assert rmse(test["rating"], predicted) < 0.85 * global_mean


def test_scikit_learn_estimator_contract(fitted: RatingModel) -> None:
    params = fitted.get_params()
    assert list(params) == sorted(inspect.signature(RatingModel).parameters)
    assert params["kind"] == fitted.kind and params["factors"] == 8 and params["seed"] == 1
    copy = clone(fitted)
    assert type(copy) is RatingModel and copy is not fitted
    assert copy.get_params() == params
    assert not [name for name in vars(copy) if name.endswith("_")]  # unfitted
    with pytest.raises(NotFittedError):
        copy.predict([1], [1])
    assert copy.set_params(l2=0.3) is copy and copy.l2 == 0.3 and fitted.l2 != 0.3
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        copy.set_params(nope=1)
    assert RatingModel("dot").kind == "dot"  # kind may be positional; nothing else
    with pytest.raises(TypeError):
        RatingModel("dot", 16)  # type: ignore[misc]
    fitted_names = {name for name in vars(fitted) if name.endswith("_") and name[0] != "_"}
    documented = set(re.findall(r"^    (\w+_) :", RatingModel.__doc__ or "", re.MULTILINE))
    assert fitted_names <= documented | {"network_"}, fitted_names - documented


def test_save_load_round_trip(fitted: RatingModel, data, tmp_path: Path) -> None:
    _, test, _ = data
    fitted.save(tmp_path / "model")
    loaded = RatingModel.load(tmp_path / "model")
    np.testing.assert_array_equal(
        loaded.predict(test["user_id"], test["movie_id"]),
        fitted.predict(test["user_id"], test["movie_id"]),
    )
    user = int(test["user_id"].iloc[0])
    pd.testing.assert_frame_equal(loaded.recommend(user, 5), fitted.recommend(user, 5))
    pd.testing.assert_frame_equal(loaded.similar_movies(100, 3), fitted.similar_movies(100, 3))
    assert loaded.describe() == fitted.describe()
    assert loaded.movies_["genres"].tolist() == fitted.movies_["genres"].tolist()


def test_unknown_ids_fall_back_and_say_so(fitted: RatingModel) -> None:
    frame = fitted.predict_frame([1, 999_999, 999_999], [999_999, 100, 999_998])
    assert frame["fallback"].tolist() == [FALLBACK_MOVIE, FALLBACK_USER, FALLBACK_BOTH]
    base = fitted.baseline_
    assert frame["prediction"].iloc[2] == pytest.approx(np.clip(base.mean_, 1, 5), rel=1e-5)
    assert frame["prediction"].iloc[1] == pytest.approx(
        base.mean_ + base.movie_bias_[fitted.movie_vocab_.index([100])[0]], rel=1e-5
    )
    known = fitted.predict_frame([1], [100])
    assert known["fallback"].tolist() == [""]


def test_recommend_for_unknown_user_uses_the_baseline(fitted: RatingModel) -> None:
    recs = fitted.recommend(424242, 5)
    assert (recs["fallback"] == FALLBACK_USER).all()
    best = np.argsort(-fitted.baseline_.movie_bias_, kind="stable")[:5]
    assert recs["movie_id"].tolist() == fitted.movie_vocab_.to_ids(best).tolist()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=st.integers(1, 80), k=st.integers(1, 70), min_ratings=st.integers(0, 40))
def test_recommendations_are_sorted_unseen_and_k_long(
    fitted: RatingModel, user: int, k: int, min_ratings: int
) -> None:
    recs = fitted.recommend(user, k, min_ratings=min_ratings)
    u = fitted.user_vocab_.index([user], missing="negative")[0]
    seen = set(fitted.movie_vocab_.to_ids(fitted.seen_.movies_of(u)).tolist()) if u >= 0 else set()
    assert not seen & set(recs["movie_id"].tolist())
    assert len(recs) <= k and recs["rank"].tolist() == list(range(1, len(recs) + 1))
    raw = fitted.predict_frame([user] * len(recs), recs["movie_id"])["prediction"].to_numpy()
    assert np.all(np.diff(raw) <= 1e-6)  # best first
    counts = np.bincount(fitted.seen_.movies, minlength=len(fitted.movie_vocab_))
    assert all(counts[fitted.movie_vocab_.index(recs["movie_id"])] >= min_ratings)


def test_recommend_leaves_out_every_training_rating_early_stopping_share_included(
    fitted: RatingModel, data, tmp_path: Path
) -> None:
    train = data[0]
    assert fitted.n_validation_ > 0  # some training ratings were held out for stopping
    fitted.save(tmp_path / "m")
    for model in (fitted, RatingModel.load(tmp_path / "m")):
        for user in train["user_id"].unique()[:20]:
            rated = set(train.loc[train["user_id"] == user, "movie_id"].tolist())
            recs = model.recommend(int(user), k=len(model.movie_vocab_))
            assert not rated & set(recs["movie_id"].tolist())


def test_similar_movies(fitted: RatingModel) -> None:
    similar = fitted.similar_movies(100, 5)
    assert 100 not in similar["movie_id"].tolist() and len(similar) == 5
    assert np.all(np.diff(similar["similarity"].to_numpy()) <= 0)
    assert "title" in similar.columns
    with pytest.raises(UnknownIdError, match="movie 5 has no embedding"):
        fitted.similar_movies(5)


def test_learned_tables_are_indexed_by_id(fitted: RatingModel) -> None:
    emb = fitted.movie_embeddings()
    assert emb.shape == (len(fitted.movie_vocab_), 8)
    assert emb.index.tolist() == fitted.movie_vocab_.ids.tolist()
    assert fitted.user_embeddings().shape == (len(fitted.user_vocab_), 8)
    biases = fitted.movie_biases()
    if fitted.kind == "bias":
        assert biases.index.tolist() == emb.index.tolist()
    else:
        assert biases is None


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_result_other_seed_other_result(kind: str, data) -> None:
    train, test, _ = data
    runs = [
        RatingModel(kind, seed=s, **FAST).fit(train).predict(test["user_id"], test["movie_id"])
        for s in (3, 3, 4)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


CHANGES = {
    "dot": {
        "factors": 4,
        "l2": 0.5,
        "learning_rate": 0.02,
        "batch_size": 128,
        "epochs": 2,
        "output": "linear",
        "validation_fraction": 0.2,
    },
    "bias": {
        "factors": 4,
        "l2": 0.5,
        "bias_l2": 1.0,
        "learning_rate": 0.02,
        "batch_size": 128,
        "epochs": 2,
        "output": "sigmoid",
        "validation_fraction": 0.2,
    },
    "mlp": {
        "factors": 4,
        "l2": 0.5,
        "dropout": (0.0, 0.1),
        "hidden": 16,
        "learning_rate": 0.03,
        "batch_size": 128,
        "epochs": 2,
        "output": "sigmoid",
        "validation_fraction": 0.2,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "name"), [(k, n) for k in KINDS for n in CHANGES[k]])
def test_each_hyper_parameter_changes_the_result(kind: str, name: str, data) -> None:
    train, test, _ = data
    base = {**FAST, "l2": 0.05, "seed": 0}
    reference = RatingModel(kind, **base).fit(train).predict(test["user_id"], test["movie_id"])
    changed = RatingModel(kind, **{**base, name: CHANGES[kind][name]}).fit(train)
    assert not np.allclose(changed.predict(test["user_id"], test["movie_id"]), reference)


def test_patience_changes_when_training_stops(data) -> None:
    train, _, _ = data
    runs = [
        RatingModel(
            "bias", batch_size=256, factors=8, epochs=40, patience=p, learning_rate=0.05
        ).fit(train)
        for p in (1, 6)
    ]
    assert runs[0].training_.epochs_run < runs[1].training_.epochs_run


def test_early_stopping_keeps_the_best_epoch(fitted: RatingModel) -> None:
    history = fitted.training_.history
    best = min(h.val_rmse for h in history)
    assert history[fitted.training_.best_epoch - 1].val_rmse == best


@pytest.mark.parametrize("kind", [pytest.param("dot", marks=pytest.mark.slow), "bias"])
def test_members_score_as_the_mean_of_their_networks(kind: str, data, tmp_path: Path) -> None:
    """``members=2`` is one network whose raw score is the mean of the two networks
    trained alone with seeds 1 and 2 (the dot model's sigmoid: the mean of the scores
    before it), and it saves and loads as any model."""
    train, _test, _movies = data
    same = {**FAST, "epochs": 2, "validation_fraction": 0, "fallback": "never"}
    alone = [RatingModel(kind, seed=s, **same).fit(train) for s in (1, 2)]
    merged = RatingModel(kind, seed=1, members=2, **same).fit(train)
    assert merged.spec_.factors == 2 * FAST["factors"] and len(merged.members_training_) == 2
    users = np.arange(len(merged.user_vocab_)).repeat(3)
    movies = np.arange(len(users)) % len(merged.movie_vocab_)

    def raw(model: RatingModel) -> np.ndarray:
        score = model._tables().score(users, movies).astype(np.float64)
        if kind == "bias":
            return score
        low, high = model.spec_.rating_range
        share = (score - low) / (high - low)
        return np.log(share / (1 - share))  # the score before the sigmoid

    np.testing.assert_allclose(raw(merged), np.mean([raw(m) for m in alone], axis=0), atol=1e-4)
    assert np.abs(raw(merged) - raw(alone[0])).max() > 1e-3  # not just the first member
    merged.save(tmp_path / "m")
    loaded = RatingModel.load(tmp_path / "m")
    assert loaded.members == 2
    np.testing.assert_allclose(
        loaded.predict(train["user_id"][:50], train["movie_id"][:50]),
        merged.predict(train["user_id"][:50], train["movie_id"][:50]),
        atol=1e-5,
    )


@pytest.mark.slow  # three fits with side features; CI runs it
def test_members_with_side_features_score_as_the_mean(data) -> None:
    """With side features the side projections merge too: the mean of the members'
    scores, for warm movies and for a movie known only by its features."""
    from recsys.features import FeatureBlock

    train, _test, _movies = data
    movie_ids = np.unique(train["movie_id"].to_numpy())
    cold = int(movie_ids.max()) + 1
    ids = np.append(movie_ids, cold)
    block = FeatureBlock.from_arrays(
        "f", ids, np.random.default_rng(0).normal(size=(len(ids), 3)), columns=["a", "b", "c"]
    )
    same = {**FAST, "epochs": 3, "validation_fraction": 0, "fallback": "never"}
    alone = [RatingModel("bias", seed=s, **same).fit(train, side_features=[block]) for s in (4, 5)]
    merged = RatingModel("bias", seed=4, members=2, **same).fit(train, side_features=[block])
    users = np.repeat(train["user_id"].unique()[:20], 3)
    movies = np.resize(np.append(movie_ids[:10], cold), len(users))
    mean = np.mean([m.predict(users, movies) for m in alone], axis=0)
    np.testing.assert_allclose(merged.predict(users, movies), mean, atol=1e-4)


def test_members_are_refused_where_they_cannot_merge(tmp_path: Path) -> None:
    from recsys.models.options import TrainingOptions

    with pytest.raises(DataError, match="not linear in its embeddings"):
        RatingModel("mlp", members=2).fit(planted_ratings())
    with pytest.raises(DataError, match="invalid members=0"):
        RatingModel(members=0).fit(planted_ratings())
    from recsys.models.ensemble import merge_weights

    with pytest.raises(ValueError, match="no rule to merge the weights of layer 'hidden'"):
        merge_weights("hidden", [np.ones((2, 2)), np.ones((2, 2))])
    with pytest.raises(DataError, match="without checkpoint_dir"):
        RatingModel(members=2).fit(
            planted_ratings(), options=TrainingOptions(checkpoint_dir=tmp_path / "ck")
        )


def test_bad_input() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        RatingModel().predict([1], [1])
    with pytest.raises(DataError, match="zero ratings"):
        RatingModel().fit(make_ratings([], [], []))
    with pytest.raises(DataError, match="unknown model kind"):
        RatingModel("svd").fit(planted_ratings())
    with pytest.raises(DataError, match="invalid factors"):
        RatingModel(factors=0).fit(planted_ratings())
    with pytest.raises(DataError, match="outside the rating scale"):
        RatingModel().fit(planted_ratings(), rating_scale=(1, 4))
    with pytest.raises(DataError, match="at least two distinct"):
        RatingModel().fit(make_ratings([1, 2], [1, 1], [3.0, 3.0]))


def test_load_rejects_foreign_and_damaged_directories(fitted: RatingModel, tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match="no model directory"):
        RatingModel.load(tmp_path / "nothing")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "weights.h5").write_text("x")
    with pytest.raises(ModelDirError, match="is not a recsys model directory"):
        RatingModel.load(tmp_path / "foreign")
    fitted.save(tmp_path / "m")
    (tmp_path / "m" / "weights.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelDirError, match=r"weights\.npz' is damaged"):
        RatingModel.load(tmp_path / "m")
    # a damaged model.keras: queries still answer from weights.npz, and the Keras network
    # is refused when asked for; without weights.npz (the older layout) at load
    fitted.save(tmp_path / "m1")
    (tmp_path / "m1" / "model.keras").write_bytes(b"not a zip")
    loaded = RatingModel.load(tmp_path / "m1")
    np.testing.assert_array_equal(loaded.predict([1, 2], [1, 2]), fitted.predict([1, 2], [1, 2]))
    with pytest.raises(ModelDirError, match=r"model\.keras' is damaged"):
        _ = loaded.network_
    (tmp_path / "m1" / "weights.npz").unlink()
    with pytest.raises(ModelDirError, match="damaged"):
        RatingModel.load(tmp_path / "m1")
    fitted.save(tmp_path / "m2")
    (tmp_path / "m2" / "recsys_model.json").write_text('{"format": "other/9"}')
    with pytest.raises(ModelDirError, match="expected 'recsys-rating-model/1'"):
        RatingModel.load(tmp_path / "m2")
    # a Keras model of another shape in place of the network: refused, not half-working
    fitted.save(tmp_path / "m3")
    user = keras.Input(shape=(), dtype="int32", name="user")
    movie = keras.Input(shape=(), dtype="int32", name="movie")
    total = keras.layers.Add()([keras.ops.cast(user, "float32"), keras.ops.cast(movie, "float32")])
    keras.Model({"user": user, "movie": movie}, total).save(tmp_path / "m3" / "model.keras")
    loaded = RatingModel.load(tmp_path / "m3")
    with pytest.raises(ModelDirError, match=r"does not hold the .* network its recsys_model"):
        _ = loaded.network_
    (tmp_path / "m3" / "weights.npz").unlink()
    with pytest.raises(ModelDirError, match=r"does not hold the .* network its recsys_model"):
        RatingModel.load(tmp_path / "m3")
    # tables of another shape in weights.npz (one user row short): refused at load
    fitted.save(tmp_path / "m4")
    with np.load(tmp_path / "m4" / "weights.npz") as saved:
        arrays = {name: saved[name] for name in saved.files}
    for name in ("user_factors", "user_bias"):
        if name in arrays:
            arrays[name] = arrays[name][:-1]
    np.savez(tmp_path / "m4" / "weights.npz", **arrays)
    with pytest.raises(
        ModelDirError,
        match=r"weights\.npz' does not hold the .* network its "
        r"recsys_model.json describes \(table 'user_factors'",
    ):
        RatingModel.load(tmp_path / "m4")


def test_model_folder_says_its_kind(fitted: RatingModel, data, tmp_path: Path) -> None:
    _, test, _ = data
    assert fitted.save(tmp_path / "m") == tmp_path / "m"  # save returns the folder
    meta_file = tmp_path / "m" / "recsys_model.json"
    meta = json.loads(meta_file.read_text())
    assert meta["kind"] == "rating-model" and meta["params"]["kind"] == fitted.kind
    # a folder written before the field existed still loads
    meta_file.write_text(json.dumps({k: v for k, v in meta.items() if k != "kind"}))
    loaded = RatingModel.load(tmp_path / "m")
    np.testing.assert_array_equal(
        loaded.predict(test["user_id"], test["movie_id"]),
        fitted.predict(test["user_id"], test["movie_id"]),
    )
    meta_file.write_text(json.dumps({**meta, "kind": "genre-text"}))
    with pytest.raises(ModelDirError, match="holds a 'genre-text' model"):
        RatingModel.load(tmp_path / "m")


def test_saving_over_an_existing_model_is_atomic(
    fitted: RatingModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model"
    fitted.save(target)
    before = sorted(p.name for p in target.iterdir())
    import recsys.models.model_dir as model_dir

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(model_dir, "_write_arrays", broken)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(target)
    assert sorted(p.name for p in target.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary leftovers
    RatingModel.load(target)
