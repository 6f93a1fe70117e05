"""``recsys train --features``: cold-start training end to end on a tiny store, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recsys.cli import main
from recsys.features import FeatureBlock, FeatureStore

from ..models.synthetic import planted_side
from .helpers import assert_one_line_error, invoke

FAST = ["--epochs", "4", "--batch-size", "256", "--factors", "8", "--learning-rate", "0.02"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A MovieLens-format directory with planted ratings, and a store of its features."""
    root = tmp_path_factory.mktemp("side")
    planted = planted_side()
    data = root / "ml"
    data.mkdir()
    ratings = planted.ratings.rename(columns={"user_id": "userId", "movie_id": "movieId"})
    ratings.to_csv(data / "ratings.csv", index=False)
    movies = planted.movies
    (data / "movies.csv").write_text(
        "movieId,title,genres\n"
        + "".join(
            f"{m},Movie {m},{'|'.join(g) or '(no genres listed)'}\n"
            for m, g in zip(movies["movie_id"], movies["genres"], strict=True)
        )
    )
    embedding = FeatureBlock.from_arrays(
        "embedding", planted.features.movie_ids, planted.features.values
    )
    # a rating-derived block under a name of its own: only its provenance tells
    factors = FeatureBlock.from_arrays(
        "svd",
        planted.features.movie_ids,
        planted.features.values[:, :2],
        provenance={"model": "RatingModel", "kind": "bias"},
    )
    FeatureStore.write(root / "store", [planted.genres, planted.features, embedding, factors])
    return data, root / "store"


