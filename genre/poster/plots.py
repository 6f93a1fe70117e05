"""Figures of a trained poster CNN: learning curves and a grid of test posters.

Both are drawn with matplotlib (Agg backend, no display needed) and written as PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from genre.poster.model import PosterEpoch

__all__ = ["plot_learning_curves", "plot_poster_grid"]


def plot_learning_curves(history: Sequence[PosterEpoch], path: str | os.PathLike[str]) -> Path:
    """Loss and micro-F1 (at 0.5) per epoch, training vs validation, to a PNG file.

    The start of fine-tuning (vgg16) is marked with a dotted line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h.epoch for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, title in ((axes[0], "loss", "loss"), (axes[1], "micro_f1", "micro-F1 (0.5)")):
        ax.plot(epochs, [getattr(h, key) for h in history], marker="o", ms=3, label="training")
        ax.plot(
            epochs, [getattr(h, f"val_{key}") for h in history], marker="o", ms=3,
            label="validation",
        )  # fmt: skip
        tuned = [h.epoch for h in history if h.phase == "fine_tune"]
        if tuned:
            ax.axvline(tuned[0] - 0.5, color="grey", ls=":", label="fine-tuning")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def plot_poster_grid(
    images: NDArray[np.uint8],
    scores: NDArray[np.float64],
    thresholds: NDArray[np.float64],
    genres: Sequence[str],
    path: str | os.PathLike[str],
    *,
    titles: Sequence[str] | None = None,
    truth: NDArray[np.uint8] | None = None,
    columns: int = 4,
) -> Path:
    """A grid of posters (n, size, size, 3) with their top-3 genres and scores.

    A genre above its threshold is marked ``*``; a true genre (``truth``) is shown in
    green, a wrong one in red.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.9 * rows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(np.asarray(images[k]))
        order = np.argsort(-scores[k], kind="stable")[:3]
        lines = []
        for j in order:
            mark = "*" if scores[k, j] >= thresholds[j] else " "
            lines.append(f"{mark}{genres[j]} {scores[k, j]:.2f}")
        label = "\n".join(lines)
        title = titles[k] if titles is not None else ""
        colour = "black"
        if truth is not None:
            colour = "green" if truth[k, order[0]] else "red"
        ax.set_title(f"{title}\n{label}" if title else label, fontsize=8, color=colour)
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target, dpi=80)
    plt.close(fig)
    return target
