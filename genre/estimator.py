"""What every genre classifier shares: thresholds chosen on validation data, binary
predictions, top-k genres and genre names.

A classifier mixes in :class:`GenreThresholdsMixin` and defines ``scores(X)`` (shape
``(n_movies, n_genres)``, higher means more likely) and ``_check_fitted()``; ``fit``
sets ``genres_``, ``n_genres_`` and calls :meth:`~GenreThresholdsMixin.fit_thresholds`
on its validation part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from genre.data.labels import GenreVocabulary
from genre.evaluation import metrics
from genre.evaluation.metrics import Criterion
from genre.model_dir import check_k, top_k_genres
from recsys.errors import DataError, InvalidParameterError

__all__ = ["GenreThresholdsMixin", "genre_names"]


class GenreThresholdsMixin:
    """Thresholds, binary predictions and top-k genres from a classifier's ``scores``.

    Attributes (set by :meth:`fit_thresholds`)
    ------------------------------------------
    thresholds_ : ndarray of shape (n_genres,)
        One decision threshold per genre, chosen on validation data.
    threshold_by_ : str or None
        What the thresholds maximise (``"f1"`` or ``"accuracy"``; ``None`` for defaults).
    """

    genres_: tuple[str, ...]
    n_genres_: int
    thresholds_: NDArray[np.float64]
    threshold_by_: str | None

    def scores(self, X: Any) -> NDArray[np.float64]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit_thresholds(self, X: Any, Y: ArrayLike, *, by: Criterion = "f1") -> Any:
        """Choose :attr:`thresholds_` on validation inputs ``X`` with labels ``Y``.

        Each genre's threshold maximises ``by`` (``"f1"`` or ``"accuracy"``) on
        :meth:`scores` of ``X`` (:func:`genre.evaluation.metrics.select_thresholds`).

        Returns
        -------
        self

        Raises
        ------
        NotFittedError
            Before ``fit``.
        DataError
            If ``Y`` is not of shape (len(X), n_genres).
        """
        scores = self.scores(X)
        labels = np.asarray(Y)
        if labels.shape != scores.shape:
            raise DataError(
                f"expected validation labels of shape {scores.shape}, received {labels.shape}."
            )
        self.thresholds_ = metrics.select_thresholds(labels, scores, by)
        self.threshold_by_ = by
        return self

    def predict(self, X: Any, thresholds: ArrayLike | None = None) -> NDArray[np.uint8]:
        """Binary genres of shape ``(n_movies, n_genres)``: ``scores >= thresholds``.

        ``thresholds`` (one per genre) default to :attr:`thresholds_`.
        """
        s = self.scores(X)
        t = self.thresholds_ if thresholds is None else np.asarray(thresholds, dtype=float)
        if t.shape != (s.shape[1],):
            raise InvalidParameterError(
                "thresholds", f"expected {s.shape[1]} thresholds, received shape {t.shape}."
            )
        return (s >= t).astype(np.uint8)

    def top_k(self, X: Any, k: int = 3) -> list[list[tuple[str, float, bool]]]:
        """For each input the ``k`` best genres as ``(genre, score, above_threshold)``.

        Raises
        ------
        InvalidParameterError
            If ``k`` is not between 1 and the number of genres (checked first).
        """
        self._check_fitted()
        check_k(k, self.n_genres_)
        return top_k_genres(self.scores(X), self.genres_, self.thresholds_, k)


def genre_names(genres: Sequence[str] | None, n: int) -> tuple[str, ...]:
    """The ``n`` genre names of the label columns (``"0" .. "n-1"`` when not given).

    >>> genre_names(["Drama", "Comedy"], 2)
    ('Drama', 'Comedy')
    """
    names = tuple(str(j) for j in range(n)) if genres is None else tuple(genres)
    if len(names) != n:
        raise InvalidParameterError(
            "genres", f"expected {n} genre names (one per label column), received {len(names)}."
        )
    return GenreVocabulary(names).genres
