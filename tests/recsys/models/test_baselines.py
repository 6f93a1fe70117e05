"""Baselines: exact on data that is exactly a bias model, shrinkage towards zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.errors import NotFittedError
from recsys.models.baselines import BiasBaseline, GenreMean, GlobalMean


def test_recovers_an_exact_bias_model() -> None:
    rng = np.random.default_rng(0)
    bu, bm = rng.normal(size=5), rng.normal(size=4)
    users, movies = np.meshgrid(np.arange(5), np.arange(4), indexing="ij")
    users, movies = users.ravel(), movies.ravel()
    ratings = 3.0 + bu[users] + bm[movies]
    model = BiasBaseline(reg_user=0.0, reg_movie=0.0, n_iter=200).fit(users, movies, ratings)
    np.testing.assert_allclose(model.predict(users, movies), ratings, atol=1e-6)


def test_shrinkage_and_unknown_ids() -> None:
    users, movies, ratings = [0, 0, 1], [0, 1, 0], [5.0, 1.0, 4.0]
    loose = BiasBaseline(reg_user=0.0, reg_movie=0.0).fit(users, movies, ratings)
    tight = BiasBaseline(reg_user=1e6, reg_movie=1e6).fit(users, movies, ratings)
    assert tight.predict([0], [0])[0] == pytest.approx(np.mean(ratings), abs=1e-4)
    assert abs(loose.predict([0], [0])[0] - 5.0) < abs(tight.predict([0], [0])[0] - 5.0)
    # -1 = unknown: its bias is zero
    assert loose.predict([-1], [-1])[0] == pytest.approx(loose.mean_)
    assert loose.predict([-1], [0])[0] == pytest.approx(loose.mean_ + loose.movie_bias_[0])


def test_global_mean() -> None:
    model = GlobalMean().fit([0, 1], [0, 1], [2.0, 4.0])
    assert model.predict([3, 4], [5, 6]).tolist() == [3.0, 3.0]
    with pytest.raises(NotFittedError):
        GlobalMean().predict([0], [0])
    with pytest.raises(ValueError, match="zero ratings"):
        BiasBaseline().fit([], [], [])


def test_genre_mean_hand_computed() -> None:
    movies = pd.DataFrame(
        {
            "movie_id": [1, 2, 3, 4, 5],
            "genres": [("Comedy",), ("Drama",), ("Comedy", "Drama"), (), ("Western",)],
        }
    )
    # Comedy: ratings of movies 1 and 3 = 4, 5, 1 -> 10/3; Drama: movies 2 and 3 = 2, 1
    model = GenreMean().fit([1, 1, 2, 3], [4.0, 5.0, 2.0, 1.0], movies)
    assert model.genre_means_ == pytest.approx({"Comedy": 10 / 3, "Drama": 1.5})
    guesses = model.predict([3, 4, 5, 99, 1])
    # movie 3: mean of its genres' means; 4 has no genre, Western was never rated and
    # 99 is not in the catalogue: the global mean 3.0
    np.testing.assert_allclose(guesses, [(10 / 3 + 1.5) / 2, 3.0, 3.0, 3.0, 10 / 3])
    with pytest.raises(NotFittedError):
        GenreMean().predict([1])
    with pytest.raises(ValueError, match="genres columns"):
        GenreMean().fit([1], [3.0], movies.drop(columns="genres"))
    with pytest.raises(ValueError, match="zero ratings"):
        GenreMean().fit([], [], movies)
