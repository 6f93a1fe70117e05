"""Building, saving and loading the labelled set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genre.data.dataset import build_labelled, load_labelled, movie_tags, save_labelled
from genre.data.sources import read_metadata
from recsys.errors import DataError


@pytest.fixture
def built(metadata_csv, movielens):
    meta = read_metadata(metadata_csv)
    return build_labelled(
        meta,
        movielens.movies,
        tags=movielens.read_tags(),
        min_genre_fraction=0.1,
        seed=0,
        sources={"metadata": str(metadata_csv)},
    )


def test_build_drops_rare_genres_empty_overviews_and_splits_movies(built, metadata_csv):
    frame, manifest = built.frame, built.manifest
    raw = pd.read_csv(metadata_csv, keep_default_na=False)
    assert manifest["dropped_movies"]["no_overview"] == int((raw["overview"] == "").sum()) > 0
    # Every kept genre is on >= 10% of the *training* movies (counted before the filter,
    # after the split); the others are dropped and listed with their overall counts.
    train_counts = manifest["train_genre_counts_before_filter"]
    n_train = manifest["n_train_before_filter"]
    for genre, count in train_counts.items():
        assert (genre in built.genres) == (count / n_train >= 0.1)
    counts = manifest["genre_counts_before_filter"]
    assert manifest["dropped_genres"] == {g: c for g, c in counts.items() if g not in built.genres}
    assert built.Y("train").sum(axis=0).tolist() == [train_counts[g] for g in built.genres]
    # Here the training part decides differently from all movies (no look at val/test).
    n_labelled = (
        manifest["n_input_movies"]
        - manifest["dropped_movies"]["no_overview"]
        - manifest["dropped_movies"]["no_genre"]
    )
    assert any((g in built.genres) != (c / n_labelled >= 0.1) for g, c in counts.items())
    assert list(built.genres) == sorted(built.genres)
    # Every movie once, with at least one kept genre, in one part; every genre in every part.
    assert frame["movie_id"].is_unique
    assert all(g and set(g) <= set(built.genres) for g in frame["genres"])
    assert set(frame["split"]) == {"train", "val", "test"}
    for split in ("train", "val", "test"):
        assert built.Y(split).sum(axis=0).min() > 0
    assert sum(built.counts().values()) == len(frame) == manifest["n_movies"]
    assert (frame["overview"].str.strip() != "").all()


def test_tags_are_attached(built):
    toy_story = built.frame.set_index("movie_id").loc[1]
    assert {"pixar", "fun"} <= set(toy_story["tags"])
    assert movie_tags(pd.DataFrame({"movie_id": [5, 5], "tag": ["a  b", "a b"]})) == {5: ("a b",)}


def test_same_seed_same_split_other_seed_other_split(metadata_csv, movielens):
    meta = read_metadata(metadata_csv)
    splits = [
        build_labelled(meta, movielens.movies, min_genre_fraction=0.1, seed=s)
        .frame["split"]
        .tolist()
        for s in (0, 0, 1)
    ]
    assert splits[0] == splits[1] != splits[2]


def test_save_load_round_trip(built, tmp_path):
    out = save_labelled(built, tmp_path / "ds")
    assert sorted(p.name for p in out.iterdir()) == [
        "genres.json",
        "manifest.json",
        "movies.parquet",
    ]
    loaded = load_labelled(out)
    assert loaded.genres == built.genres
    np.testing.assert_array_equal(loaded.Y("test"), built.Y("test"))
    assert loaded.frame["genres"].tolist() == built.frame["genres"].tolist()
    assert loaded.frame["tags"].tolist() == built.frame["tags"].tolist()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 0


def test_load_rejects_inconsistent_directories(built, tmp_path):
    out = save_labelled(built, tmp_path / "ds")
    (out / "genres.json").write_text(json.dumps({"genres": ["Drama"]}))
    with pytest.raises(DataError, match=r"not in genres\.json"):
        load_labelled(out)
    with pytest.raises(DataError, match="missing"):
        load_labelled(tmp_path)
    with pytest.raises(DataError, match="not a labelled-set directory"):
        load_labelled(tmp_path / "nowhere")


def test_tmdb_labels_are_mapped(movielens):
    meta = pd.DataFrame(
        {
            "movie_id": np.arange(1, 13),
            "title": "",
            "year": pd.array([pd.NA] * 12, "Int64"),
            "overview": ["words"] * 12,
            "tmdb_genres": [("Science Fiction", "TV Movie"), ("Family",), ("History",)] * 4,
        }
    )
    data = build_labelled(
        meta,
        movielens.movies,
        labels="tmdb-mapped",
        min_genre_fraction=0.0,
        fractions=(0.5, 0.25, 0.25),
    )
    assert data.genres == ("Children", "Sci-Fi")
    assert data.manifest["dropped_movies"]["no_genre"] == 4  # History only
    assert data.frame.set_index("movie_id").loc[1, "title"] == "Toy Story (1995)"


def test_build_errors(movielens):
    meta = pd.DataFrame(
        {
            "movie_id": [1, 2, 3],
            "title": "",
            "year": pd.NA,
            "overview": ["", " ", ""],
            "tmdb_genres": [()] * 3,
        }
    )
    with pytest.raises(DataError, match="no movie has an overview"):
        build_labelled(meta, movielens.movies)
    meta["overview"] = ["x", "y", "z"]
    with pytest.raises(DataError, match="no movie has TMDB genres"):
        build_labelled(meta, movielens.movies, labels="tmdb")
    six = pd.DataFrame(
        {
            "movie_id": range(1, 7),
            "title": "",
            "year": pd.NA,
            "overview": list("abcdef"),
            "tmdb_genres": [()] * 6,
        }
    )
    with pytest.raises(DataError, match="drops every genre"):
        build_labelled(six, movielens.movies, min_genre_fraction=0.99, fractions=(0.5, 0.25, 0.25))
    with pytest.raises(DataError, match="the val part is empty"):
        build_labelled(meta, movielens.movies)
    with pytest.raises(DataError, match="fractions"):
        build_labelled(meta, movielens.movies, fractions=(0.9, 0.2, 0.1))


def _one_genre_everywhere(n=12):
    """Every movie is Drama; every other one is also Comedy; movie 1 is War only."""
    meta = pd.DataFrame(
        {
            "movie_id": range(1, n + 1),
            "title": "",
            "year": pd.NA,
            "overview": [f"text {i}" for i in range(n)],
            "tmdb_genres": [()] * n,
        }
    )
    ml = pd.DataFrame(
        {
            "movie_id": range(1, n + 1),
            "title": [f"M{i}" for i in range(n)],
            "year": [1995] * n,
            "genres": [("War",)]
            + [("Drama", "Comedy") if i % 2 else ("Drama",) for i in range(1, n)],
        }
    )
    return meta, ml


def test_build_refuses_a_set_no_genre_model_can_learn_from():
    meta, ml = _one_genre_everywhere()
    # War (one movie) is dropped with its movie: Drama is then on every training movie.
    with pytest.raises(
        DataError,
        match=r"genre 'Drama' is on every one of the \d+ training "
        r"movies.*min_genre_fraction=.* keeps too few genres; use a smaller fraction",
    ):
        build_labelled(meta, ml, min_genre_fraction=0.2, fractions=(0.5, 0.25, 0.25))
    # Only Drama reaches the fraction: one genre is not a multi-label problem.
    with pytest.raises(
        DataError,
        match=r"at least 2 genres, received 1 \(Drama\); "
        r"min_genre_fraction=0.6 keeps too few genres",
    ):
        build_labelled(meta, ml, min_genre_fraction=0.6, fractions=(0.5, 0.25, 0.25))
