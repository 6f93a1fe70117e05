"""Score many movies or texts at once: one table row per input, a score per genre and
the genres above their validation thresholds.

Text models (:class:`~genre.text.classifier.GenreTextClassifier`) read a text column;
fused models (:class:`~genre.fusion.model.FusionClassifier`) read movie ids and take
their feature blocks from a feature store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recsys.errors import DataError, InvalidParameterError

if TYPE_CHECKING:
    from genre.estimator import GenreThresholdsMixin

__all__ = ["ID_COLUMNS", "predict_table", "score_table"]

#: Column names taken as movie ids when none is named, in this order.
ID_COLUMNS = ("movie_id", "movieId", "movieid", "id", "tmdb_id")


def score_table(
    model: GenreThresholdsMixin, scores: np.ndarray, keep: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The output table of ``scores`` (shape (n, n_genres)): ``keep``'s columns, then
    ``score_<genre>`` per genre, ``genres`` (those at or above their threshold, joined
    by ``|``) and ``top_genre``. Rows whose scores are NaN (no input) stay empty."""
    genres = list(model.genres_)
    table = keep.reset_index(drop=True).copy() if keep is not None else pd.DataFrame()
    for j, genre in enumerate(genres):
        table[f"score_{genre}"] = scores[:, j]
    scored = ~np.isnan(scores).any(axis=1)
    above = scores >= np.asarray(model.thresholds_)[None, :]
    table["genres"] = [
        "|".join(g for g, a in zip(genres, row, strict=True) if a) if ok else ""
        for row, ok in zip(above, scored, strict=True)
    ]
    best = np.argmax(np.where(np.isnan(scores), -np.inf, scores), axis=1)
    table["top_genre"] = [genres[b] if ok else "" for b, ok in zip(best, scored, strict=True)]
    return table


def predict_table(
    model: Any,
    frame: pd.DataFrame,
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    features: Any = None,
    text_field: str = "overview",
) -> tuple[pd.DataFrame, int]:
    """Score every row of ``frame`` with a text or fused genre model.

    Parameters
    ----------
    model : a fitted text or fused genre classifier.
    frame : shape (n, k): texts (text models) or movie ids (fused models).
    text_column : text models: the column holding the text (default: the field the
        model was trained on, ``overview``, ``tags`` or both).
    id_column : the movie-id column (fused models need one; default the first of
        :data:`ID_COLUMNS` present). It is copied to the output for text models too.
    features : fused models: the feature store (a path or
        :class:`~recsys.features.FeatureStore`) to read the blocks from.
    text_field : text models: the field the model was trained on.

    Returns
    -------
    table : n rows (see :func:`score_table`).
    n_unscored : rows with nothing to score (empty text, or no block for the id).

    Raises
    ------
    InvalidParameterError
        A named column that is not in ``frame`` (the message lists its columns), or no
        id column for a fused model.
    DataError
        An empty ``frame``.
    """
    from genre.text.classifier import GenreTextClassifier

    if len(frame) == 0:
        raise DataError("the input table has no rows: nothing to score.")
    columns = ", ".join(map(str, frame.columns))
    for parameter, name in (("text_column", text_column), ("id_column", id_column)):
        if name is not None and name not in frame.columns:
            raise InvalidParameterError(
                parameter, f"{parameter}={name!r} is not a column of the input ({columns})."
            )
    ids = id_column or next((c for c in ID_COLUMNS if c in frame.columns), None)
    keep = frame[[ids]] if ids is not None else None
    if isinstance(model, GenreTextClassifier):
        texts = _texts(frame, text_column, text_field)
        empty = np.array([not t.strip() for t in texts])
        scores = np.full((len(frame), model.n_genres_), np.nan)
        if (~empty).any():
            scores[~empty] = model.scores([t for t, e in zip(texts, empty, strict=True) if not e])
        return score_table(model, scores, keep), int(empty.sum())
    if ids is None:
        raise InvalidParameterError(
            "id_column",
            f"a fused model scores movies by id, and the input has no id column "
            f"({columns}); name one with id_column.",
        )
    from genre.fusion.block_inputs import load_block_inputs

    try:
        movie_ids = pd.to_numeric(frame[ids], errors="raise").to_numpy(dtype=np.int64)
    except (ValueError, TypeError):
        raise DataError(f"column {ids!r} holds values that are not integer movie ids.") from None
    inputs = load_block_inputs(features, model.blocks_, movie_ids, require_coverage=False)
    present = np.zeros(len(movie_ids), dtype=bool)
    for mask in inputs.masks.values():
        present |= mask
    scores = np.asarray(model.scores(inputs), dtype=np.float64)
    scores[~present] = np.nan
    return score_table(model, scores, keep), int((~present).sum())


def _texts(frame: pd.DataFrame, column: str | None, field: str) -> Sequence[str]:
    """The text of each row: ``column``, or the model's field (``movie_texts`` says which
    column is missing)."""
    if column is not None:
        return frame[column].fillna("").astype(str).tolist()
    from genre.text.features import movie_texts

    prepared = frame.copy()
    if "overview" in prepared.columns:
        prepared["overview"] = prepared["overview"].fillna("").astype(str)
    if "tags" in prepared.columns:  # a file holds tags as text: split on | or spaces
        prepared["tags"] = [
            tuple(t for t in str(v).replace("|", " ").split() if t) if isinstance(v, str) else ()
            for v in prepared["tags"]
        ]
    return movie_texts(prepared, field)  # type: ignore[arg-type]