def test_train_with_features_on_a_movie_split(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, store = inputs
    out = tmp_path / "model"
    code, printed, err = invoke(
        main,
        [
            "train",
            "--data",
            str(data),
            "--features",
            str(store),
            "--blocks",
            "genres,traits",
            "--split",
            "movies:0.2",
            *FAST,
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    assert "side features: genres (3-d" in printed and "validation by movies" in printed
    assert "genre-mean baseline" in printed and "cold-start movie" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"global_mean", "bias_only", "genre_mean"}
    cold = metrics["cold_start"]
    assert cold["n_test"] == metrics["n_test"] and cold["rmse"] == pytest.approx(metrics["rmse"])
    assert set(cold["baselines"]) == {"global_mean", "bias_only", "genre_mean"}
    side = metrics["side_features"]
    assert [b["name"] for b in side["blocks"]] == ["genres", "traits"]
    assert side["validation_split"] == "movies" and side["store"] == str(store)
    assert metrics["params"]["validation_split"] == "movies"

    test_movie = _cold_movie(out)
    code, printed, _ = invoke(
        main,
        ["predict", "--model", str(out), "--user", "1", "--movie", str(test_movie), "--json"],
        capsys,
    )
    row = json.loads(printed)[0]
    assert code == 0 and row["fallback"] == "cold-start movie: side features"
    assert 1 <= row["prediction"] <= 5


def _cold_movie(model_dir: Path) -> int:
    with np.load(model_dir / "arrays.npz") as arrays:
        return int(arrays["movie_ids"][~arrays["movie_warm"]][0])


def test_default_blocks_leave_out_rating_embeddings(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, store = inputs
    out = tmp_path / "model"
    code, printed, err = invoke(
        main,
        [
            "train",
            "--data",
            str(data),
            "--features",
            str(store),
            "--model",
            "dot",
            *FAST,
            "--quiet",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert [b["name"] for b in metrics["side_features"]["blocks"]] == ["genres", "traits"]
    assert "side features: left out embedding, svd (learned from ratings" in printed
    # random split: validation by ratings, genre mean reported, few or no cold movies
    assert metrics["side_features"]["validation_split"] == "ratings"
    assert "genre_mean" in metrics["baselines"] and "cold_start" in metrics


def test_without_features_the_output_is_unchanged(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = inputs
    out = tmp_path / "model"
    code, _, err = invoke(
        main, ["train", "--data", str(data), *FAST, "--quiet", "--out", str(out)], capsys
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"global_mean", "bias_only"}
    assert "cold_start" not in metrics and "side_features" not in metrics
    # a movie split without features still reports the genre mean for the held-out movies
    code, _, err = invoke(
        main,
        [
            "train",
            "--data",
            str(data),
            "--split",
            "movies:0.2",
            *FAST,
            "--quiet",
            "--out",
            str(tmp_path / "m2"),
        ],
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m2" / "metrics.json").read_text())
    assert "genre_mean" in metrics["cold_start"]["baselines"]
    assert metrics["params"]["validation_split"] == "ratings"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--features", "/nonexistent/store"], "is not a feature store"),
        (["--features", "STORE", "--blocks", "genres,posterr"], "has no block 'posterr'"),
        (["--features", "STORE", "--blocks", ","], "name at least one block"),
        (["--features", "STORE", "--blocks", "genres,genres"], "name a block twice"),
        (["--blocks", "genres"], "--blocks needs --features"),
        (["--features", "OTHER"], "covers none of the"),
        (["--features", "ONLY_EMBEDDING"], "has no block usable as side features"),
        (
            ["--features", "STORE", "--blocks", "genres,embedding", "--split", "movies:0.2"],
            "block 'embedding' was learned from ratings, which can include this split's test "
            "ratings",
        ),
        (["--features", "PCA", "--blocks", "pca"], "block 'pca' was learned from ratings"),
        (["--features", "STORE", "--blocks", "traits,svd"], "block 'svd' was learned from ratings"),
        (["--features", "STORE", "--id-dropout", "1.5"], "invalid id_dropout=1.5"),
        (["--features", "STORE", "--side-l2", "-1"], "invalid side_l2=-1.0"),
        (["--validation-split", "movies"], "needs side features"),
        (["--validation-split", "users"], "invalid choice: 'users'"),
    ],
)
def test_bad_feature_options(
    args: list[str],
    fragment: str,
    inputs: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, store = inputs
    other = FeatureStore.write(
        tmp_path / "other", [FeatureBlock.from_arrays("genres", [1, 2], [[1.0], [0.0]])]
    ).path
    pca = FeatureStore.write(
        tmp_path / "pca", [FeatureBlock.from_arrays("pca", [100, 101], [[1.0], [0.0]])]
    ).path
    only = FeatureStore.write(
        tmp_path / "only", [FeatureBlock.from_arrays("embedding", [100, 101], [[1.0], [0.0]])]
    ).path
    paths = {"STORE": str(store), "OTHER": str(other), "ONLY_EMBEDDING": str(only), "PCA": str(pca)}
    args = [paths.get(a, a) for a in args]
    code, _, err = invoke(
        main, ["train", "--data", str(data), *FAST, *args, "--out", str(tmp_path / "out")], capsys
    )
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cold_start_on_ml_latest_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Real data: held-out movies of the bundled ml-latest-small, scored from genres."""
    store = tmp_path / "store"
    code, _, err = invoke(
        main, ["features", "build", "--blocks", "genres", "--quiet", "--out", str(store)], capsys
    )
    assert code == 0, err
    code, _, err = invoke(
        main,
        [
            "train",
            "--features",
            str(store),
            "--split",
            "movies:0.1",
            "--epochs",
            "10",
            "--learning-rate",
            "0.003",
            "--quiet",
            "--out",
            str(tmp_path / "m"),
        ],
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    cold = metrics["cold_start"]
    assert cold["n_movies"] == 972 and cold["n_test"] == metrics["n_test"] == 9_800
    base = cold["baselines"]
    assert cold["rmse"] < base["genre_mean"]["rmse"] - 0.05
    assert cold["rmse"] < base["global_mean"]["rmse"] - 0.05
    assert cold["rmse"] < base["bias_only"]["rmse"]
