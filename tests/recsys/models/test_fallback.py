"""A network worse than the bias-only baseline on validation predicts with the baseline
(``fallback="auto"``, flagged and saved), and never silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.errors import InvalidParameterError
from recsys.models.model_dir import load_scorer
from recsys.models.rating_model import RatingModel


def _biases_only(seed: int = 0, n: int = 6000) -> pd.DataFrame:
    """Ratings made of biases and noise: nothing for factors to learn but noise."""
    rng = np.random.default_rng(seed)
    users, movies = rng.integers(1, 301, n), rng.integers(1, 201, n)
    rating = 3.0 + rng.normal(0, 0.5, 301)[users] + rng.normal(0, 0.5, 201)[movies]
    rating = np.clip(rating + rng.normal(0, 0.8, n), 0.5, 5.0)
    frame = pd.DataFrame({"user_id": users, "movie_id": movies, "rating": rating})
    return frame.drop_duplicates(["user_id", "movie_id"]).reset_index(drop=True)


# an overfitting network: many factors, no penalty, a high learning rate, long patience
OVERFIT = dict(factors=64, l2=0.0, learning_rate=0.05, epochs=8, patience=8, seed=0)


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return _biases_only()


@pytest.mark.slow
def test_a_worse_network_falls_back_to_the_baseline(ratings: pd.DataFrame, tmp_path: Path):
    model = RatingModel("dot", **OVERFIT, validation_fraction=0.2).fit(ratings)
    assert model.fallback_ == "bias_only"
    assert model.baseline_validation_rmse_ < model.validation_rmse_
    users, movies = ratings["user_id"].to_numpy()[:50], ratings["movie_id"].to_numpy()[:50]
    u = model.user_vocab_.index(users, missing="negative")
    m = model.movie_vocab_.index(movies, missing="negative")
    expected = np.clip(model.baseline_.predict(u, m), *model.rating_scale_)
    np.testing.assert_allclose(model.predict(users, movies), expected, rtol=1e-5)
    assert model.describe()["fallback"]["used"] == "bias_only"
    model.save(tmp_path / "m")
    again = RatingModel.load(tmp_path / "m")
    assert again.fallback_ == "bias_only"
    np.testing.assert_allclose(again.predict(users, movies), expected, rtol=1e-5)
    light = load_scorer(tmp_path / "m").predict(users, movies)["prediction"]
    np.testing.assert_allclose(light, expected, rtol=1e-5)
    # top-N follows the predictions: the baseline ranks by movie bias for every user
    top = model.recommend(int(users[0]), k=5, exclude_seen=False)
    order = np.argsort(-model.baseline_.movie_bias_, kind="stable")[:5]
    assert top["movie_id"].tolist() == model.movie_vocab_.to_ids(order).tolist()


def test_never_keeps_the_network(ratings: pd.DataFrame) -> None:
    model = RatingModel("dot", **OVERFIT, validation_fraction=0.2, fallback="never")
    model.fit(ratings)
    assert model.fallback_ is None and model.validation_rmse_ is not None
    users, movies = ratings["user_id"].to_numpy()[:50], ratings["movie_id"].to_numpy()[:50]
    u = model.user_vocab_.index(users, missing="negative")
    m = model.movie_vocab_.index(movies, missing="negative")
    baseline = np.clip(model.baseline_.predict(u, m), *model.rating_scale_)
    assert not np.allclose(model.predict(users, movies), baseline, atol=1e-3)


def test_no_validation_part_no_comparison(ratings: pd.DataFrame) -> None:
    model = RatingModel("bias", epochs=1, validation_fraction=0.0).fit(ratings)
    assert model.fallback_ is None and model.validation_rmse_ is None
    assert "fallback" not in model.describe()


def test_bad_fallback_value() -> None:
    with pytest.raises(InvalidParameterError) as error:
        RatingModel("bias", fallback="sometimes").fit(_biases_only(n=200))
    assert error.value.parameter == "fallback"
