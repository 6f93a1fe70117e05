"""Score many movies or texts at once: one table row per input, a score per genre and
the genres above their validation thresholds.

Text models (:class:`~genre.text.classifier.GenreTextClassifier`) read a text column;
fused models (:class:`~genre.fusion.model.FusionClassifier`) read movie ids and take
their feature blocks from a feature store; poster models
(:class:`~genre.poster.model.PosterCNNClassifier`) read poster files, named in a
column or found by movie id in a posters folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recsys.errors import DataError, InvalidParameterError

if TYPE_CHECKING:
    from genre.estimator import GenreThresholdsMixin

__all__ = [
    "ID_COLUMNS",
    "POSTER_COLUMNS",
    "poster_table",
    "predict_table",
    "read_table",
    "score_table",
    "write_table",
]

#: Column names taken as movie ids when none is named, in this order.
ID_COLUMNS = ("movie_id", "movieId", "movieid", "id", "tmdb_id")
#: Column names taken as poster files when none is named, in this order.
POSTER_COLUMNS = ("poster", "poster_file", "path")
#: Posters decoded and scored at a time by :func:`poster_table` (bounds the memory).
POSTER_CHUNK = 256


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The CSV of rows to score (a UTF-8 byte-order mark is ignored).

    Raises
    ------
    DataError
        If the file is missing or cannot be read as CSV.
    """
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"no such input file: {str(path)!r}.") from None
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{str(path)!r} could not be read as CSV ({error}).") from None


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a scored table as CSV, atomically (the old file or the new one, whole)."""
    from recsys.fileio import atomic_write

    with atomic_write(path) as handle:
        table.to_csv(handle, index=False)


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

    columns = _check_input(frame, text_column=text_column, id_column=id_column)
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


def poster_table(
    model: Any,
    frame: pd.DataFrame,
    *,
    poster_column: str | None = None,
    id_column: str | None = None,
    posters: str | os.PathLike[str] | None = None,
    base: str | os.PathLike[str] = ".",
) -> tuple[pd.DataFrame, int]:
    """Score the poster of every row of ``frame`` with a poster-CNN genre model.

    Each row names a poster file (``poster_column``; a relative path is taken relative
    to ``base``, the input file's folder) or a movie whose poster is looked up in the
    ``posters`` folder (``<movieId>.jpg`` files or a posters index). Posters are decoded
    and scored :data:`POSTER_CHUNK` at a time; a missing or undecodable one leaves its
    row unscored (counted), never a crash.

    Parameters
    ----------
    model : a fitted :class:`~genre.poster.model.PosterCNNClassifier`.
    frame : shape (n, k).
    poster_column : the column of poster files (default: the first of
        :data:`POSTER_COLUMNS` present; else movie ids are used).
    id_column : the movie-id column (default: the first of :data:`ID_COLUMNS` present).
    posters : the posters folder movie ids are looked up in.
    base : the folder relative poster paths start from.

    Returns
    -------
    table : n rows (see :func:`score_table`); the id and poster columns are kept.
    n_unscored : rows whose poster is missing or undecodable.

    Raises
    ------
    InvalidParameterError
        A named column that is not in ``frame``, or neither a poster column nor (with a
        posters folder) an id column.
    DataError
        An empty ``frame``, or ids that are not integers.
    """
    from genre.poster.images import find_posters, read_poster
    from genre.poster.model import PosterInput

    columns = _check_input(frame, poster_column=poster_column, id_column=id_column)
    files_at = poster_column or next((c for c in POSTER_COLUMNS if c in frame.columns), None)
    ids = id_column or next((c for c in ID_COLUMNS if c in frame.columns), None)
    keep = frame[[c for c in (ids, files_at) if c is not None]]
    paths: list[Path | None]
    if files_at is not None:
        root = Path(base)
        paths = [
            None if pd.isna(v) or not str(v).strip() else root / Path(str(v).strip()).expanduser()
            for v in frame[files_at]
        ]
    elif ids is not None and posters is not None:
        try:
            movie_ids = pd.to_numeric(frame[ids], errors="raise").to_numpy(dtype=np.int64)
        except (ValueError, TypeError):
            raise DataError(
                f"column {ids!r} holds values that are not integer movie ids."
            ) from None
        found = find_posters(posters, movie_ids.tolist())
        paths = [found.get(int(m)) for m in movie_ids]
    else:
        raise InvalidParameterError(
            "poster_column",
            f"a poster model scores poster files, and the input has no poster column "
            f"({', '.join(POSTER_COLUMNS)}) "
            + ("and no movie-id column" if ids is None else "and no posters folder to find")
            + f" (its columns: {columns}); name the column of poster files.",
        )
    scores = np.full((len(frame), model.n_genres_), np.nan)
    for start in range(0, len(paths), POSTER_CHUNK):
        rows, images = [], []
        for row in range(start, min(start + POSTER_CHUNK, len(paths))):
            path = paths[row]
            if path is None:
                continue
            try:
                images.append(read_poster(path, model.image_size))
            except DataError:
                continue  # missing or undecodable: this row stays unscored
            rows.append(row)
        if rows:
            scores[rows] = model.scores(PosterInput.of(np.stack(images)))
    return score_table(model, scores, keep), int(np.isnan(scores).any(axis=1).sum())


def _check_input(frame: pd.DataFrame, **named: str | None) -> str:
    """Refuse an empty ``frame`` or a named column it lacks; its columns, listed."""
    if len(frame) == 0:
        raise DataError("the input table has no rows: nothing to score.")
    columns = ", ".join(map(str, frame.columns))
    for parameter, name in named.items():
        if name is not None and name not in frame.columns:
            raise InvalidParameterError(
                parameter, f"{parameter}={name!r} is not a column of the input ({columns})."
            )
    return columns


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
