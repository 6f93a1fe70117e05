"""``recsys synth``: layout, determinism, power laws and a planted structure a model finds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main
from recsys.data import load_dataset
from recsys.data.synth import SynthSpec, planted_truth, sample_pairs, write_synthetic
from recsys.errors import DataError

from ..cli.helpers import assert_one_line_error, invoke

SMALL = SynthSpec(n_users=300, n_movies=200, n_ratings=12_000, seed=4)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(SMALL, tmp_path_factory.mktemp("synth") / "small")


def test_movielens_layout_with_the_requested_shape(small: Path) -> None:
    data = load_dataset(small)
    ratings = data.ratings
    assert len(ratings) == SMALL.n_ratings
    assert ratings[["user_id", "movie_id"]].duplicated().sum() == 0
    assert ratings["user_id"].between(1, SMALL.n_users).all()
    assert ratings["movie_id"].between(1, SMALL.n_movies).all()
    assert set(np.unique(ratings["rating"])) <= set(np.arange(0.5, 5.01, 0.5))
    assert ratings.dtypes.tolist() == [np.int32, np.int32, np.float32, np.int64]
    # rows sorted by user then movie, as in GroupLens' files
    key = ratings["user_id"].to_numpy(np.int64) * 10**6 + ratings["movie_id"].to_numpy()
    assert (np.diff(key) > 0).all()
    assert len(data.movies) == SMALL.n_movies and data.movies["year"].notna().all()
    assert data.movies["genres"].map(len).sum() > 0
    with np.load(small / "planted.npz") as truth:
        assert truth["movie_factors"].shape == (SMALL.n_movies, SMALL.factors)


def test_same_seed_same_bytes_other_seed_other_bytes(small: Path, tmp_path: Path) -> None:
    again = write_synthetic(SMALL, tmp_path / "again")
    for name in ("ratings.csv", "movies.csv", "planted.npz"):
        assert digest(again / name) == digest(small / name)
    other = write_synthetic(
        SynthSpec(n_users=300, n_movies=200, n_ratings=12_000, seed=5), tmp_path / "other"
    )
    assert digest(other / "ratings.csv") != digest(small / "ratings.csv")


def test_popularity_follows_the_planted_power_law() -> None:
    spec = SynthSpec(n_users=2_000, n_movies=3_000, n_ratings=200_000, seed=1)
    truth = planted_truth(spec)
    codes = sample_pairs(spec, truth)
    counts = np.bincount(codes % spec.n_movies, minlength=spec.n_movies)
    weights = truth["movie_weight"]
    ranked = np.sort(counts)[::-1]
    # heavy head: the top 10% of movies hold far more than 10% of the ratings
    assert ranked[: spec.n_movies // 10].sum() > 0.4 * spec.n_ratings
    # log-log slope of count against popularity rank is about -zipf in the body
    ranks = np.arange(1, spec.n_movies + 1)
    body = slice(spec.n_movies // 20, spec.n_movies // 2)
    slope = np.polyfit(
        np.log(ranks[body] + spec.movie_offset * spec.n_movies),
        np.log(np.maximum(ranked[body], 1)),
        1,
    )[0]
    assert -1.3 < slope < -0.7
    # and the movies drawn most are the ones the law weights most
    assert np.corrcoef(np.log(weights), np.log(counts + 1))[0, 1] > 0.9
    user_counts = np.bincount(codes // spec.n_movies, minlength=spec.n_users)
    assert np.sort(user_counts)[::-1][: spec.n_users // 10].sum() > 0.3 * spec.n_ratings


def test_planted_structure_is_recovered(small: Path) -> None:
    from recsys.models.rating_model import RatingModel

    ratings = load_dataset(small).ratings
    model = RatingModel(
        "bias",
        factors=8,
        epochs=40,
        patience=4,
        batch_size=512,
        learning_rate=0.02,
        l2=0.02,
        seed=0,
    ).fit(ratings)
    with np.load(small / "planted.npz") as truth:
        planted_bias = truth["movie_bias"]
        noise = float(truth["noise"])
    learned = model.movie_biases()
    rated = learned.index.to_numpy()
    counts = ratings["movie_id"].value_counts()
    frequent = rated[counts.reindex(rated).to_numpy() >= 20]
    r = np.corrcoef(learned.loc[frequent], planted_bias[frequent - 1])[0, 1]
    assert r > 0.8
    best = min(h.val_rmse for h in model.training_.history)
    # near the planted noise (0.5, plus half-star rounding), well below the spread
    assert best < noise + 0.25 < float(np.std(ratings["rating"]))


def test_impossible_sizes_are_refused() -> None:
    with pytest.raises(DataError, match="do not fit"):
        SynthSpec(n_users=10, n_movies=10, n_ratings=80).check()
    with pytest.raises(DataError, match="positive integer"):
        SynthSpec(n_users=0, n_movies=10, n_ratings=5).check()


def test_cli_writes_a_dataset_and_rejects_bad_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(
        main,
        [
            "synth",
            "--users",
            "50",
            "--movies",
            "40",
            "--ratings",
            "400",
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "wrote 400 ratings" in out
    assert len(pd.read_csv(tmp_path / "s" / "ratings.csv")) == 400
    code, _, err = invoke(
        main,
        [
            "synth",
            "--users",
            "5",
            "--movies",
            "4",
            "--ratings",
            "400",
            "--out",
            str(tmp_path / "bad"),
        ],
        capsys,
    )
    assert_one_line_error(code, err, "do not fit")
    assert not (tmp_path / "bad").exists()
