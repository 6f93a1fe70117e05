"""Write a movie analysis to a report directory, atomically.

The directory holds ``movies.csv``, ``crosstab.csv``, ``analysis.json`` (the document
``recsys analyze --json`` prints), the PNG plots and ``report.html`` (one page, images
embedded). It is built in a temporary sibling and swapped in whole, so a failure leaves
no half-written report; the same analysis always gives byte-identical files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from recsys.analysis.html import render_html
from recsys.analysis.movie_analysis import MovieAnalysis
from recsys.errors import DataError
from recsys.fileio import atomic_directory, check_writable_dir

__all__ = [
    "REPORT_MARKER",
    "check_report_dir",
    "check_scatter_pairs",
    "default_scatter_pairs",
    "write_report",
]

#: The file whose presence marks a directory as a report this module may replace.
REPORT_MARKER = "report.html"


def default_scatter_pairs(n_components: int) -> list[tuple[int, int]]:
    """Components 1-2 and, when there are three, 1-3 (as in the course notebook)."""
    return [pair for pair in ((1, 2), (1, 3)) if pair[1] <= n_components]


def check_scatter_pairs(pairs: Sequence[tuple[int, int]], n_components: int) -> None:
    """Raise :class:`DataError` unless every pair names two different analysed components."""
    for first, second in pairs:
        if first == second or not (1 <= first <= n_components and 1 <= second <= n_components):
            raise DataError(
                f"cannot plot components {first},{second}: give two different "
                f"components from 1 to {n_components}, e.g. 1,2."
            )


def check_report_dir(
    path: str | os.PathLike[str], *, inputs: Sequence[str | os.PathLike[str]] = ()
) -> Path:
    """Check that ``path`` can receive a report: writable, and not some other directory.

    An existing non-empty directory is replaced only if it is a previous report (it has
    ``report.html``), so a mistyped path never wipes a model or a dataset; nor is
    the current directory, or a directory holding one of ``inputs`` (the model).

    Raises
    ------
    DataError
        If the location is not writable, is a file, or is a non-empty directory that is
        not a report (see :func:`recsys.fileio.check_writable_dir`).
    """
    return check_writable_dir(
        path, what="report", marker=REPORT_MARKER, inputs=inputs, parameter="directory"
    )


def write_report(
    analysis: MovieAnalysis,
    directory: str | os.PathLike[str],
    *,
    scatter_pairs: Sequence[tuple[int, int]] | None = None,
    max_labels: int = 30,
) -> Path:
    """Write the report files of ``analysis`` to ``directory`` (created or replaced whole).

    Parameters
    ----------
    analysis : from :func:`~recsys.analysis.movie_analysis.analyze_model`.
    directory : the report directory.
    scatter_pairs : components to plot against each other, 1-based; default
        :func:`default_scatter_pairs`.
    max_labels : titles written on each scatter plot.

    Returns
    -------
    Path of the report directory.

    Raises
    ------
    DataError
        If the directory cannot receive a report or a scatter pair is invalid.

    Examples
    --------
    >>> import tempfile
    >>> from recsys.analysis import analyze_model
    >>> from recsys.data import load_dataset
    >>> from recsys.models.rating_model import RatingModel
    >>> data = load_dataset()
    >>> ratings = data.ratings[data.ratings.user_id <= 100]  # a small, quick model
    >>> model = RatingModel("bias", factors=4, epochs=1).fit(ratings, movies=data.movies)
    >>> folder = write_report(analyze_model(model, top_movies=300, n_components=2),
    ...                       Path(tempfile.mkdtemp()) / "bias")
    >>> sorted(p.name for p in folder.glob("*.html"))
    ['report.html']
    """
    import recsys.analysis.plots as plots

    k = analysis.pca.n_components
    pairs = default_scatter_pairs(k) if scatter_pairs is None else list(scatter_pairs)
    check_scatter_pairs(pairs, k)
    target = check_report_dir(directory)

    ends = [(c.contrast.top.label, c.contrast.bottom.label) for c in analysis.components]
    images: dict[str, bytes] = {
        "explained_variance.png": plots.png_bytes(
            plots.plot_explained_variance(analysis.variance_ratios, k)
        ),
    }
    if analysis.bias_stats is not None:
        images["bias_distribution.png"] = plots.png_bytes(
            plots.plot_bias_distribution(analysis.movies)
        )
        images["bias_vs_mean.png"] = plots.png_bytes(
            plots.plot_bias_vs_mean(analysis.movies, analysis.bias_stats["spearman_mean_rating"])
        )
    scatter_files = []
    for first, second in pairs:
        name = f"pc{first}_pc{second}.png"
        if name not in images:
            images[name] = plots.png_bytes(
                plots.plot_components(
                    analysis.movies,
                    first,
                    second,
                    ends=ends,
                    variance=list(analysis.pca.explained_variance_ratio_),
                    max_labels=max_labels,
                )
            )
            scatter_files.append(name)

    files = ["movies.csv", "crosstab.csv", "analysis.json", *sorted(images)]
    page = render_html(analysis, images, scatter_files, files)
    with atomic_directory(target, marker=REPORT_MARKER, what="report") as tmp:
        analysis.movies_frame().to_csv(
            tmp / "movies.csv", index=False, float_format="%.6g", lineterminator="\n"
        )
        analysis.crosstab.to_csv(tmp / "crosstab.csv", float_format="%g", lineterminator="\n")
        (tmp / "analysis.json").write_text(
            json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        for name, data in images.items():
            (tmp / name).write_bytes(data)
        (tmp / REPORT_MARKER).write_text(page, encoding="utf-8")
    return target
