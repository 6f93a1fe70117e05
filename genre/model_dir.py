"""The folder format shared by every saved genre model (text or fused).

A model is saved with its own ``save`` method
(:meth:`genre.text.classifier.GenreTextClassifier.save`,
:meth:`genre.fusion.model.FusionClassifier.save`) and read back by the ``load``
class method of the same class; :func:`genre.workflows.load_genre_model` reads either.
This module holds the parts they share. Layout (written atomically: a reader never
sees half a folder)

``config.json``
    ``format_version`` (:data:`FORMAT_VERSION`), ``kind`` (``"text"`` or ``"fused"``,
    :data:`KINDS`), what was trained and how (model, hyper-parameters, selection
    metric, data used) and library versions.
``genres.json``
    The genre order of the model's outputs.
``thresholds.json``
    ``{"threshold_by", "score_kind", "thresholds": {genre: value}}``, chosen on
    validation data; ``"inf"`` means the genre is never predicted, ``"-inf"`` always.
``metrics.json``
    Test metrics beside the trivial benchmarks (see
    :func:`genre.evaluation.evaluate.score_on_test`). Per genre, ``threshold`` is a
    number, or ``null`` when the genre is predicted on every movie or on none
    (``predicted``: ``"always"`` / ``"never"``; see
    :func:`genre.evaluation.metrics.multilabel_report`).
the model file
    ``model.joblib`` (text: the fitted classifier, pickled; **only load folders you
    trust**, unpickling can run arbitrary code) or ``model.keras`` (fused: the
    network). A text folder also has ``search.json`` (the validation metrics of every
    grid point).

Format versions: 2 added ``kind`` and moved the text classifier to
:mod:`genre.text.classifier`. Fused folders of version 1 are still read (their kind is
inferred from ``"model": "fusion"`` or ``"mlp"``); text folders of version 1 pickled a
class of a module that no longer exists and must be retrained.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from genre.data.labels import GenreVocabulary
from genre.evaluation.metrics import json_float
from recsys.errors import InvalidParameterError, ModelDirError
from recsys.fileio import atomic_directory, readable_dir, write_json_atomic

__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "MARKER",
    "ModelFolder",
    "check_k",
    "model_kind",
    "read_config",
    "read_model_folder",
    "top_k_genres",
    "write_model_folder",
]

FORMAT_VERSION = 2
Kind = Literal["text", "fused", "poster"]
#: The kinds of genre model a folder can hold (``config.json``'s ``kind``).
KINDS: tuple[Kind, ...] = ("text", "fused", "poster")
#: The files that mark a directory as a genre model folder (text or fused) that may be
#: replaced by a new model; a folder without them is never overwritten.
MARKER = ("config.json", "genres.json", "thresholds.json")
COMMON_FILES = ("genres.json", "thresholds.json", "config.json", "metrics.json")
MODEL_FILES: dict[Kind, str] = {
    "text": "model.joblib",
    "fused": "model.keras",
    "poster": "model.keras",
}
#: ``config.json`` ``model`` values of fused folders written before ``kind`` existed.
FUSED_MODELS = ("fusion", "mlp")


@dataclass(frozen=True, eq=False)
class ModelFolder:
    """What :func:`read_model_folder` read.

    Attributes
    ----------
    vocabulary : the genre order of the outputs.
    thresholds : ndarray of shape (n_genres,).
    threshold_by : the metric the thresholds maximised on validation (or ``None``).
    config : the contents of ``config.json``.
    metrics : the contents of ``metrics.json``.
    model : what the model-file reader returned.
    path : the folder.
    """

    vocabulary: GenreVocabulary
    thresholds: NDArray[np.float64]
    threshold_by: str | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    model: Any  # a fitted classifier or a Keras network, by kind
    path: Path


def check_k(k: int, n_genres: int) -> None:
    """Refuse a ``k`` outside ``1 .. n_genres`` (before any scoring or printing).

    Raises
    ------
    InvalidParameterError
        If ``k`` is not between 1 and the number of genres (``parameter="k"``).

    >>> check_k(3, 2)
    Traceback (most recent call last):
    ...
    recsys.errors.InvalidParameterError: k=3 must be between 1 and 2 (the model's genres).
    """
    if not 1 <= k <= n_genres:
        raise InvalidParameterError(
            "k", f"k={k} must be between 1 and {n_genres} (the model's genres)."
        )


def top_k_genres(
    scores: NDArray[np.float64],
    genres: Sequence[str],
    thresholds: NDArray[np.float64],
    k: int,
) -> list[list[tuple[str, float, bool]]]:
    """For each row of ``scores`` (n, n_genres), the ``k`` best ``(genre, score, above)``.

    ``above`` says whether the score reaches the genre's threshold. Ties keep genre order.

    Examples
    --------
    >>> top_k_genres(np.array([[0.2, 0.9]]), ["Drama", "War"], np.array([0.5, 0.5]), 1)
    [[('War', 0.9, True)]]
    """
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [
        [(genres[j], float(row[j]), bool(row[j] >= thresholds[j])) for j in idx]
        for row, idx in zip(scores, order, strict=True)
    ]


def write_model_folder(
    out: str | os.PathLike[str],
    *,
    kind: Kind,
    write_model_file: Callable[[Path], None],
    genres: Sequence[str],
    thresholds: NDArray[np.float64],
    threshold_by: str | None,
    score_kind: str,
    config: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a model folder (see the module docstring) atomically; return its path.

    ``write_model_file(tmp)`` writes the model file into the temporary folder; ``extra``
    maps more JSON file names to their contents.

    Raises
    ------
    DataError
        If ``out`` is a non-empty directory that is not a genre model directory
        (:data:`MARKER`), or the current directory.
    """
    target = Path(out).expanduser()
    vocabulary = GenreVocabulary(genres)
    full_config = {"format_version": FORMAT_VERSION, "kind": kind, **config}
    with atomic_directory(target, marker=MARKER, what="genre model") as tmp:
        write_model_file(tmp)
        vocabulary.to_json(tmp / "genres.json")
        write_json_atomic(
            tmp / "thresholds.json",
            {
                "threshold_by": threshold_by,
                "score_kind": score_kind,
                "thresholds": {
                    g: json_float(t) for g, t in zip(vocabulary.genres, thresholds, strict=True)
                },
            },
        )
        write_json_atomic(tmp / "config.json", full_config)
        write_json_atomic(tmp / "metrics.json", metrics or {})
        for name, payload in (extra or {}).items():
            write_json_atomic(tmp / name, payload)
    return target


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a model folder.

    Raises
    ------
    ModelDirError
        If ``path`` is not a genre model directory or its ``config.json`` is damaged.
    """
    root = readable_dir(path)
    file = root / "config.json"
    if not file.is_file():
        raise ModelDirError(
            f"{str(root)!r} is not a genre model directory (no config.json).", parameter="path"
        )
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelDirError(f"{str(file)!r} is damaged ({error}); retrain the model.") from None
    if not isinstance(config, dict):
        raise ModelDirError(f"{str(file)!r} is not a JSON object; retrain the model.")
    return config


def model_kind(path: str | os.PathLike[str]) -> Kind | None:
    """The kind of genre model a folder holds (``"text"`` or ``"fused"``), or ``None``.

    ``None`` when ``path`` is not a genre model directory (e.g. a rating-model folder that
    also has a ``model.keras``). A fused folder whose ``config.json`` is damaged still
    counts as fused, so that loading it reports the damage.
    """
    root = readable_dir(path)
    if not all((root / name).is_file() for name in COMMON_FILES):
        return None
    try:
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "fused" if (root / MODEL_FILES["fused"]).is_file() else None
    if not isinstance(config, dict):
        return None
    kind = config.get("kind")
    if kind in KINDS:
        return kind
    if config.get("model") in FUSED_MODELS:  # format version 1
        return "fused" if (root / MODEL_FILES["fused"]).is_file() else None
    return "text" if (root / MODEL_FILES["text"]).is_file() else None


def read_model_folder(
    path: str | os.PathLike[str],
    *,
    kind: Kind,
    load_model_file: Callable[[Path], Any],
) -> ModelFolder:
    """Check a model folder of ``kind`` and read its common files and its model file.

    The thresholds table is checked against the genre order.

    Raises
    ------
    ModelDirError
        Missing folder or files, a folder of another kind, damaged files, thresholds
        for other genres.
    """
    root = readable_dir(path)
    what = f"{kind} genre model"
    if not root.is_dir():
        raise ModelDirError(f"{str(root)!r} is not a genre model directory.", parameter="path")
    files = (MODEL_FILES[kind], *COMMON_FILES)
    missing = [n for n in files if not (root / n).is_file()]
    if missing:
        found = model_kind(root)
        other = f" (it holds a {found} genre model)" if found and found != kind else ""
        raise ModelDirError(
            f"{str(root)!r} is not a {what} directory (missing {', '.join(missing)}){other}.",
            parameter="path",
        )
    config = read_config(root)
    version = config.get("format_version", 1)
    if kind == "text" and version == 1:
        raise ModelDirError(
            f"{str(root)!r} is a text genre model of format version 1, which this version "
            f"cannot read (format version {FORMAT_VERSION}); retrain the model."
        )
    found = model_kind(root)
    if found != kind:
        raise ModelDirError(
            f"{str(root)!r} holds a {found or 'unknown kind of'} genre model, not a {what}.",
            parameter="path",
        )
    try:
        vocabulary = GenreVocabulary.from_json(root / "genres.json")
        saved = json.loads((root / "thresholds.json").read_text(encoding="utf-8"))
        metrics = json.loads((root / "metrics.json").read_text(encoding="utf-8"))
        model = load_model_file(root / MODEL_FILES[kind])
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
    thresholds = np.array([float(v) for v in table.values()], dtype=float)
    return ModelFolder(
        vocabulary,
        thresholds,
        saved.get("threshold_by"),
        config,
        metrics if isinstance(metrics, dict) else {},
        model,
        root,
    )
