"""PNG figures: genre counts, co-occurrence heatmaps, decades (``genre explore``) and
ablation bars (``genre ablate``).

Figures are drawn with matplotlib's non-interactive Agg backend and written
atomically; every function returns the path it wrote.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from recsys.fileio import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ablation_chart", "bar_chart", "decade_heatmap", "heatmap"]


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return Path(path)


def heatmap(
    matrix: ArrayLike,
    labels: Sequence[str],
    path: str | os.PathLike[str],
    *,
    title: str,
    groups: Sequence[int] | None = None,
    annotate: bool = True,
) -> Path:
    """A square heatmap with genre labels; ``groups`` (cluster sizes) draws boxes.

    Parameters
    ----------
    matrix : array-like of shape (n, n).
    labels : n row/column names.
    path : PNG file to write.
    groups : sizes of consecutive blocks along the diagonal to outline.
    """
    m = np.asarray(matrix, dtype=float)
    n = len(labels)
    fig = _figure(1.2 + 0.55 * n, 0.8 + 0.5 * n)
    ax = fig.add_subplot()
    image = ax.imshow(m, cmap="viridis")
    fig.colorbar(image, ax=ax, shrink=0.8, label="movies")
    ax.set_xticks(range(n), labels, rotation=60, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_title(title)
    if annotate:
        top = m.max() if m.size else 0.0
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    f"{m[i, j]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="black" if m[i, j] > 0.6 * top else "white",
                )
    if groups:
        from matplotlib.patches import Rectangle

        start = 0
        for size in groups:
            ax.add_patch(
                Rectangle(
                    (start - 0.5, start - 0.5), size, size, fill=False, edgecolor="red", linewidth=2
                )
            )
            start += size
    return _save(fig, path)


def bar_chart(
    counts: pd.Series, path: str | os.PathLike[str], *, title: str, xlabel: str = "movies"
) -> Path:
    """A horizontal bar chart of ``counts`` (index = labels), largest on top."""
    data = counts.sort_values()
    fig = _figure(6.0, 0.8 + 0.3 * len(data))
    ax = fig.add_subplot()
    ax.barh([str(i) for i in data.index], data.to_numpy())
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    for y, value in enumerate(data.to_numpy()):
        ax.text(value, y, f" {value:g}", va="center", fontsize=7)
    return _save(fig, path)


def decade_heatmap(table: pd.DataFrame, path: str | os.PathLike[str], *, title: str) -> Path:
    """Share of each decade's movies carrying each genre (rows decades, columns genres)."""
    genres = [c for c in table.columns if c != "movies"]
    share = table[genres].div(table["movies"].where(table["movies"] > 0), axis=0).fillna(0.0)
    fig = _figure(1.5 + 0.5 * len(genres), 1.0 + 0.35 * len(share))
    ax = fig.add_subplot()
    image = ax.imshow(share.to_numpy(), cmap="magma", aspect="auto", vmin=0.0)
    fig.colorbar(image, ax=ax, label="share of the decade's movies")
    ax.set_xticks(range(len(genres)), genres, rotation=60, ha="right")
    ax.set_yticks(
        range(len(share)), [f"{d} ({n})" for d, n in zip(share.index, table["movies"], strict=True)]
    )
    ax.set_title(title)
    return _save(fig, path)


def ablation_chart(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    title: str,
    metrics: Sequence[str] = ("micro_f1", "macro_f1"),
    baseline: pd.Series | None = None,
) -> Path:
    """Grouped horizontal bars of ``metrics`` for each row (block set) of ``table``.

    Parameters
    ----------
    table : one row per block set, a ``blocks`` column and the metric columns; drawn
        top to bottom in row order.
    baseline : a row of the same metrics (e.g. the prior benchmark), drawn as dashed
        lines in each metric's colour.
    """
    labels = [str(b) for b in table["blocks"]]
    n, k = len(labels), len(metrics)
    fig = _figure(8.0, 1.4 + 0.32 * n * k)
    ax = fig.add_subplot()
    height = 0.8 / k
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for j, name in enumerate(metrics):
        ys = np.arange(n) + (j - (k - 1) / 2) * height
        values = table[name].to_numpy(dtype=float)
        ax.barh(ys, values, height=height, color=colours[j % 4], label=name)
        for y, value in zip(ys, values, strict=True):
            ax.text(value, y, f" {value:.3f}", va="center", fontsize=7)
        if baseline is not None:
            ax.axvline(
                float(baseline[name]),
                color=colours[j % 4],
                linestyle="--",
                linewidth=1,
                label=f"{name} of the prior benchmark",
            )
    ax.set_yticks(range(n), labels)
    ax.invert_yaxis()
    top = float(np.nanmax(table[list(metrics)].to_numpy(dtype=float)))
    ax.set_xlim(0, min(1.0, top * 1.18 + 0.02))
    ax.set_xlabel("test score")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, fontsize=7, frameon=False)
    return _save(fig, path)
