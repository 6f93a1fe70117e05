"""Plots: readable labels (no overlap, inside the axes), deterministic PNG bytes."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from recsys.analysis import plots


def _movies(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "movie_id": np.arange(n),
            "title": [f"A Rather Long Movie Title Number {i} (19{i % 90 + 10})" for i in range(n)],
            "n_ratings": rng.integers(10, 300, n),
            "mean_rating": rng.uniform(1, 5, n),
            "bias": rng.normal(0, 0.2, n),
            "pc1": rng.normal(0, 1, n),
            "pc2": rng.normal(0, 0.5, n),
        }
    )


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("Seven (a.k.a. Se7en) (1995)", "Seven (1995)"),
        ("Godfather, The (1972)", "The Godfather (1972)"),
        (
            "Nausicaä of the Valley of the Wind (Kaze no tani no Naushika) (1984)",
            "Nausicaä of the Valley of\u2026 (1984)",
        ),
        (
            "Star Wars: Episode V - The Empire Strikes Back (1980)",
            "Star Wars: Episode V - The\u2026 (1980)",
        ),
        ("movie 12", "movie 12"),
        ("Death Note: Desu nôto (2006–2007)", "Death Note: Desu nôto (2006)"),
    ],
)
def test_short_title(title: str, short: str) -> None:
    assert plots.short_title(title) == short
    assert len(plots.short_title(title)) <= 36


def _label_boxes(figure) -> tuple[list, object]:
    renderer = FigureCanvasAgg(figure).get_renderer()
    axes = figure.axes[0]
    return [t.get_window_extent(renderer) for t in axes.texts], axes.get_window_extent(renderer)


def test_scatter_labels_do_not_overlap_and_stay_inside() -> None:
    figure = plots.plot_components(
        _movies(),
        1,
        2,
        max_labels=40,
        ends=[("Drama", "Action"), ("newer", "older")],
        variance=[0.3, 0.1],
    )
    boxes, frame = _label_boxes(figure)
    assert 10 <= len(boxes) <= 40
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    assert all(
        frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1
        for b in boxes
    )
    labels = {t.get_text() for t in figure.axes[0].texts}
    movies = _movies()
    extreme = movies.loc[movies["pc1"].idxmax(), "title"]
    assert plots.short_title(extreme) in labels  # the most extreme movie is labelled
    assert "low: Action" in figure.axes[0].get_xlabel()


def test_place_labels_respects_the_limit_and_is_deterministic() -> None:
    chosen = []
    for _ in range(2):
        figure = plots.plot_components(_movies(), 1, 2, max_labels=5)
        chosen.append([t.get_text() for t in figure.axes[0].texts])
    assert len(chosen[0]) == 5 and chosen[0] == chosen[1]


def test_png_bytes_are_deterministic_and_carry_no_metadata() -> None:
    movies = _movies()
    renders = [plots.png_bytes(plots.plot_bias_vs_mean(movies, 0.5)) for _ in range(2)]
    assert renders[0] == renders[1]
    assert b"Software" not in renders[0] and b"matplotlib" not in renders[0]
    image = Image.open(io.BytesIO(renders[0]))
    assert image.format == "PNG" and image.size == (1000, 700)


def test_every_plot_renders() -> None:
    movies = _movies()
    for figure in (
        plots.plot_explained_variance([0.4, 0.2, 0.1, 0.05], 2),
        plots.plot_bias_distribution(movies),
        plots.plot_components(movies, 2, 1),
    ):
        assert plots.png_bytes(figure)[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_refuse_what_they_cannot_draw() -> None:
    movies = _movies().assign(bias=np.nan)
    with pytest.raises(ValueError, match="no movie biases"):
        plots.plot_bias_distribution(movies)
    with pytest.raises(ValueError, match="two different"):
        plots.plot_components(movies, 1, 1)
    with pytest.raises(ValueError, match="two different"):
        plots.plot_components(movies, 1, 3)
