"""Plots of a movie analysis (matplotlib, no pyplot state): factor maps, variance, biases.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`png_bytes` renders
one to PNG without the metadata that would make two renderings differ.

Titles on scatter plots are placed greedily without overlap: candidates alternate
between the movies most extreme along the axes (they show what the axes mean) and the
most-rated movies (readers recognise them), and a label is kept only if its box, in
pixels, overlaps no label already placed and stays inside the axes. The choice is
deterministic.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from numpy.typing import ArrayLike

from recsys.errors import DataError

__all__ = [
    "place_labels",
    "plot_bias_distribution",
    "plot_bias_vs_mean",
    "plot_components",
    "plot_explained_variance",
    "png_bytes",
    "short_title",
]

_ARTICLES = ("The", "A", "An", "Les", "La", "Le", "Il", "El", "Das", "Der", "Die")
_YEAR = re.compile(r"\s*\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$")
_PAREN = re.compile(r"\s*\([^()]*\)")


def short_title(title: str, limit: int = 36) -> str:
    """A label-sized title: alternative titles dropped, the article moved to the front.

    >>> short_title("Seven (a.k.a. Se7en) (1995)")
    'Seven (1995)'
    >>> short_title("Godfather, The (1972)")
    'The Godfather (1972)'
    """
    match = _YEAR.search(title)
    year = f" ({match.group(1)})" if match else ""
    name = title[: match.start()] if match else title
    name = _PAREN.sub("", name).strip() or name.strip()
    for article in _ARTICLES:
        suffix = f", {article}"
        if name.endswith(suffix):
            name = f"{article} {name[: -len(suffix)]}"
            break
    room = max(4, limit - len(year))
    if len(name) > room:
        cut = name[: room - 1]
        space = cut.rfind(" ")
        if space >= len(cut) - 10 and space > 0:  # end on a whole word when it is close
            cut = cut[:space]
        name = cut.rstrip(" -:,") + "\u2026"
    return name + year


def png_bytes(figure: Figure, dpi: int = 100) -> bytes:
    """Render ``figure`` as PNG bytes, identical for identical figures (no metadata)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _canvas(width: float, height: float) -> tuple[Figure, FigureCanvasAgg]:
    figure = Figure(figsize=(width, height), dpi=100)
    return figure, FigureCanvasAgg(figure)


def _candidates(x: np.ndarray, y: np.ndarray, popularity: np.ndarray | None) -> list[int]:
    """Label candidates: most extreme along the axes, alternating with the most popular."""
    sx = (x - np.median(x)) / (np.std(x) or 1.0)
    sy = (y - np.median(y)) / (np.std(y) or 1.0)
    index = np.arange(len(x))
    by_axis = [
        np.lexsort((index, -sx)),
        np.lexsort((index, sx)),
        np.lexsort((index, -sy)),
        np.lexsort((index, sy)),
    ]
    extreme = [int(order[i]) for i in range(len(x)) for order in by_axis]
    radial = np.lexsort((index, -np.hypot(sx, sy)))
    lists = [extreme, [int(i) for i in radial]]
    if popularity is not None:
        lists.insert(1, [int(i) for i in np.lexsort((index, -popularity))])
    order, seen = [], set()
    for position in range(len(x)):
        for candidates in lists:
            item = candidates[position] if position < len(candidates) else None
            if item is not None and item not in seen:
                seen.add(item)
                order.append(item)
    return order


def place_labels(
    axes: Axes,
    x: Sequence[float],
    y: Sequence[float],
    texts: Sequence[str],
    order: Sequence[int],
    max_labels: int = 30,
    fontsize: float = 8.0,
    pad: float = 2.0,
) -> list[int]:
    """Write ``texts[i]`` next to point ``i`` for the first ``max_labels`` of ``order``
    whose boxes do not overlap; returns the indices labelled.

    The axes limits and the figure layout must be final before calling (the boxes are
    measured in pixels). Each label goes to the right of its point, or to the left if
    that does not fit.
    """
    figure = axes.get_figure(root=True)
    if figure is None:
        raise ValueError("the axes belong to no figure; add them to one before labelling.")
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()
    frame = axes.get_window_extent(renderer)
    placed: list[Bbox] = []
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= max_labels:
            break
        for side, offset in (("left", 4), ("right", -4)):
            label = axes.annotate(
                texts[i],
                (x[i], y[i]),
                xytext=(offset, 1),
                textcoords="offset points",
                ha=side,
                va="bottom",
                fontsize=fontsize,
                color="#111111",
                zorder=4,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "alpha": 0.75, "ec": "none"},
            )
            box = label.get_window_extent(renderer)
            box = Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
            inside = (
                box.x0 >= frame.x0
                and box.x1 <= frame.x1
                and box.y0 >= frame.y0
                and box.y1 <= frame.y1
            )
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                chosen.append(int(i))
                break
            label.remove()
    return chosen


