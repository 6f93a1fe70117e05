"""RatingModel with movie side features: cold-start accuracy, conformance, fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import MovieSplit, TrainTestSplit
from recsys.data.dataset import Dataset
from recsys.errors import DataError, UnknownIdError
from recsys.evaluation import evaluate_model, rmse
from recsys.features import FeatureBlock
from recsys.models.networks import build_network
from recsys.models.options import TrainingOptions
from recsys.models.rating_model import (
    FALLBACK_COLD,
    FALLBACK_MOVIE,
    FALLBACK_USER,
    RatingModel,
)

from .synthetic import PlantedSide, planted_side

KINDS = ["dot", "bias", "mlp"]
FAST = {
    "factors": 8,
    "batch_size": 256,
    "learning_rate": 0.02,
    "epochs": 40,
    "patience": 4,
    "validation_fraction": 0.1,
    "validation_split": "movies",
}
UNKNOWN = 999_999  # neither rated nor in any feature block


def mirrored_options() -> TrainingOptions:
    """Options training under a one-device ``MirroredStrategy``."""
    import tensorflow as tf

    return TrainingOptions(distribute="mirrored", strategy=tf.distribute.MirroredStrategy())


@pytest.fixture(scope="module")
def planted() -> PlantedSide:
    return planted_side()


@pytest.fixture(scope="module")
def split(planted: PlantedSide) -> TrainTestSplit:
    data = Dataset("planted", planted.ratings, planted.movies, "planted")
    return MovieSplit(0.2).split(data, seed=0)


@pytest.fixture(scope="module", params=KINDS)
def fitted(
    request: pytest.FixtureRequest, planted: PlantedSide, split: TrainTestSplit
) -> RatingModel:
    return RatingModel(request.param, seed=0, **FAST).fit(
        split.train, movies=planted.movies, side_features=[planted.features, planted.genres]
    )


def cold_ids(split: TrainTestSplit) -> np.ndarray:
    return np.setdiff1d(split.test["movie_id"].unique(), split.train["movie_id"].unique())


def test_held_out_movies_beat_the_genre_mean(
    fitted: RatingModel, planted: PlantedSide, split: TrainTestSplit
) -> None:
    report = evaluate_model(fitted, split.train, split.test, movies=planted.movies)
    cold = report["cold_start"]
    assert cold["n_test"] == len(split.test)  # split by movies: every test movie is cold
    assert cold["n_movies"] == len(cold_ids(split))
    assert report["test_fallbacks"] == {FALLBACK_COLD: len(split.test)}
    base = cold["baselines"]
    # the planted features fix each movie's factors: a personal prediction for a movie
    # never rated beats the genre mean (which sees only part of the movie bias) and the
    # user baseline (which sees no movie at all), by a margin
    assert cold["rmse"] < 0.8 * base["genre_mean"]["rmse"]
    assert cold["rmse"] < 0.8 * base["bias_only"]["rmse"]
    assert base["genre_mean"]["rmse"] < base["global_mean"]["rmse"]


def test_without_side_features_cold_movies_get_the_user_baseline(
    planted: PlantedSide, split: TrainTestSplit
) -> None:
    plain = RatingModel("bias", seed=0, **{**FAST, "validation_split": "ratings"}).fit(split.train)
    frame = plain.predict_frame(split.test["user_id"], split.test["movie_id"])
    assert set(frame["fallback"]) == {FALLBACK_MOVIE}


def test_cold_id_rows_are_never_trained(fitted: RatingModel) -> None:
    fresh = build_network(fitted.spec_)  # same spec and seed: the initial weights
    cold = ~fitted.movie_warm_
    assert cold.sum() > 0 and fitted.movie_warm_.sum() > 0
    for layer in ("movie_embedding", "movie_bias"):
        if fitted.kind != "bias" and layer == "movie_bias":
            continue
        trained = np.asarray(fitted.network_.get_layer(layer).embeddings)
        initial = np.asarray(fresh.get_layer(layer).embeddings)
        np.testing.assert_array_equal(trained[cold], initial[cold])  # no update, no decay
        assert not np.allclose(trained[~cold], initial[~cold])  # the others did learn


def test_cold_predictions_come_from_the_features(
    fitted: RatingModel, split: TrainTestSplit
) -> None:
    cold = cold_ids(split)[:5]
    users = np.full(len(cold), int(split.train["user_id"].iloc[0]))
    before = fitted.predict(users, cold)
    layer = fitted.network_.get_layer("movie_embedding")
    saved = np.asarray(layer.embeddings).copy()
    scrambled = saved.copy()
    scrambled[fitted.movie_vocab_.index(cold)] = 5.0
    layer.embeddings.assign(scrambled)
    try:
        np.testing.assert_array_equal(fitted.predict(users, cold), before)
    finally:
        layer.embeddings.assign(saved)
    # personal: different users get different predictions for the same cold movie
    many = fitted.predict(np.arange(1, 21), np.full(20, cold[0]))
    assert np.ptp(many) > 0.1


def test_fallbacks_say_what_scored_the_pair(fitted: RatingModel, split: TrainTestSplit) -> None:
    warm = int(split.train["movie_id"].iloc[0])
    cold = int(cold_ids(split)[0])
    frame = fitted.predict_frame([1, 1, 1, 424242], [warm, cold, UNKNOWN, cold])
    assert frame["fallback"].tolist() == ["", FALLBACK_COLD, FALLBACK_MOVIE, FALLBACK_USER]
    base = fitted.baseline_
    assert frame["prediction"].iloc[2] == pytest.approx(
        np.clip(base.mean_ + base.user_bias_[fitted.user_vocab_.index([1])[0]], 1, 5), rel=1e-5
    )
    assert frame["prediction"].iloc[3] == pytest.approx(np.clip(base.mean_, 1, 5), rel=1e-5)


def test_save_load_round_trip(fitted: RatingModel, split: TrainTestSplit, tmp_path: Path) -> None:
    fitted.save(tmp_path / "model")
    loaded = RatingModel.load(tmp_path / "model")
    test = split.test
    pd.testing.assert_frame_equal(
        loaded.predict_frame(test["user_id"], test["movie_id"]),
        fitted.predict_frame(test["user_id"], test["movie_id"]),
    )
    assert loaded.describe() == fitted.describe()
    assert loaded.side_features_.to_json() == fitted.side_features_.to_json()
    np.testing.assert_array_equal(loaded.side_features_.means, fitted.side_features_.means)
    np.testing.assert_array_equal(loaded.movie_warm_, fitted.movie_warm_)
    meta = json.loads((tmp_path / "model" / "recsys_model.json").read_text())
    assert [b["name"] for b in meta["side_features"]["blocks"]] == ["traits", "genres"]
    assert meta["side_features"]["blocks"][0]["provenance"] == {"planted": True}
    cold = int(cold_ids(split)[0])
    pd.testing.assert_frame_equal(loaded.similar_movies(cold, 3), fitted.similar_movies(cold, 3))
    pd.testing.assert_frame_equal(loaded.recommend(1, 5), fitted.recommend(1, 5))


def test_recommend_and_similar_reach_cold_movies(
    fitted: RatingModel, split: TrainTestSplit
) -> None:
    cold = set(cold_ids(split).tolist())
    recs = fitted.recommend(1, len(fitted.movie_vocab_))
    assert cold <= set(recs["movie_id"].tolist())
    warm_only = fitted.recommend(1, len(fitted.movie_vocab_), min_ratings=1)
    assert not cold & set(warm_only["movie_id"].tolist())
    similar = fitted.similar_movies(min(cold), 5)
    assert len(similar) == 5 and np.all(np.diff(similar["similarity"].to_numpy()) <= 0)
    with pytest.raises(UnknownIdError, match="not in the training data or side features"):
        fitted.similar_movies(UNKNOWN)
    factors = fitted.movie_factors()
    assert factors.shape == (len(fitted.movie_vocab_), 8)
    assert np.isfinite(factors).all()


def test_movie_factors_are_what_the_network_uses(fitted: RatingModel) -> None:
    if fitted.kind == "mlp":
        pytest.skip("the mlp does not score with a dot product")
    users = np.asarray(fitted.network_.get_layer("user_embedding").embeddings)
    movies = fitted.movie_factors()
    u, m = np.array([0, 1, 2, 3]), np.array([0, 1, len(movies) - 2, len(movies) - 1])
    expected = np.sum(users[u] * movies[m], axis=1)
    if fitted.kind == "bias":
        user_bias = np.asarray(fitted.network_.get_layer("user_bias").embeddings)[:, 0]
        offset = float(fitted.network_.get_layer("global_mean").offset)
        expected = expected + user_bias[u] + fitted.movie_biases().to_numpy()[m] + offset
    if fitted.spec_.output == "sigmoid":  # the dot model's default output
        low, high = fitted.spec_.rating_range
        expected = 1 / (1 + np.exp(-expected)) * (high - low) + low
    from recsys.models.training import predict_network

    np.testing.assert_allclose(
        predict_network(fitted.network_, u, m), expected, rtol=1e-4, atol=1e-5
    )


def test_validation_is_carved_by_movies(fitted: RatingModel, split: TrainTestSplit) -> None:
    train_movies = split.train["movie_id"].unique()
    warm = set(fitted.movie_vocab_.ids[fitted.movie_warm_].tolist())
    held = [m for m in train_movies if m not in warm]  # validation movies: cold for the fit
    assert len(held) == round(0.1 * len(train_movies))
    assert fitted.n_validation_ == int(split.train["movie_id"].isin(held).sum())
    assert fitted.n_train_ + fitted.n_validation_ == len(split.train)
    assert not set(split.test["movie_id"]) & warm


@pytest.mark.slow
def test_same_seed_same_result_other_seed_other_result(
    planted: PlantedSide, split: TrainTestSplit
) -> None:
    fast = {**FAST, "epochs": 3}
    runs = [
        RatingModel("bias", seed=s, **fast)
        .fit(split.train, side_features=[planted.genres])
        .predict(split.test["user_id"], split.test["movie_id"])
        for s in (3, 3, 4)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize(
    ("name", "value"), [("side_l2", 1.0), ("id_dropout", 0.0), ("validation_split", "ratings")]
)
@pytest.mark.slow
def test_side_hyper_parameters_change_the_result(
    name: str, value: object, planted: PlantedSide, split: TrainTestSplit
) -> None:
    base = {**FAST, "epochs": 3, "seed": 0}
    blocks = [planted.features]
    test = split.test
    reference = (
        RatingModel("bias", **base)
        .fit(split.train, side_features=blocks)
        .predict(test["user_id"], test["movie_id"])
    )
    changed = RatingModel("bias", **{**base, name: value}).fit(split.train, side_features=blocks)
    assert not np.allclose(changed.predict(test["user_id"], test["movie_id"]), reference)


def test_plain_models_are_unchanged(split: TrainTestSplit, tmp_path: Path) -> None:
    plain = RatingModel("dot", **{**FAST, "epochs": 2, "validation_split": "ratings"}).fit(
        split.train
    )
    assert plain.side_features_ is None and plain.movie_warm_.all()
    assert "side_features" not in plain.describe()
    assert [layer.name for layer in plain.network_.layers if "side" in layer.name] == []
    plain.save(tmp_path / "m")
    assert "side_features" not in json.loads((tmp_path / "m" / "recsys_model.json").read_text())
    with np.load(tmp_path / "m" / "arrays.npz") as arrays:
        assert "movie_warm" not in arrays.files
    assert RatingModel.load(tmp_path / "m").movie_warm_.all()


def test_bad_side_inputs(planted: PlantedSide, split: TrainTestSplit) -> None:
    with pytest.raises(DataError, match="needs side features"):
        RatingModel("bias", validation_split="movies").fit(split.train)
    with pytest.raises(DataError, match="invalid validation_split"):
        RatingModel("bias", validation_split="users").fit(split.train)
    with pytest.raises(DataError, match="invalid id_dropout"):
        RatingModel("bias", id_dropout=1.0).fit(split.train, side_features=[planted.genres])
    with pytest.raises(DataError, match="invalid side_l2"):
        RatingModel("bias", side_l2=-1).fit(split.train, side_features=[planted.genres])
    elsewhere = FeatureBlock.from_arrays("genres", [1, 2], [[1.0], [0.0]])
    with pytest.raises(DataError, match="covers none of the"):
        RatingModel("bias").fit(split.train, side_features=[elsewhere])


@pytest.mark.slow
def test_blocks_learned_from_ratings_are_refused(
    planted: PlantedSide, split: TrainTestSplit
) -> None:
    """The leak: embeddings of a model that saw every rating (the test part too)."""
    from recsys.features.blocks import embedding_block, pca_block

    seen_all = RatingModel("bias", factors=4, epochs=1, validation_fraction=0.0).fit(
        planted.ratings
    )
    embedding, pca = embedding_block(seen_all), pca_block(seen_all, 2)
    renamed = FeatureBlock.from_arrays(
        "mine", embedding.movie_ids, embedding.values, provenance=embedding.provenance
    )
    for block in (embedding, pca, renamed):
        model = RatingModel("bias", **FAST)
        with pytest.raises(
            DataError,
            match=f"block '{block.name}' was learned from ratings, "
            "which can include this split's test ratings",
        ):
            model.fit(split.train, side_features=[planted.genres, block])
        assert not hasattr(model, "network_")


def test_movies_without_features_stay_known_when_rated(
    planted: PlantedSide, split: TrainTestSplit
) -> None:
    """A block covering only some movies: rated movies without it keep their embedding."""
    train_ids = split.train["movie_id"].unique()
    half = FeatureBlock.from_arrays(
        "traits",
        planted.features.movie_ids,
        planted.features.values,
        mask=np.isin(planted.features.movie_ids, train_ids[::2]),
    )
    model = RatingModel("bias", **{**FAST, "epochs": 2, "validation_split": "ratings"}).fit(
        split.train, side_features=[half]
    )
    frame = model.predict_frame(np.ones(len(train_ids), dtype=int), train_ids)
    assert (frame["fallback"] == "").all()
    # test movies have no feature in this block: unknown to the model, baseline as before
    test_frame = model.predict_frame(split.test["user_id"], split.test["movie_id"])
    assert set(test_frame["fallback"]) == {FALLBACK_MOVIE}


def test_genre_mean_and_cold_start_section_of_a_random_split(
    planted: PlantedSide, split: TrainTestSplit
) -> None:
    """Side features on a random split: only the test ratings of unrated movies are cold."""
    ratings = planted.ratings
    rng = np.random.default_rng(0)
    test_mask = rng.random(len(ratings)) < 0.1
    test_mask |= ratings["movie_id"].to_numpy() == 100  # movie 100 only in the test part
    train, test = ratings[~test_mask], ratings[test_mask]
    model = RatingModel("bias", **{**FAST, "epochs": 3}).fit(train, side_features=[planted.genres])
    report = evaluate_model(model, train, test, movies=planted.movies)
    cold = test["movie_id"].to_numpy() == 100
    section = report["cold_start"]
    assert section["n_test"] == int(cold.sum()) and section["n_movies"] == 1
    predicted = model.predict(test["user_id"], test["movie_id"], test["timestamp"])
    assert section["rmse"] == pytest.approx(rmse(test["rating"].to_numpy()[cold], predicted[cold]))
    assert "genre_mean" in report["baselines"] and "genre_mean" in section["baselines"]
    assert "cold_start" not in evaluate_model(model, train, test)


def test_a_too_large_side_table_is_refused(
    planted: PlantedSide, split: TrainTestSplit, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.models.rating_model as rating_model

    monkeypatch.setattr(rating_model, "MAX_SIDE_TABLE_BYTES", 1000)
    expected = r"0.0 MiB \(120 movies x 11 columns: traits 6-d, genres 3-d\)"
    with pytest.raises(DataError, match=expected):
        RatingModel("bias").fit(split.train, side_features=[planted.features, planted.genres])


@pytest.mark.slow
def test_side_features_under_a_strategy_and_mixed_precision(
    planted: PlantedSide, split: TrainTestSplit, tmp_path: Path
) -> None:
    blocks = [planted.features]
    params = {**FAST, "epochs": 6, "seed": 0}
    test = split.test
    plain = RatingModel("bias", **params).fit(split.train, side_features=blocks)
    mirrored = RatingModel("bias", **params).fit(
        split.train, side_features=blocks, options=mirrored_options()
    )
    expected = plain.predict(test["user_id"], test["movie_id"])
    np.testing.assert_allclose(
        mirrored.predict(test["user_id"], test["movie_id"]), expected, atol=1e-4
    )
    mixed = RatingModel("bias", **params).fit(
        split.train, side_features=blocks, options=TrainingOptions(precision="mixed_bfloat16")
    )
    cold = mixed.predict_frame(test["user_id"], test["movie_id"])
    assert set(cold["fallback"]) == {FALLBACK_COLD}
    assert rmse(test["rating"], cold["prediction"]) < 1.1 * rmse(test["rating"], expected)
    mixed.save(tmp_path / "m")
    np.testing.assert_array_equal(
        RatingModel.load(tmp_path / "m").predict(test["user_id"], test["movie_id"]),
        cold["prediction"].to_numpy(np.float32),
    )
