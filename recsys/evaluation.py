"""Accuracy of a rating model on held-out ratings, next to the baselines.

Every report puts the model beside two baselines fitted on the same training part:
the global mean, and user + movie biases (:class:`~recsys.models.baselines.BiasBaseline`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

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


def evaluate_model(model: Any, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, Any]:
    """RMSE and MAE of ``model`` on ``test``, beside baselines fitted on ``train``.

    Unknown users or movies in ``test`` are scored with the model's fallback (see
    :meth:`RatingModel.predict_frame`) and counted in ``test_fallbacks``. Predictions
    are clipped to the model's rating scale, and so are the baselines'.

    Returns
    -------
    dict with ``rmse, mae, n_test, test_fallbacks`` and ``baselines`` =
    ``{"global_mean": {rmse, mae}, "bias_only": {rmse, mae}}``.
    """
    from recsys.data.vocab import Vocabulary
    from recsys.models.baselines import BiasBaseline, GlobalMean

    truth = test["rating"].to_numpy(dtype=np.float64)
    frame = model.predict_frame(test["user_id"].to_numpy(), test["movie_id"].to_numpy())
    predicted = frame["prediction"].to_numpy()

    users = Vocabulary(train["user_id"], entity="user")
    movies = Vocabulary(train["movie_id"], entity="movie")
    tu, tm = users.index(train["user_id"]), movies.index(train["movie_id"])
    values = train["rating"].to_numpy(dtype=np.float64)
    su = users.index(test["user_id"], missing="negative")
    sm = movies.index(test["movie_id"], missing="negative")
    low, high = model.rating_scale_
    baselines = {}
    for name, baseline in (("global_mean", GlobalMean()), ("bias_only", BiasBaseline())):
        if isinstance(baseline, BiasBaseline):
            baseline.fit(tu, tm, values, n_users=len(users), n_movies=len(movies))
        else:
            baseline.fit(tu, tm, values)
        guess = np.clip(baseline.predict(su, sm), low, high)
        baselines[name] = {"rmse": rmse(truth, guess), "mae": mae(truth, guess)}
    fallbacks = frame["fallback"].value_counts()
    return {
        "rmse": rmse(truth, predicted),
        "mae": mae(truth, predicted),
        "n_test": len(test),
        "test_fallbacks": {str(k): int(v) for k, v in fallbacks.items() if k},
        "baselines": baselines,
    }