def _padded_limits(axes: Axes, x: np.ndarray, y: np.ndarray, margin: float = 0.06) -> None:
    for values, setter in ((x, axes.set_xlim), (y, axes.set_ylim)):
        low, high = float(np.min(values)), float(np.max(values))
        span = (high - low) or 1.0
        setter(low - margin * span, high + margin * span)


def plot_components(
    movies: pd.DataFrame,
    first: int = 1,
    second: int = 2,
    *,
    ends: Sequence[tuple[str, str]] | None = None,
    variance: Sequence[float] | None = None,
    max_labels: int = 30,
) -> Figure:
    """Scatter of two principal components with a readable subset of titles.

    Parameters
    ----------
    movies : analysed movies with ``title, mean_rating, n_ratings`` and ``pc{first}``,
        ``pc{second}`` columns (``MovieAnalysis.movies``).
    first, second : 1-based components on the x and y axes.
    ends : ``(top label, bottom label)`` of all components (index 0 = component 1), e.g.
        from ``ComponentContrast.top.label``, written at the ends of the axes.
    variance : explained-variance ratios of all components, for the axes.
    max_labels : at most this many titles.

    Returns
    -------
    Figure (points coloured by mean training rating).

    Raises
    ------
    DataError
        If a component column is missing or ``first == second``.
    """
    columns = [f"pc{first}", f"pc{second}"]
    missing = [c for c in columns if c not in movies.columns]
    if missing or first == second:
        raise DataError(
            f"cannot plot components {first} and {second}: choose two different "
            "components among those analysed."
        )
    x = movies[columns[0]].to_numpy(dtype=np.float64)
    y = movies[columns[1]].to_numpy(dtype=np.float64)
    figure, _ = _canvas(12, 9)
    figure.subplots_adjust(left=0.08, right=0.9, bottom=0.09, top=0.94)
    axes = figure.add_subplot(1, 1, 1)
    colour = axes.scatter(
        x,
        y,
        c=movies["mean_rating"].to_numpy(dtype=np.float64),
        s=9,
        cmap="viridis",
        alpha=0.55,
        linewidths=0,
        zorder=2,
    )
    bar_axes = figure.add_axes((0.915, 0.09, 0.015, 0.85))
    figure.colorbar(colour, cax=bar_axes, label="mean training rating")
    axes.axhline(0, color="#bbbbbb", lw=0.6, zorder=1)
    axes.axvline(0, color="#bbbbbb", lw=0.6, zorder=1)
    for component, setter in ((first, axes.set_xlabel), (second, axes.set_ylabel)):
        text = f"PC{component}"
        if variance is not None and component - 1 < len(variance):
            text += f" ({variance[component - 1]:.1%} of variance)"
        if ends is not None and component - 1 < len(ends):
            top, bottom = ends[component - 1]
            text += f"\nlow: {bottom}  \u2190\u2192  high: {top}"
        setter(text, fontsize=9.5)
    axes.set_title(
        f"Movie embeddings on principal components {first} and {second} "
        f"({len(movies):,} most-rated movies)",
        fontsize=12,
    )
    _padded_limits(axes, x, y)
    titles = [short_title(t) for t in movies["title"]]
    order = _candidates(x, y, movies["n_ratings"].to_numpy(dtype=np.float64))
    chosen = place_labels(axes, x, y, titles, order, max_labels=max_labels)
    axes.scatter(
        x[chosen],
        y[chosen],
        s=16,
        facecolors="none",
        edgecolors="#d62728",
        linewidths=0.9,
        zorder=3,
    )
    return figure


def plot_explained_variance(ratios: ArrayLike, n_analysed: int) -> Figure:
    """Bars of the explained-variance ratio per component, the analysed ones highlighted,
    with the cumulative share as a line."""
    values = np.asarray(ratios, dtype=np.float64)
    figure, _ = _canvas(8, 4.5)
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.13, top=0.88)
    axes = figure.add_subplot(1, 1, 1)
    positions = np.arange(1, len(values) + 1)
    colours = ["#1f77b4" if i < n_analysed else "#aec7e8" for i in range(len(values))]
    axes.bar(positions, values, color=colours, zorder=2)
    for position, value in zip(positions, values, strict=True):
        axes.text(float(position), value, f"{value:.1%}", ha="center", va="bottom", fontsize=8)
    axes.plot(
        positions,
        np.cumsum(values),
        color="#ff7f0e",
        marker="o",
        ms=3,
        label="cumulative",
        zorder=3,
    )
    axes.set_xticks(positions, [f"PC{p}" for p in positions])
    axes.set_ylim(0, min(1.0, float(np.cumsum(values)[-1]) * 1.12 + 0.02))
    axes.set_ylabel("share of embedding variance")
    axes.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    axes.grid(axis="y", color="#eeeeee", zorder=0)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    axes.set_title(
        f"Explained variance per principal component (dark: the {n_analysed} analysed)", fontsize=11
    )
    return figure


