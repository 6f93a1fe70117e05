"""Baselines: exact on data that is exactly a bias model, shrinkage towards zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from recsys.errors import InvalidParameterError, NotFittedError
from recsys.models.baselines import BiasBaseline, GenreMean, GlobalMean, catalogue_genres


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
    ids = np.array([1, 2, 3, 4, 5, 99])  # movie index i is ids[i]; 99 is not in the catalogue
    genres = catalogue_genres(movies, ids)
    assert genres[-1] == () and genres[2] == ("Comedy", "Drama")
    # Comedy: ratings of movies 1 and 3 = 4, 5, 1 -> 10/3; Drama: movies 2 and 3 = 2, 1
    model = GenreMean().fit([0, 1, 0, 1], [0, 0, 1, 2], [4.0, 5.0, 2.0, 1.0], genres=genres)
    assert model.genre_means_ == pytest.approx({"Comedy": 10 / 3, "Drama": 1.5})
    guesses = model.predict(np.zeros(6, dtype=int), [2, 3, 4, 5, 0, -1])
    # movie 3: mean of its genres' means; 4 has no genre, Western was never rated, 99
    # has no genres and -1 is unknown: the global mean 3.0
    np.testing.assert_allclose(guesses, [(10 / 3 + 1.5) / 2, 3.0, 3.0, 3.0, 10 / 3, 3.0])
    with pytest.raises(NotFittedError):
        GenreMean().predict([0], [1])
    with pytest.raises(InvalidParameterError, match="genres columns") as caught:
        catalogue_genres(movies.drop(columns="genres"), ids)
    assert caught.value.parameter == "movies"
    with pytest.raises(ValueError, match="zero ratings"):
        GenreMean().fit([], [], [], genres=genres)
    with pytest.raises(ValueError, match="genres were given for 6 movies"):
        GenreMean().fit([0], [6], [3.0], genres=genres)


@pytest.mark.parametrize(
    ("baseline", "fit_kwargs"),
    [
        (GlobalMean(), {}),
        (BiasBaseline(reg_user=1.0, n_iter=3), {}),
        (GenreMean(), {"genres": [("Comedy",), ("Drama",)]}),
    ],
)
def test_baselines_are_scikit_learn_estimators(baseline, fit_kwargs) -> None:
    fitted = baseline.fit([0, 1, 1], [0, 1, 0], [3.0, 4.0, 5.0], **fit_kwargs)
    assert fitted is baseline
    assert fitted.mean_ == pytest.approx(4.0)
    copy = clone(fitted)
    assert type(copy) is type(fitted) and copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "mean_")  # an unfitted copy
    with pytest.raises(TypeError):  # hyper-parameters are keyword-only
        type(baseline)(1.0)


def test_bias_baseline_from_biases() -> None:
    fitted = BiasBaseline().fit([0, 1], [0, 0], [3.0, 5.0])
    copy = BiasBaseline.from_biases(fitted.mean_, fitted.user_bias_, fitted.movie_bias_)
    np.testing.assert_array_equal(
        copy.predict([0, 1, -1], [0, 0, 0]), fitted.predict([0, 1, -1], [0, 0, 0])
    )
