"""Save and load a trained genre model directory.

Layout (written atomically: a reader never sees half a directory)

``model.joblib``
    The fitted :class:`~genre.text.classifier.GenreTextClassifier` (vectorizer + per-genre
    classifiers), pickled with joblib. **Only load model directories you trust**:
    unpickling can run arbitrary code.
``genres.json``
    The genre order of the model's outputs (that of the labelled set it was trained on).
``thresholds.json``
    ``{"threshold_by", "score_kind", "thresholds": {genre: value}}``, chosen on
    validation data; ``"inf"`` means the genre is never predicted, ``"-inf"`` always.
``config.json``
    What was trained and how: model, features, text field, class weight, seed, chosen
    hyper-parameters, selection metric, dataset path and library versions.
``search.json``
    The validation metrics of every grid point.
``metrics.json``
    Test metrics beside the trivial benchmarks (see :func:`genre.evaluation.evaluate.score_on_test`).
    Per genre, ``threshold`` is a number, or ``null`` when the genre is predicted on
    every movie or on none (``predicted``: ``"always"`` / ``"never"``; see
    :func:`genre.evaluation.metrics.multilabel_report`). The ``all_negative`` benchmark ranks
    nothing: its ranking metrics are ``null`` (see :mod:`genre.evaluation.evaluate`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from genre.text.classifier import GenreTextClassifier
from genre.data.labels import GenreVocabulary
from genre.evaluation.metrics import json_float
from genre.text.features import TEXT_FIELDS
from recsys.errors import ModelDirError
from recsys.fileio import atomic_directory, write_json_atomic

__all__ = [
    "FILES",
    "MARKER",
    "SavedModel",
    "check_k",
    "load_model",
    "read_common_files",
    "save_model",
    "top_k_genres",
    "write_common_files",
]

FILES = ("model.joblib", "genres.json", "thresholds.json", "config.json", "metrics.json")
FORMAT_VERSION = 1
#: The files that mark a directory as a genre model directory (text or fused) that
#: ``genre train`` may replace; a folder without them is never overwritten.
MARKER = ("config.json", "genres.json", "thresholds.json")
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class SavedModel:
    """A loaded model directory.

    Attributes
    ----------
    estimator : the fitted classifier.
    vocabulary : its genre order.
    thresholds : ndarray of shape (n_genres,).
    config : the contents of ``config.json``.
    path : where it was loaded from.
    """

    estimator: GenreTextClassifier
    vocabulary: GenreVocabulary
    thresholds: NDArray[np.float64]
    config: dict[str, Any]
    path: Path

    @property
    def score_kind(self) -> str:
        """``"probability"`` or ``"decision"`` (SVM scores)."""
        return str(self.estimator.score_kind_)

    def top_k(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float, bool]]]:
        """For each text, the ``k`` best genres as ``(genre, score, above_threshold)``.

        Raises
        ------
        ModelDirError
            If ``k`` is not between 1 and the number of genres.
        """
        check_k(k, self.vocabulary)
        return top_k_genres(self.estimator.scores(texts), self.vocabulary, self.thresholds, k)


def check_k(k: int, vocabulary: GenreVocabulary) -> None:
    """Refuse a ``k`` outside ``1 .. len(vocabulary)`` (before any scoring or printing).

    Raises
    ------
    ModelDirError
        If ``k`` is not between 1 and the number of genres.
    """
    n = len(vocabulary)
    if not 1 <= k <= n:
        raise ModelDirError(f"-k must be between 1 and {n} (the model's genres), received {k}.")


def top_k_genres(
    scores: NDArray[np.float64],
    vocabulary: GenreVocabulary,
    thresholds: NDArray[np.float64],
    k: int,
) -> list[list[tuple[str, float, bool]]]:
    """For each row of ``scores`` (n, n_genres), the ``k`` best ``(genre, score, above)``.

    ``above`` says whether the score reaches the genre's threshold. Ties keep genre order.

    Examples
    --------
    >>> top_k_genres(np.array([[0.2, 0.9]]), GenreVocabulary(["Drama", "War"]),
    ...              np.array([0.5, 0.5]), 1)
    [[('War', 0.9, True)]]
    """
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [
        [(vocabulary.genres[j], float(row[j]), bool(row[j] >= thresholds[j])) for j in idx]
        for row, idx in zip(scores, order, strict=True)
    ]


def write_common_files(
    folder: Path,
    vocabulary: GenreVocabulary,
    thresholds: NDArray[np.float64],
    *,
    threshold_by: str | None,
    score_kind: str,
    config: dict[str, Any],
    metrics: dict[str, Any],
) -> None:
    """Write the files every genre model directory has (text or fused):
    ``genres.json``, ``thresholds.json``, ``config.json`` and ``metrics.json``."""
    vocabulary.to_json(folder / "genres.json")
    write_json_atomic(
        folder / "thresholds.json",
        {
            "threshold_by": threshold_by,
            "score_kind": score_kind,
            "thresholds": {
                g: json_float(t) for g, t in zip(vocabulary.genres, thresholds, strict=True)
            },
        },
    )
    write_json_atomic(folder / "config.json", config)
    write_json_atomic(folder / "metrics.json", metrics)


def read_common_files(
    root: Path,
    files: tuple[str, ...],
    *,
    what: str,
    hint: str,
    load_model_file: Callable[[Path], T],
) -> tuple[GenreVocabulary, dict[str, Any], dict[str, Any], T]:
    """Check a model directory and read its common files and its model file.

    Returns
    -------
    ``(vocabulary, config, thresholds table {genre: value}, model)``; the thresholds
    table is checked against the genre order.

    Raises
    ------
    ModelDirError
        Missing directory or files, damaged files, thresholds for other genres.
    """
    if not root.is_dir():
        raise ModelDirError(f"{str(root)!r} is not a genre model directory; {hint}.")
    missing = [n for n in files if not (root / n).is_file()]
    if missing:
        raise ModelDirError(
            f"{str(root)!r} is not a {what} directory (missing {', '.join(missing)}); {hint}."
        )
    try:
        vocabulary = GenreVocabulary.from_json(root / "genres.json")
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        saved = json.loads((root / "thresholds.json").read_text(encoding="utf-8"))
        model = load_model_file(root)
    except Exception as error:
        raise ModelDirError(
            f"{str(root)!r}: a model file is damaged or from an "
            f"incompatible version ({type(error).__name__}: "
            f"{str(error)[:200]}); retrain the model."
        ) from None
    table = saved.get("thresholds", {}) if isinstance(saved, dict) else {}
    if list(table) != list(vocabulary.genres):
        raise ModelDirError(
            f"{str(root)!r}: thresholds.json and genres.json disagree on "
            "the genres; retrain the model."
        )
    return vocabulary, config, table, model


def save_model(
    out: str | os.PathLike[str],
    estimator: GenreTextClassifier,
    vocabulary: GenreVocabulary,
    thresholds: NDArray[np.float64],
    *,
    config: dict[str, Any],
    metrics: dict[str, Any],
    search: list[dict[str, Any]] | None = None,
) -> Path:
    """Write a model directory (see the module docstring) atomically; return its path.

    Raises
    ------
    DataError
        If ``out`` is a non-empty directory that is not a genre model directory
        (:data:`MARKER`), or the current directory.
    """
    import joblib
    import sklearn

    target = Path(out).expanduser()
    full_config = {
        "format_version": FORMAT_VERSION,
        **config,
        "score_kind": estimator.score_kind_,
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
    }
    with atomic_directory(target, marker=MARKER, what="genre model") as tmp:
        joblib.dump(estimator, tmp / "model.joblib")
        write_common_files(
            tmp,
            vocabulary,
            thresholds,
            threshold_by=config.get("threshold_by"),
            score_kind=estimator.score_kind_,
            config=full_config,
            metrics=metrics,
        )
        write_json_atomic(tmp / "search.json", search or [])
    return target


def load_model(path: str | os.PathLike[str]) -> SavedModel:
    """Load a directory written by :func:`save_model` (``genre train --out DIR``).

    Only load directories you trust (``model.joblib`` is a pickle).

    Raises
    ------
    ModelDirError
        Not a model directory, damaged files, or files that disagree with each other
        (thresholds or model outputs for other genres than ``genres.json``).
    """
    import joblib

    root = Path(path).expanduser()
    vocabulary, config, table, estimator = read_common_files(
        root,
        FILES,
        what="genre model",
        load_model_file=lambda r: joblib.load(r / "model.joblib"),
        hint="train one with: genre train --dataset DIR --out MODEL_DIR",
    )
    if not isinstance(estimator, GenreTextClassifier) or not hasattr(estimator, "pipeline_"):
        raise ModelDirError(
            f"{str(root / 'model.joblib')!r} does not hold a fitted "
            "GenreTextClassifier; retrain the model."
        )
    if estimator.n_genres_ != len(vocabulary):
        raise ModelDirError(
            f"{str(root)!r}: genres.json and the model disagree on the genres; retrain the model."
        )
    if config.get("text") not in TEXT_FIELDS:
        raise ModelDirError(
            f"{str(root / 'config.json')!r} has no valid text field; retrain the model."
        )
    thresholds = np.array([float(v) for v in table.values()], dtype=float)
    return SavedModel(estimator, vocabulary, thresholds, config, root)