def plot_bias_distribution(movies: pd.DataFrame) -> Figure:
    """Histogram of the movie biases of the analysed movies."""
    bias = movies["bias"].dropna().to_numpy(dtype=np.float64)
    if len(bias) == 0:
        raise DataError("no movie biases to plot: this model kind has none.")
    figure, _ = _canvas(8, 4.5)
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.13, top=0.88)
    axes = figure.add_subplot(1, 1, 1)
    axes.hist(bias, bins=40, color="#1f77b4", alpha=0.85, zorder=2)
    axes.axvline(0, color="#444444", lw=0.8, ls="--")
    axes.axvline(
        float(np.median(bias)), color="#ff7f0e", lw=1.2, label=f"median {np.median(bias):+.3f}"
    )
    axes.set_xlabel("movie bias (rating points added to every prediction)")
    axes.set_ylabel("movies")
    axes.legend(fontsize=8, frameon=False)
    axes.grid(axis="y", color="#eeeeee", zorder=0)
    axes.set_title(
        f"Movie bias of the {len(bias):,} analysed movies "
        f"(std {np.std(bias, ddof=1) if len(bias) > 1 else 0:.3f})",
        fontsize=11,
    )
    return figure


def plot_bias_vs_mean(
    movies: pd.DataFrame, spearman: float | None = None, *, max_labels: int = 14
) -> Figure:
    """Bias against raw mean training rating, coloured by number of ratings.

    The labelled titles are those whose bias departs most from a straight-line fit on
    the mean rating: movies the model rates up or down relative to their raw average
    (their raters are strict or generous, or few ratings shrink the bias to zero).
    """
    rows = movies[movies["bias"].notna()]
    if len(rows) == 0:
        raise DataError("no movie biases to plot: this model kind has none.")
    x = rows["mean_rating"].to_numpy(dtype=np.float64)
    y = rows["bias"].to_numpy(dtype=np.float64)
    counts = rows["n_ratings"].to_numpy(dtype=np.float64)
    figure, _ = _canvas(10, 7)
    figure.subplots_adjust(left=0.09, right=0.88, bottom=0.09, top=0.92)
    axes = figure.add_subplot(1, 1, 1)
    colour = axes.scatter(
        x, y, c=np.log10(counts), s=10, cmap="plasma", alpha=0.6, linewidths=0, zorder=2
    )
    bar_axes = figure.add_axes((0.895, 0.09, 0.015, 0.83))
    bar = figure.colorbar(colour, cax=bar_axes)
    bar.set_label("training ratings (log10)")
    axes.axhline(0, color="#bbbbbb", lw=0.6, zorder=1)
    if len(rows) > 1 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        grid = np.linspace(x.min(), x.max(), 2)
        axes.plot(
            grid,
            slope * grid + intercept,
            color="#444444",
            lw=0.8,
            ls="--",
            label="least-squares line",
            zorder=3,
        )
        residual = y - (slope * x + intercept)
        index = np.arange(len(x))
        order = [
            int(i)
            for pair in zip(
                np.lexsort((index, -residual)), np.lexsort((index, residual)), strict=True
            )
            for i in pair
        ]
        axes.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        order = list(range(len(x)))
    axes.set_xlabel("mean training rating")
    axes.set_ylabel("movie bias")
    rho = "" if spearman is None or np.isnan(spearman) else f", Spearman \u03c1 = {spearman:.3f}"
    axes.set_title(f"Movie bias vs raw mean rating ({len(rows):,} movies{rho})", fontsize=11)
    _padded_limits(axes, x, y)
    titles = [short_title(t) for t in rows["title"]]
    chosen = place_labels(axes, x, y, titles, order, max_labels=max_labels)
    axes.scatter(
        x[chosen],
        y[chosen],
        s=16,
        facecolors="none",
        edgecolors="#d62728",
        linewidths=0.9,
        zorder=3,
    )
    return figure
