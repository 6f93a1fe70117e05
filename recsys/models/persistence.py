"""Saving and loading a fitted :class:`~recsys.models.rating_model.RatingModel`: the
public functions.

The model saves and loads itself (:meth:`RatingModel.save`, :meth:`RatingModel.load`);
the folder format (what each file holds, the checks on reading) is
:mod:`recsys.models.model_dir`. These functions delegate to them, and
:func:`load_scorer`, :func:`load_titles` and :func:`load_ids` read only what a query needs, without
pandas or Keras: importing this module imports neither (nor the estimator).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.models.model_dir import FORMAT, KIND, MARKER, load_ids, load_scorer, load_titles

if TYPE_CHECKING:
    from recsys.models.rating_model import RatingModel

__all__ = [
    "FORMAT",
    "KIND",
    "MARKER",
    "load_ids",
    "load_model",
    "load_scorer",
    "load_titles",
    "save_model",
]


def save_model(
    model: RatingModel,
    directory: str | os.PathLike[str],
    extra_files: dict[str, Any] | None = None,
) -> Path:
    """``model.save(directory, extra_files=extra_files)``: write a fitted model to
    ``directory`` atomically, with ``extra_files`` (names to JSON data) beside it.

    Raises
    ------
    NotFittedError
        If ``model`` is not fitted.
    DataError
        If ``directory`` cannot be written, or is a non-empty directory that is not a
        model directory (see :func:`recsys.fileio.check_replaceable`).
    """
    return model.save(directory, extra_files=extra_files)


def load_model(directory: str | os.PathLike[str]) -> RatingModel:
    """``RatingModel.load(directory)``: the model saved in ``directory``.

    Raises
    ------
    ModelDirError
        Missing directory or files, a foreign or newer format, damaged files.
    """
    from recsys.models.rating_model import RatingModel

    return RatingModel.load(directory)
