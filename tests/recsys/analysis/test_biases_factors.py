"""Bias ranking, end contrasts and suggested names on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from recsys.analysis.biases import bias_ranking, bias_summary, spearman
from recsys.analysis.factors import component_ends, end_contrast, genre_shares
from recsys.errors import DataError


def _table(n: int = 20) -> pd.DataFrame:
    """Movie 1..n; pc1 decreasing with the id; the first half Drama from the 1950s, the
    second half Action from the 2000s."""
    ids = np.arange(1, n + 1)
    half = ids <= n // 2
    return pd.DataFrame(
        {
            "movie_id": ids,
            "title": [f"Movie {i}" for i in ids],
            "year": pd.array(np.where(half, 1950, 2000) + ids % 5, dtype="Int64"),
            "genres": [("Drama",) if h else ("Action",) for h in half],
            "n_ratings": np.full(n, 20),
            "mean_rating": np.full(n, 3.5),
            "raters_mean": np.full(n, 3.5),
            "bias": np.linspace(0.5, -0.5, n),
            "pc1": np.linspace(1.0, -1.0, n),
        }
    )


def test_spearman_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = np.round(x + rng.normal(size=50), 1)  # ties in y
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert spearman([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(0.8)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_bias_ranking_orders_and_ranks_the_raw_mean() -> None:
    table = pd.DataFrame(
        {
            "movie_id": [10, 11, 12, 13, 14],
            "title": list("ABCDE"),
            "bias": [0.2, -0.1, 0.2, 0.4, -0.3],
            "mean_rating": [3.0, 4.5, 3.5, 4.0, 2.0],
            "n_ratings": [5, 6, 7, 8, 9],
            "raters_mean": [3.0, 4.0, 3.5, 3.0, 3.0],
        }
    )
    top, bottom = bias_ranking(table, 3)
    assert top["movie_id"].tolist() == [13, 10, 12]  # tie at 0.2 -> smaller id first
    assert bottom["movie_id"].tolist() == [14, 11, 10]
    assert top["rank"].tolist() == [1, 2, 3]
    # movie 11 has the best raw mean (rank 1) but a negative bias: generous raters
    assert bottom.set_index("movie_id").loc[11, "mean_rating_rank"] == 1
    assert list(top.columns) == [
        "rank",
        "movie_id",
        "title",
        "bias",
        "mean_rating",
        "mean_rating_rank",
        "n_ratings",
        "raters_mean",
    ]
    summary = bias_summary(table)
    assert summary["n_movies"] == 5
    assert summary["spearman_mean_rating"] == pytest.approx(
        spearmanr(table["bias"], table["mean_rating"]).statistic
    )


def test_bias_ranking_without_biases_says_so() -> None:
    table = _table().assign(bias=np.nan)
    with pytest.raises(DataError, match="no movie biases"):
        bias_ranking(table)
    with pytest.raises(DataError, match="no movie biases"):
        bias_summary(table)


def test_component_ends() -> None:
    ends = component_ends(_table(), 1, n=3)
    assert ends[ends.end == "top"]["movie_id"].tolist() == [1, 2, 3]
    assert ends[ends.end == "bottom"]["movie_id"].tolist() == [20, 19, 18]
    assert ends["genres"].iloc[0] == "Drama"
    tiny = component_ends(_table(4), 1, n=10)  # clamped to half: ends never overlap
    assert len(tiny) == 4 and set(tiny["movie_id"]) == {1, 2, 3, 4}
    with pytest.raises(DataError, match="no column 'pc2'"):
        component_ends(_table(), 2)


def test_genre_shares_are_multi_label() -> None:
    shares = genre_shares(pd.Series([("Drama",), ("Drama", "War"), ()]))
    assert shares.to_dict() == pytest.approx({"Drama": 2 / 3, "War": 1 / 3})


def test_end_contrast_names_a_planted_contrast() -> None:
    contrast = end_contrast(_table(), 1)
    assert contrast.top.size == contrast.bottom.size == 10
    assert contrast.suggested_name == "Drama/older vs Action/newer"
    assert contrast.top.genres == [("Drama", 1.0, 2.0)]
    assert contrast.top.median_year == 1952 and contrast.bottom.median_year == 2002
    genres = contrast.genre_table.set_index("genre")
    assert genres.loc["Drama", "base_share"] == 0.5 and genres.loc["Drama", "top_lift"] == 2.0
    assert genres.loc["Action", "top_share"] == 0.0
    assert "100% Drama (x2.0)" in contrast.describe() and "median year 1952" in contrast.describe()
    assert contrast.differences["year"] == -50 and contrast.differences["mean_rating"] == 0


def test_end_contrast_flips_with_the_sign() -> None:
    table = _table().assign(pc1=lambda t: -t["pc1"])
    assert end_contrast(table, 1).suggested_name == "Action/newer vs Drama/older"


def test_no_contrast_gives_no_name() -> None:
    table = _table()
    table["genres"] = [("Drama",) if i % 2 else ("Action",) for i in range(len(table))]
    table["year"] = pd.array([1990 + i % 2 for i in range(len(table))], dtype="Int64")
    contrast = end_contrast(table, 1)
    assert contrast.suggested_name == "no clear genre, year or rating contrast"
    assert contrast.top.label == contrast.bottom.label == "mixed"


def test_rating_contrast_is_named_when_large() -> None:
    table = _table()
    table["genres"] = [("Drama",)] * len(table)
    table["year"] = pd.array([None] * len(table), dtype="Int64")
    table["mean_rating"] = np.linspace(4.5, 2.0, len(table))
    contrast = end_contrast(table, 1)
    assert contrast.suggested_name == "higher-rated vs lower-rated"
    assert contrast.top.median_year is None and "median year" not in contrast.describe()
