"""Baselines: exact on data that is exactly a bias model, shrinkage towards zero."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.errors import NotFittedError
from recsys.models.baselines import BiasBaseline, GlobalMean


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
