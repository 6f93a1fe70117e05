"""analyze_model on real (tiny) fitted models: planted structure, stats, every kind, JSON."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from recsys.analysis import analyze_model, movie_rating_stats, rating_crosstab
from recsys.analysis.movie_analysis import MOVIES_COLUMNS
from recsys.errors import DataError
from recsys.models.rating_model import RatingModel
from tests.recsys.models.synthetic import planted_movies, planted_ratings

from .conftest import KINDS, fit_tiny


@pytest.fixture(scope="module")
def exact() -> tuple[RatingModel, pd.DataFrame]:
    """A model fitted on every rating (no validation share), to check counts by hand."""
    ratings = planted_ratings(n_users=30, n_movies=25, density=0.5)
    model = RatingModel(
        "bias", factors=4, epochs=1, batch_size=256, validation_fraction=0, seed=0
    ).fit(ratings, movies=planted_movies(ratings))
    return model, ratings


def test_movie_stats_match_pandas(exact: tuple[RatingModel, pd.DataFrame]) -> None:
    model, ratings = exact
    stats = movie_rating_stats(model)
    grouped = ratings.groupby("movie_id")["rating"]
    np.testing.assert_array_equal(stats["n_ratings"], grouped.count().reindex(stats.index))
    np.testing.assert_allclose(stats["mean_rating"], grouped.mean().reindex(stats.index), rtol=1e-6)
    user_mean = ratings.groupby("user_id")["rating"].transform("mean")
    raters = user_mean.groupby(ratings["movie_id"]).mean()
    np.testing.assert_allclose(stats["raters_mean"], raters.reindex(stats.index), rtol=1e-6)


def test_crosstab_matches_pandas_crosstab(exact: tuple[RatingModel, pd.DataFrame]) -> None:
    model, ratings = exact
    table = rating_crosstab(model, 6, 5)
    users = (
        ratings["user_id"]
        .value_counts()
        .reset_index()
        .sort_values(["count", "user_id"], ascending=[False, True])["user_id"]
        .head(6)
    )
    movies = (
        ratings["movie_id"]
        .value_counts()
        .reset_index()
        .sort_values(["count", "movie_id"], ascending=[False, True])["movie_id"]
        .head(5)
    )
    part = ratings[ratings.user_id.isin(users) & ratings.movie_id.isin(movies)]
    expected = pd.crosstab(part.user_id, part.movie_id, part.rating, aggfunc="sum").reindex(
        index=users.to_numpy(), columns=movies.to_numpy()
    )
    np.testing.assert_array_equal(table.index, users)
    np.testing.assert_array_equal(table.columns, movies)
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(dtype=float))
    assert table.isna().any().any()  # density 0.5: some users did not rate some movies


@pytest.mark.parametrize("kind", KINDS)
def test_first_component_separates_planted_groups(
    models: dict[str, RatingModel], kind: str
) -> None:
    analysis = analyze_model(models[kind], n=5)
    movies = analysis.movies
    drama = movies["genres"].map(lambda g: g == ("Drama",)).to_numpy()
    pc1 = movies["pc1"].to_numpy()
    assert pc1[drama].max() < pc1[~drama].min() or pc1[~drama].max() < pc1[drama].min()
    assert analysis.pca.explained_variance_ratio_[0] > 0.5
    name = analysis.components[0].contrast.suggested_name
    assert name in ("Drama/older vs Action/newer", "Action/newer vs Drama/older")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_analysed(models: dict[str, RatingModel], kind: str) -> None:
    model = models[kind]
    analysis = analyze_model(model, top_movies=30, n_components=2, n=4)
    movies = analysis.movies
    assert list(analysis.movies_frame().columns) == [*MOVIES_COLUMNS, "pc1", "pc2"]
    assert len(movies) == 30 and analysis.pca.components_.shape == (2, 8)
    # most-rated first, ties by movie id
    order = movies[["n_ratings", "movie_id"]].to_numpy()
    assert all(
        (a[0] > b[0]) or (a[0] == b[0] and a[1] < b[1]) for a, b in itertools.pairwise(order)
    )
    assert movies["n_ratings"].iloc[0] == movie_rating_stats(model)["n_ratings"].max()
    assert [len(c.top) for c in analysis.components] == [4, 4]
    if kind == "bias":
        assert movies["bias"].notna().all() and analysis.bias_top is not None
        np.testing.assert_allclose(
            movies.set_index("movie_id")["bias"],
            model.movie_biases().reindex(movies["movie_id"]),
            rtol=1e-6,
        )
    else:
        assert movies["bias"].isna().all() and analysis.bias_top is None
        assert any("no movie bias" in note for note in analysis.notes)
    # the PCA was fitted on exactly these movies' embeddings
    embeddings = model.movie_embeddings().loc[movies["movie_id"]].to_numpy(dtype=float)
    np.testing.assert_allclose(
        analysis.pca.transform(embeddings), movies[["pc1", "pc2"]].to_numpy(), atol=1e-9
    )


def test_clamps_with_notes(models: dict[str, RatingModel]) -> None:
    analysis = analyze_model(models["bias"], top_movies=5000, n=100)
    assert len(analysis.movies) == 40
    assert analysis.notes[0] == (
        "asked for the 5,000 most-rated movies but the model has "
        "embeddings for 40; analysing all 40."
    )
    assert "listing 20 at each end" in analysis.notes[1]
    assert len(analysis.bias_top) == 20


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n_components": 9}, "only 8 factors"),
        ({"top_movies": 3, "n_components": 3}, "need at least 4 analysed movies"),
        ({"top_movies": 1}, "top_movies must be an integer of at least 2"),
        ({"n": 0}, "n must be an integer of at least 1"),
    ],
)
def test_bad_counts(models: dict[str, RatingModel], kwargs: dict, fragment: str) -> None:
    with pytest.raises(DataError, match=fragment):
        analyze_model(models["dot"], **kwargs)


def test_json_document_matches_the_tables(models: dict[str, RatingModel]) -> None:
    analysis = analyze_model(models["bias"], n=3)
    document = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert document["analysed_movies"] == 40
    assert [r["title"] for r in document["bias"]["top"]] == analysis.bias_top["title"].tolist()
    assert document["bias"]["summary"]["spearman_mean_rating"] == pytest.approx(
        analysis.bias_stats["spearman_mean_rating"], abs=1e-6
    )  # JSON keeps 6 decimals
    ratios = document["pca"]["explained_variance_ratio"]
    assert ratios == pytest.approx(analysis.pca.explained_variance_ratio_.tolist(), abs=1e-6)
    for entry, component in zip(document["components"], analysis.components, strict=True):
        assert entry["suggested_name"] == component.contrast.suggested_name
        assert [r["movie_id"] for r in entry["bottom"]] == component.bottom["movie_id"].tolist()
        assert entry["contrast"]["top"]["size"] == component.contrast.top.size
        column = analysis.movies[f"pc{component.component}"]
        assert entry["spearman"]["bias"] == pytest.approx(
            spearmanr(column, analysis.movies["bias"]).statistic, abs=1e-6
        )
        assert entry["spearman"]["year"] == pytest.approx(
            spearmanr(column, analysis.movies["year"].astype(float)).statistic, abs=1e-6
        )
    cross = document["crosstab"]
    assert cross["users"] == analysis.crosstab.index.tolist()
    assert [m["movie_id"] for m in cross["movies"]] == analysis.crosstab.columns.tolist()
    assert cross["movies"][0]["title"].startswith(("Drama movie", "Action movie"))
    assert np.allclose(
        np.array(cross["ratings"], dtype=float), analysis.crosstab.to_numpy(), equal_nan=True
    )


def test_model_without_catalogue(two_groups: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ratings, _ = two_groups
    model = fit_tiny("dot", ratings, None)
    analysis = analyze_model(model, n_components=2, n=3)
    assert analysis.movies["title"].iloc[0] == f"movie {analysis.movies['movie_id'].iloc[0]}"
    assert analysis.movies["year"].isna().all()
    assert analysis.components[0].contrast.top.genres == []
    json.dumps(analysis.to_dict(), allow_nan=False)
