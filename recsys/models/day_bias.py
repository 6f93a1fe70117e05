"""Day-specific user biases: the ``b_{u,t}`` term of Koren's time-aware models.

A user who rates a batch of movies in one sitting tends to rate them all a little
higher or lower than usual (mood, an anchoring first rating, a changed idea of what 3
stars means). Koren ("Collaborative filtering with temporal dynamics", KDD 2009) adds a
bias per (user, day) to the prediction; on Netflix it was the largest single gain of
his baseline predictors. MovieLens users rate in sittings too: in ml-latest-small's
``random:0.1`` split 97.6% of the test ratings share their (user, day) with a training
rating.

Here the term is fitted after the network, on its residuals, as a shrunk mean per
(user, day):

    ``b_{u,d} = sum_{ratings of u on day d} (r - s) / (n_{u,d} + shrinkage)``

where ``s`` is the fitted network's score and ``d = timestamp // 86400`` (UTC days of a
timestamp in seconds since the epoch, the MovieLens convention). A (user, day) with no
training rating gets 0, so a prediction without a timestamp is the plain model's. The
shrinkage is chosen on the validation part (one of :data:`SHRINKAGES`, or no day term
at all when none lowers the validation RMSE) from residuals of the fitting part only;
the chosen table is then refitted on every training rating. Top-N lists do not change:
the term is one constant per user and day.

Nothing here imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DAY_SECONDS", "MAX_DAY", "SHRINKAGES", "DayBiases", "choose_day_biases", "rating_days"]

#: Seconds per day of the (user, day) key: timestamps are seconds since the epoch.
DAY_SECONDS = 86_400

#: The shrinkage counts tried on the validation part, smallest first. A (user, day)
#: with ``n`` training ratings keeps ``n / (n + shrinkage)`` of their mean residual.
SHRINKAGES: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)

#: Largest plausible |day| of a timestamp in seconds (about the year 2500); larger ones
#: are milliseconds or nanoseconds, and the model then fits no day term.
MAX_DAY = 200_000

_DAY_LOW, _DAY_HIGH = np.iinfo(np.int32).min, np.iinfo(np.int32).max


def rating_days(timestamps: ArrayLike) -> NDArray[np.int64]:
    """The UTC day of each timestamp (seconds since the epoch), ``int64 (n,)``.

    Examples
    --------
    >>> rating_days([0, 86_399, 86_400, -1]).tolist()
    [0, 0, 1, -1]
    """
    return np.floor_divide(np.asarray(timestamps, dtype=np.int64), DAY_SECONDS)


def _keys(users: NDArray[np.int64], days: NDArray[np.int64]) -> NDArray[np.int64]:
    """One int64 per (user index, day): the user in the high 32 bits."""
    day = np.clip(days, _DAY_LOW, _DAY_HIGH) - _DAY_LOW  # 0 .. 2**32 - 1
    return (users.astype(np.int64) << 32) | day


@dataclass(frozen=True, eq=False)
class DayBiases:
    """A fitted table of (user, day) biases.

    Attributes
    ----------
    keys : int64 (n_pairs,), sorted: user index in the high 32 bits, day in the low.
    values : float32 (n_pairs,), the bias of each pair.
    shrinkage : the shrinkage count they were fitted with.

    Examples
    --------
    >>> table = DayBiases.fit([0, 0, 1], [10, 10, 10], [1.0, 0.5, -2.0], shrinkage=1.0)
    >>> table.lookup([0, 1, 0, -1], [10, 10, 11, 10]).round(3).tolist()
    [0.5, -1.0, 0.0, 0.0]
    """

    keys: NDArray[np.int64]
    values: NDArray[np.float32]
    shrinkage: float

    @classmethod
    def fit(
        cls, users: ArrayLike, days: ArrayLike, residuals: ArrayLike, *, shrinkage: float
    ) -> DayBiases:
        """The shrunk mean residual of each (user, day).

        Parameters
        ----------
        users : int (n,), user indices (>= 0).
        days : int (n,), days (:func:`rating_days`).
        residuals : float (n,), rating minus the model's score.
        shrinkage : float > 0, the count added to each pair's number of ratings.
        """
        u = np.asarray(users, dtype=np.int64)
        known = u >= 0  # a user unknown to the vocabulary gets no entry
        keys = _keys(u[known], np.asarray(days, dtype=np.int64)[known])
        unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        weights = np.asarray(residuals, dtype=np.float64)[known]
        sums = np.bincount(inverse, weights=weights, minlength=len(unique))
        values = (sums / (counts + float(shrinkage))).astype(np.float32)
        return cls(unique.astype(np.int64), values, float(shrinkage))

    def lookup(self, users: ArrayLike, days: ArrayLike) -> NDArray[np.float64]:
        """The bias of each (user, day), 0 for a pair (or a user ``< 0``) not in the
        table; ``float64 (n,)``."""
        u = np.asarray(users, dtype=np.int64)
        keys = _keys(u, np.asarray(days, dtype=np.int64))
        out = np.zeros(len(keys), dtype=np.float64)
        if len(self.keys) == 0 or len(keys) == 0:
            return out
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = (self.keys[at] == keys) & (u >= 0)
        out[hit] = self.values[at[hit]]
        return out

    def to_json(self) -> dict[str, Any]:
        """What the model folder's metadata says of the table (the arrays go to npz)."""
        return {"shrinkage": self.shrinkage, "n_pairs": len(self.keys)}


def choose_day_biases(
    fit: tuple[ArrayLike, ArrayLike, ArrayLike],
    validation: tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike],
    rating_scale: tuple[float, float],
    shrinkages: tuple[float, ...] = SHRINKAGES,
) -> tuple[float | None, dict[str, Any]]:
    """Choose the shrinkage on the validation part, or no day term.

    Parameters
    ----------
    fit : ``(users, days, residuals)`` of the fitting part, each (n,).
    validation : ``(users, days, predictions, ratings)`` of the validation part, each
        (m,): the model's predictions (clipped to the scale) and the true ratings.
    rating_scale : ``(low, high)``: predictions are clipped to it.
    shrinkages : the candidates.

    Returns
    -------
    (shrinkage or None, report) : ``None`` when no candidate lowers the validation RMSE
        of the plain scores; the report has ``validation_rmse_without`` and
        ``validation_rmse`` per candidate.

    Examples
    --------
    >>> fit = ([0, 0, 1, 1], [5, 5, 5, 5], [0.5, 0.5, -0.5, -0.5])
    >>> chosen, report = choose_day_biases(fit, ([0, 1], [5, 5], [3.0, 3.0], [3.5, 2.5]), (1, 5))
    >>> chosen, report["validation_rmse"]["1"] < report["validation_rmse_without"]
    (1.0, True)
    """
    low, high = rating_scale
    vu, vd, scores, truth = (np.asarray(a) for a in validation)
    truth = truth.astype(np.float64)
    plain = np.clip(scores.astype(np.float64), low, high)
    without = float(np.sqrt(np.mean((truth - plain) ** 2)))
    rmses: dict[str, float] = {}
    best, best_rmse = None, without
    for shrinkage in shrinkages:
        table = DayBiases.fit(*fit, shrinkage=shrinkage)
        guess = np.clip(scores + table.lookup(vu, vd), low, high)
        score = float(np.sqrt(np.mean((truth - guess) ** 2)))
        rmses[f"{shrinkage:g}"] = score
        if score < best_rmse:
            best, best_rmse = shrinkage, score
    return best, {"validation_rmse_without": without, "validation_rmse": rmses}
