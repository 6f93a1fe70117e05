"""Analyse a saved rating model and write its report next to it."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from recsys.analysis.movie_analysis import MovieAnalysis

__all__ = ["analysis_defaults", "analyze_saved_model", "default_report_dir", "prepare_report_dir"]


def analysis_defaults() -> dict[str, Any]:
    """The defaults of the analysis: ``top_movies``, ``n_components`` and ``n`` of
    :func:`~recsys.analysis.analyze_model`, ``max_labels`` of
    :func:`~recsys.analysis.write_report` (read from their signatures).

    Examples
    --------
    >>> sorted(analysis_defaults())
    ['max_labels', 'n', 'n_components', 'top_movies']
    """
    from recsys.analysis.movie_analysis import analyze_model
    from recsys.analysis.report import write_report

    analyze = inspect.signature(analyze_model).parameters
    report = inspect.signature(write_report).parameters
    return {
        "top_movies": analyze["top_movies"].default,
        "n_components": analyze["n_components"].default,
        "n": analyze["n"].default,
        "max_labels": report["max_labels"].default,
    }


def default_report_dir(model_dir: str | os.PathLike[str]) -> Path:
    """``<model folder>-analysis`` beside the model folder.

    Examples
    --------
    >>> default_report_dir("runs/ml-latest-small-bias").as_posix()
    'runs/ml-latest-small-bias-analysis'
    """
    folder = Path(model_dir).expanduser()
    return folder.parent / f"{folder.name}-analysis"


def prepare_report_dir(
    model_dir: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None
) -> Path:
    """Check, before any work, that the report of ``model_dir`` can go to ``directory``
    (default :func:`default_report_dir`): writable, and new, empty or a previous report,
    never the model folder or one holding it.

    Raises
    ------
    DataError
        If it cannot (``parameter="directory"``).
    """
    from recsys.analysis.report import check_report_dir

    target = directory if directory is not None else default_report_dir(model_dir)
    return check_report_dir(target, inputs=[Path(model_dir).expanduser()])


def analyze_saved_model(
    model_dir: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    top_movies: int | None = None,
    n_components: int | None = None,
    n: int | None = None,
    scatter_pairs: Sequence[tuple[int, int]] | None = None,
    max_labels: int | None = None,
) -> MovieAnalysis:
    """Load the model saved in ``model_dir`` on the active Keras backend, analyse it and
    write the report to ``directory``.

    Parameters
    ----------
    model_dir : a model folder (see :func:`recsys.models.persistence.save_model`).
    directory : the report folder (see :func:`prepare_report_dir`).
    top_movies, n_components, n : see :func:`~recsys.analysis.analyze_model`; ``None``
        keeps its default.
    scatter_pairs, max_labels : see :func:`~recsys.analysis.write_report`; ``None``
        keeps its default.

    Returns
    -------
    MovieAnalysis
        The analysis; its ``notes`` say what was clamped.
    """
    from recsys.backend import import_keras

    import_keras()
    from recsys.analysis.movie_analysis import analyze_model
    from recsys.analysis.report import write_report
    from recsys.models.rating_model import RatingModel

    model = RatingModel.load(str(Path(model_dir).expanduser()))
    counts = {"top_movies": top_movies, "n_components": n_components, "n": n}
    analysis = analyze_model(model, **{k: v for k, v in counts.items() if v is not None})
    labels = {} if max_labels is None else {"max_labels": max_labels}
    write_report(analysis, directory, scatter_pairs=scatter_pairs, **labels)
    return analysis
