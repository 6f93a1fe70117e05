"""The policies the ``genre`` commands, the benchmarks and the notebooks share.

- :func:`plan_training`: which kind of model a model name is (text or fused), what its
  ``features`` mean (a vectorizer or a feature-store folder), which options apply, and
  the hyper-parameter grid of a text model;
- :func:`training_record`: what a saved model records about the data it learned from;
- :func:`load_genre_model`: read any genre model folder as the class that saved it;
- :func:`find_movie`: a movie of a labelled set, by id.

Nothing here parses arguments or prints; the command line (:mod:`genre.cli`) does both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from genre.model_dir import COMMON_FILES, model_kind
from recsys.errors import InvalidParameterError, ModelDirError, UnknownIdError

if TYPE_CHECKING:
    import pandas as pd

    from genre.data.dataset import LabelledSet
    from genre.fusion.model import FusionClassifier
    from genre.poster.model import PosterCNNClassifier
    from genre.text.classifier import GenreTextClassifier

__all__ = [
    "FEATURE_MODELS",
    "TEXT_MODELS",
    "TrainingPlan",
    "find_movie",
    "load_genre_model",
    "plan_training",
    "training_record",
]

TEXT_MODELS = ("nb", "svm", "logreg")
FEATURE_MODELS = ("fusion", "mlp")
VECTORIZERS = ("tfidf", "bow")


@dataclass(frozen=True)
class TrainingPlan:
    """What :func:`plan_training` decided.

    Attributes
    ----------
    model : the model name (``nb``, ``svm``, ``logreg``, ``fusion`` or ``mlp``).
    kind : ``"text"`` or ``"fused"``.
    features : the vectorizer (``"tfidf"`` or ``"bow"``) of a text model, or the
        feature-store folder of a fused one.
    grid : the hyper-parameter grid of a text model (empty for a fused one).
    """

    model: str
    kind: Literal["text", "fused"]
    features: str
    grid: dict[str, list[Any]] = field(default_factory=dict)


def plan_training(
    model: str,
    *,
    features: str | os.PathLike[str] | None = None,
    blocks: str | Sequence[str] | None = None,
    C: Sequence[float] | None = None,
    alpha: Sequence[float] | None = None,
    min_df: Sequence[float] | None = None,
    ngram_max: Sequence[int] | None = None,
) -> TrainingPlan:
    """Check that the options fit ``model`` and resolve what ``features`` means.

    Parameters
    ----------
    model : a text model (:data:`TEXT_MODELS`) or a feature model (:data:`FEATURE_MODELS`).
    features : text models: ``"tfidf"`` (default) or ``"bow"``; feature models: the
        feature-store folder (required).
    blocks : feature models only.
    C, alpha, min_df, ngram_max : text models only: the values to search in place of
        the default grid (:func:`genre.text.tuning.default_grid`); ``C`` applies to
        ``svm`` and ``logreg``, ``alpha`` to ``nb``. ``min_df`` values of 1 or more
        are counts (whole numbers), below 1 fractions.

    Raises
    ------
    InvalidParameterError
        Naming the option that does not fit the model.

    Examples
    --------
    >>> plan_training("nb", alpha=[0.5]).grid
    {'min_df': [2, 5], 'ngram_max': [1, 2], 'alpha': [0.5]}
    >>> plan_training("fusion", features="store").features
    'store'
    >>> plan_training("fusion", features="tfidf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.InvalidParameterError: model 'fusion' needs a feature-store folder...
    """
    if model in FEATURE_MODELS:
        if features is None or str(features) in VECTORIZERS:
            raise InvalidParameterError(
                "features",
                f"model {model!r} needs a feature-store folder as features, received "
                f"{str(features) if features is not None else 'none'!r}.",
            )
        for name, value in (
            ("C", C),
            ("alpha", alpha),
            ("min_df", min_df),
            ("ngram_max", ngram_max),
        ):
            if value is not None:
                raise InvalidParameterError(
                    name, f"{name} applies to the text models, not to model {model!r}."
                )
        return TrainingPlan(model, "fused", str(features))
    if model not in TEXT_MODELS:
        raise InvalidParameterError(
            "model",
            f"unknown model {model!r}; expected one of {', '.join(TEXT_MODELS + FEATURE_MODELS)}.",
        )
    vectorizer = "tfidf" if features is None else str(features)
    if vectorizer not in VECTORIZERS:
        raise InvalidParameterError(
            "features",
            f"model {model!r} is a text model: features must be tfidf or bow, received "
            f"{vectorizer!r} (a feature store is for the fusion and mlp models).",
        )
    if blocks is not None:
        raise InvalidParameterError(
            "blocks", f"blocks apply to the fusion and mlp models, not to model {model!r}."
        )
    from genre.text.tuning import default_grid

    grid = default_grid(model)
    strength, other = ("alpha", "C") if model == "nb" else ("C", "alpha")
    given = {"C": C, "alpha": alpha}
    if given[other] is not None:
        raise InvalidParameterError(
            other, f"{other} does not apply to model {model!r}; its strength is {strength}."
        )
    overrides: dict[str, list[Any] | None] = {
        strength: _positive(given[strength], strength),
        "min_df": _min_df(min_df),
        "ngram_max": _positive(ngram_max, "ngram_max"),
    }
    grid.update({k: v for k, v in overrides.items() if v is not None})
    return TrainingPlan(model, "text", vectorizer, grid)


def _positive(values: Sequence[float] | None, name: str) -> list[Any] | None:
    if values is None:
        return None
    out = list(values)
    if not out or any(not v > 0 for v in out):
        raise InvalidParameterError(
            name, f"{name} must be a non-empty list of positive numbers, received {out}."
        )
    return out


def _min_df(values: Sequence[float] | None) -> list[Any] | None:
    checked = _positive(values, "min_df")
    if checked is None:
        return None
    out: list[Any] = []
    for v in checked:
        if v >= 1 and v != int(v):
            raise InvalidParameterError(
                "min_df",
                f"min_df values are counts (integers >= 1) or fractions below 1, received {v}.",
            )
        out.append(int(v) if v >= 1 else v)
    return out


def training_record(
    data: LabelledSet,
    dataset: str | os.PathLike[str],
    *,
    features: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """What a saved genre model records about its data (added to its ``config.json``).

    ``dataset`` (and ``features``, the feature store of a fused model) as absolute
    paths, and the labelled set's label source, seed, genre filter and sources.
    """
    record: dict[str, Any] = {}
    if features is not None:
        record["features"] = str(Path(features).expanduser().resolve())
    record["dataset"] = str(Path(dataset).expanduser().resolve())
    record["dataset_manifest"] = {
        k: data.manifest.get(k) for k in ("labels", "seed", "min_genre_fraction", "sources")
    }
    return record


def load_genre_model(
    path: str | os.PathLike[str],
) -> GenreTextClassifier | FusionClassifier | PosterCNNClassifier:
    """Read a genre model folder as the class that saved it.

    A text model is read without importing Keras; a fused or poster one imports it (on
    the backend :mod:`recsys.backend` selected).

    Raises
    ------
    ModelDirError
        Not a genre model folder (``parameter="path"``), or damaged files.
    """
    kind = model_kind(path)
    if kind == "fused":
        from genre.fusion.model import FusionClassifier

        return FusionClassifier.load(path)
    if kind == "poster":
        from genre.poster.model import PosterCNNClassifier

        return PosterCNNClassifier.load(path)
    if kind is None:
        root = Path(path).expanduser()
        missing = [n for n in COMMON_FILES if not (root / n).is_file()]
        detail = f" (missing {', '.join(missing)})" if root.is_dir() and missing else ""
        raise ModelDirError(
            f"{str(root)!r} is not a genre model directory{detail}.", parameter="path"
        )
    from genre.text.classifier import GenreTextClassifier

    return GenreTextClassifier.load(path)


def find_movie(data: LabelledSet, movie_id: int, *, where: str) -> pd.DataFrame:
    """The one-row frame of movie ``movie_id`` in a labelled set (``where`` names the set).

    Raises
    ------
    UnknownIdError
        If the movie is not in the set.
    """
    rows = data.frame[data.frame["movie_id"] == movie_id]
    if rows.empty:
        raise UnknownIdError(
            f"movie {movie_id} is not in the labelled set {where}; check the id.",
            parameter="movie_id",
        )
    return rows.iloc[[0]]
