"""Movie bias ranking: which movies the model rates up or down once raters are accounted for.

A bias model predicts ``mu + b_user + b_movie + u . m``. The movie bias is therefore a
movie's rating corrected for who watched it: a movie rated 4.2 on average by generous
raters (high ``raters_mean``) gets a smaller bias than one rated 4.2 by strict raters.
The ranking tables put the bias next to the raw mean rating, its rank among the analysed
movies, the number of ratings and the raters' own mean, so the correction is visible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys.errors import DataError

__all__ = ["bias_ranking", "bias_summary", "spearman"]

_COLUMNS = [
    "rank",
    "movie_id",
    "title",
    "bias",
    "mean_rating",
    "mean_rating_rank",
    "n_ratings",
    "raters_mean",
]


def spearman(x: pd.Series | np.ndarray, y: pd.Series | np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties) of two equal-length vectors.

    Returns NaN when either vector is constant or shorter than 2.

    >>> spearman([1, 2, 3, 4], [10, 20, 40, 30])
    0.8
    """
    a = pd.Series(np.asarray(x, dtype=np.float64)).rank(method="average").to_numpy()
    b = pd.Series(np.asarray(y, dtype=np.float64)).rank(method="average").to_numpy()
    if len(a) != len(b):
        raise DataError(
            f"spearman needs two vectors of the same length, got {len(a)} and {len(b)}."
        )
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return round(float(np.corrcoef(a, b)[0, 1]), 12)


def _require_bias(table: pd.DataFrame) -> pd.DataFrame:
    if "bias" not in table.columns or table["bias"].isna().all():
        raise DataError(
            "this model has no movie biases (only the 'bias' kind learns them); "
            "rank movies by bias with a model of kind 'bias'."
        )
    return table[table["bias"].notna()]


def bias_ranking(table: pd.DataFrame, n: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` movies with the highest and the ``n`` with the lowest bias.

    Parameters
    ----------
    table : the analysed movies (``movie_id, title, bias, mean_rating, n_ratings,
        raters_mean``), e.g. ``MovieAnalysis.movies``.
    n : how many at each end (at most the number of movies).

    Returns
    -------
    (top, bottom) : DataFrames with ``rank, movie_id, title, bias, mean_rating,
        mean_rating_rank, n_ratings, raters_mean``; ``top`` by decreasing bias, ``bottom``
        by increasing bias (ties by movie id). ``mean_rating_rank`` is the movie's rank
        by raw mean rating among the analysed movies (1 = highest).

    Raises
    ------
    DataError
        If the table has no bias values (dot and mlp models).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"movie_id": [1, 2, 3], "title": ["A", "B", "C"],
    ...                       "bias": [0.4, -0.2, 0.1], "mean_rating": [4.1, 3.0, 3.9],
    ...                       "n_ratings": [50, 20, 30], "raters_mean": [3.6, 3.4, 3.7]})
    >>> top, bottom = bias_ranking(table, 2)
    >>> top.title.tolist(), bottom.title.tolist()
    (['A', 'C'], ['B', 'C'])
    """
    if n < 1:
        raise DataError(f"n must be at least 1, got {n}.")
    rows = _require_bias(table).copy()
    rows["mean_rating_rank"] = (
        rows["mean_rating"].rank(ascending=False, method="min").astype(np.int64)
    )
    ids = rows["movie_id"].to_numpy()
    bias = rows["bias"].to_numpy(dtype=np.float64)
    top = rows.iloc[np.lexsort((ids, -bias))[:n]].copy()
    bottom = rows.iloc[np.lexsort((ids, bias))[:n]].copy()
    for frame in (top, bottom):
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return (top[_COLUMNS].reset_index(drop=True), bottom[_COLUMNS].reset_index(drop=True))


def bias_summary(table: pd.DataFrame) -> dict[str, Any]:
    """How the bias relates to the raw rating statistics over the analysed movies.

    Returns
    -------
    dict with ``n_movies``; ``spearman_mean_rating``, the Spearman correlation of bias
    and raw mean rating; ``spearman_rater_adjusted``, of bias and ``mean_rating -
    raters_mean`` (the mean rating relative to what its raters usually give);
    ``spearman_n_ratings``; and ``bias_mean``, ``bias_std``, ``bias_min``, ``bias_max``.
    """
    rows = _require_bias(table)
    bias = rows["bias"].to_numpy(dtype=np.float64)
    return {
        "n_movies": len(rows),
        "spearman_mean_rating": spearman(bias, rows["mean_rating"]),
        "spearman_rater_adjusted": spearman(bias, rows["mean_rating"] - rows["raters_mean"]),
        "spearman_n_ratings": spearman(bias, rows["n_ratings"]),
        "bias_mean": float(bias.mean()),
        "bias_std": float(bias.std(ddof=1)) if len(bias) > 1 else 0.0,
        "bias_min": float(bias.min()),
        "bias_max": float(bias.max()),
    }
