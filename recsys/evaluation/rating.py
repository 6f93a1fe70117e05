"""Accuracy of a rating model on held-out ratings, next to the baselines.

Every report puts the model beside two baselines fitted on the same training part:
the global mean, and user + movie biases (:class:`~recsys.models.baselines.BiasBaseline`).
Given the movie catalogue, it adds the genre-mean baseline
(:class:`~recsys.models.baselines.GenreMean`) and a ``cold_start`` section: the same
comparison on the test ratings of movies that have no training rating.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from recsys.models.rating_model import RatingModel

__all__ = ["evaluate_model", "mae", "rmse"]


def rmse(truth: ArrayLike, predicted: ArrayLike) -> float:
    """Root mean squared error.

    >>> rmse([1.0, 3.0], [2.0, 3.0])
    0.7071067811865476
    """
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(truth: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute error.

    >>> mae([1.0, 3.0], [2.0, 3.0])
    0.5
    """
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    return float(np.mean(np.abs(t - p)))


def evaluate_model(
    model: RatingModel,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    movies: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """RMSE and MAE of ``model`` on ``test``, beside baselines fitted on ``train``.

    Unknown users or movies in ``test`` are scored with the model's fallback (see
    :meth:`RatingModel.predict_frame`) and counted in ``test_fallbacks``. Predictions
    are clipped to the model's rating scale, and so are the baselines'.

    Parameters
    ----------
    model : a fitted rating model (``predict_frame``, ``rating_scale_``).
    train, test : ratings frames (``user_id, movie_id, rating``); ``train`` is the whole
        training part the model was given.
    movies : the movie catalogue with ``movie_id`` and ``genres``; when given, the
        report adds the ``genre_mean`` baseline and the ``cold_start`` section.

    Returns
    -------
    dict with ``rmse, mae, n_test, test_fallbacks`` and ``baselines`` =
    ``{"global_mean": {rmse, mae}, "bias_only": {rmse, mae}}`` (plus ``genre_mean``).
    With ``movies``, also ``cold_start`` = ``{n_test, n_movies, rmse, mae, baselines}``
    over the test ratings of movies absent from ``train`` (``n_test`` 0 and ``None``
    scores when there are none).
    When the model has (user, day) biases (``day_biases_``) and ``test`` has
    timestamps, the predictions include them, and ``day_biases`` =
    ``{shrinkage, n_pairs, n_test_with_bias, without: {rmse, mae},
    bias_only_with_day_biases: {rmse, mae}}`` gives the model's scores without the term
    and the bias-only baseline's with a day term fitted the same way on ``train`` (the
    same shrinkage), so the term's share of the gain is visible.

    Examples
    --------
    >>> from recsys.data import load_dataset, parse_split
    >>> from recsys.models.rating_model import RatingModel
    >>> data = load_dataset()
    >>> split = parse_split("movies:0.1").split(data, seed=0)
    >>> model = RatingModel("bias", epochs=2).fit(split.train)
    >>> report = evaluate_model(model, split.train, split.test, movies=data.movies)
    >>> sorted(report["cold_start"]["baselines"])
    ['bias_only', 'genre_mean', 'global_mean']
    >>> cold = report["cold_start"]
    >>> cold["n_test"] == len(split.test), cold["baselines"]["genre_mean"]["rmse"] < 1.1
    (True, True)
    """
    from recsys.data.vocab import Vocabulary
    from recsys.models.baselines import BiasBaseline, GenreMean, GlobalMean, catalogue_genres
    from recsys.models.day_bias import DayBiases, rating_days

    truth = test["rating"].to_numpy(dtype=np.float64)
    day_table = getattr(model, "day_biases_", None)
    stamps = None
    if day_table is not None and "timestamp" in test.columns:
        stamps = test["timestamp"].to_numpy()
    frame = model.predict_frame(test["user_id"].to_numpy(), test["movie_id"].to_numpy(), stamps)
    predicted = frame["prediction"].to_numpy()

    users = Vocabulary(train["user_id"], entity="user")
    movie_vocab = Vocabulary(train["movie_id"], entity="movie")
    tu, tm = users.index(train["user_id"]), movie_vocab.index(train["movie_id"])
    values = train["rating"].to_numpy(dtype=np.float64)
    su = users.index(test["user_id"], missing="negative")
    sm = movie_vocab.index(test["movie_id"], missing="negative")
    low, high = model.rating_scale_
    baselines = {}
    guesses = {}
    bias_only = BiasBaseline().fit(tu, tm, values, n_users=len(users), n_movies=len(movie_vocab))
    raw_guesses = {
        "global_mean": GlobalMean().fit(tu, tm, values).predict(su, sm),
        "bias_only": bias_only.predict(su, sm),
    }
    if movies is not None:
        # the genre mean scores movies without training ratings: its movie vocabulary
        # holds the catalogue's movies too (test movies outside both get the global mean)
        catalogue = Vocabulary(
            np.concatenate([train["movie_id"].to_numpy(), movies["movie_id"].to_numpy()]),
            entity="movie",
        )
        genre_mean = GenreMean().fit(
            tu,
            catalogue.index(train["movie_id"]),
            values,
            genres=catalogue_genres(movies, catalogue.ids),
        )
        raw_guesses["genre_mean"] = genre_mean.predict(
            su, catalogue.index(test["movie_id"], missing="negative")
        )
    for name, raw in raw_guesses.items():
        guess = np.clip(raw, low, high)
        guesses[name] = guess
        baselines[name] = {"rmse": rmse(truth, guess), "mae": mae(truth, guess)}
    fallbacks = frame["fallback"].value_counts()
    report = {
        "rmse": rmse(truth, predicted),
        "mae": mae(truth, predicted),
        "n_test": len(test),
        "test_fallbacks": {str(k): int(v) for k, v in fallbacks.items() if k},
        "baselines": baselines,
    }
    if movies is not None:
        report["cold_start"] = _cold_start(
            truth, predicted, guesses, sm < 0, test["movie_id"].to_numpy()
        )
    if stamps is not None and "timestamp" in train.columns:
        assert day_table is not None
        plain = model.predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy())
        # the baseline's own day term: same shrinkage, fitted on its training residuals
        train_days = rating_days(train["timestamp"].to_numpy())
        fitted = np.clip(
            bias_only.predict(tu, tm),
            low,
            high,
        )
        baseline_days = DayBiases.fit(
            tu, train_days, values - fitted, shrinkage=day_table.shrinkage
        )
        with_days = np.clip(
            guesses["bias_only"] + baseline_days.lookup(su, rating_days(stamps)), low, high
        )
        report["day_biases"] = {
            **day_table.to_json(),
            "n_test_with_bias": int((frame["day_bias"].to_numpy() != 0).sum()),
            "without": {"rmse": rmse(truth, plain), "mae": mae(truth, plain)},
            "bias_only_with_day_biases": {
                "rmse": rmse(truth, with_days),
                "mae": mae(truth, with_days),
            },
        }
    return report


def _cold_start(
    truth: np.ndarray,
    predicted: np.ndarray,
    guesses: dict[str, np.ndarray],
    cold: np.ndarray,
    movie_ids: np.ndarray,
) -> dict[str, Any]:
    """The scores restricted to the test ratings of movies without training ratings."""
    if not cold.any():
        return {"n_test": 0, "n_movies": 0, "rmse": None, "mae": None, "baselines": {}}
    t = truth[cold]
    return {
        "n_test": int(cold.sum()),
        "n_movies": int(len(np.unique(movie_ids[cold]))),
        "rmse": rmse(t, predicted[cold]),
        "mae": mae(t, predicted[cold]),
        "baselines": {
            name: {"rmse": rmse(t, g[cold]), "mae": mae(t, g[cold])} for name, g in guesses.items()
        },
    }
