"""``recsys evaluate``, ``recsys compare`` and ``recsys recommend --out``: outputs, and
bad input as one line with exit code 2 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main
from tests.recsys.models.test_ranking_objective import taste_groups

from .helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def ratings_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "ratings.csv"
    taste_groups().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model(ratings_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "model"
    args = ["train", "--model", "dot", "--epochs", "1", "--quiet", "--ratings", str(ratings_file)]
    assert main([*args, "--split", "user:0.3", "--out", str(out)]) == 0
    return out


def test_evaluate_reproduces_the_models_own_test_part(
    model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(main, ["evaluate", "--model", str(model), "--json", "-k", "5"], capsys)
    assert code == 0, err
    report = json.loads(out)
    saved = json.loads((model / "metrics.json").read_text())
    assert report["split"] == "user:0.3" and report["n_test"] == saved["n_test"]
    assert report["rmse"] == pytest.approx(saved["rmse"], rel=1e-5)
    assert set(report["baselines"]) == {"global_mean", "bias_only", "popularity", "random"}
    assert report["baselines"]["popularity"]["rmse"] is None
    assert 0 <= report["topn"]["ndcg@5"] <= 1 and report["note"] == ""
    # the model's own top-N section in metrics.json uses the same protocol at k=10
    code, out, _ = invoke(main, ["evaluate", "--model", str(model), "--json"], capsys)
    assert json.loads(out)["topn"]["ndcg@10"] == pytest.approx(saved["topn"]["model"]["ndcg@10"])


def test_evaluate_on_a_test_file(
    model: Path, tmp_path: Path, ratings_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test = pd.read_csv(ratings_file).head(50)
    test.to_csv(tmp_path / "test.csv", index=False)
    code, out, err = invoke(
        main, ["evaluate", "--model", str(model), "--test", str(tmp_path / "test.csv")], capsys
    )
    assert code == 0, err
    assert "popularity baseline" in out and "ndcg@10" in out


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["-k", "0"], "-k must be 1 or more"),
        (["--relevance", "9"], "outside the rating scale 1..5"),
        (["--candidates", "sampled:x"], "sampled:N"),
    ],
)
def test_evaluate_bad_options(
    model: Path, extra: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(main, ["evaluate", "--model", str(model), *extra], capsys)
    assert_one_line_error(code, err, fragment)
    assert out == ""


def test_evaluate_a_test_file_without_known_users(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd.DataFrame({"userId": [999], "movieId": [100], "rating": [5.0]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    code, _, err = invoke(
        main, ["evaluate", "--model", str(model), "--test", str(tmp_path / "t.csv")], capsys
    )
    assert_one_line_error(code, err, "no test user is in the training part")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--models", "bias,svd"], "unknown model 'svd'"),
        (["--folds", "1"], "--folds must be 2 or more"),
        (["--folds", "5000"], "use fewer folds"),
        (["--folds", "2", "--split", "random:0.1"], "not both"),
        (["--split", "random:0.1", "-k", "0"], "-k must be 1 or more"),
        (["--split", "random:0.1", "--relevance", "0"], "outside the rating scale"),
    ],
)
def test_compare_bad_input_writes_nothing(
    ratings_file: Path,
    tmp_path: Path,
    extra: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_dir = tmp_path / "cmp"
    code, _, err = invoke(
        main, ["compare", "--ratings", str(ratings_file), "--out", str(out_dir), *extra], capsys
    )
    assert_one_line_error(code, err, fragment)
    assert not out_dir.exists()


@pytest.mark.slow
def test_compare_writes_the_table_folds_and_plot(
    ratings_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "cmp"
    args = ["compare", "--ratings", str(ratings_file), "--models", "bias,dot-bpr"]
    code, out, err = invoke(
        main,
        [*args, "--folds", "2", "--fold-by", "user", "--epochs", "2", "--out", str(out_dir)],
        capsys,
    )
    assert code == 0, err
    summary = pd.read_csv(out_dir / "compare.csv")
    names = ["bias", "dot-bpr", "global_mean", "bias_only", "popularity", "random"]
    assert summary["model"].tolist() == names
    for column in ("rmse_mean", "rmse_std", "ndcg@10_mean", "ndcg@10_std", "coverage@10_mean"):
        assert column in summary.columns
    by_name = summary.set_index("model")
    assert np.isnan(by_name.loc["popularity", "rmse_mean"])
    assert np.isnan(by_name.loc["dot-bpr", "rmse_mean"])  # a ranking model: no ratings
    assert not np.isnan(by_name.loc["bias", "rmse_mean"])
    folds = pd.read_csv(out_dir / "folds.csv")
    assert len(folds) == 2 * len(names) and set(folds["fold"]) == {1, 2}
    assert (out_dir / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert "fold 2/2" in out and "dot-bpr" in out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_recommend_all_users_to_a_file(
    model: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / f"top{suffix}"
    code, _, err = invoke(
        main,
        ["recommend", "--model", str(model), "--all-users", "-k", "3", "--out", str(target)],
        capsys,
    )
    assert code == 0, err
    frame = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
    assert list(frame.columns) == ["user_id", "rank", "movie_id", "score"]
    assert frame.groupby("user_id")["rank"].apply(list).map(lambda r: r == [1, 2, 3]).all()


def test_recommend_out_needs_a_known_extension(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "top.txt"
    code, _, err = invoke(
        main, ["recommend", "--model", str(model), "--all-users", "--out", str(target)], capsys
    )
    assert_one_line_error(code, err, ".csv or .parquet")
    assert not target.exists()
