"""``recsys train``, ``predict``, ``recommend`` and ``similar`` end to end, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.cli import main

from .helpers import assert_one_line_error, invoke

REPO = Path(__file__).resolve().parents[3]
REQUIRED = {
    "model",
    "dataset",
    "split",
    "seed",
    "n_train",
    "n_test",
    "rating_scale",
    "rmse",
    "mae",
    "baselines",
    "train_seconds",
    "ratings_per_second",
    "epochs_run",
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "model"
    assert main(["train", "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    return out


def test_train_on_bundled_data_writes_metrics(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert REQUIRED <= set(metrics)
    assert metrics["dataset"] == "ml-latest-small" and metrics["split"] == "random:0.1"
    assert metrics["n_test"] == 10_084 and metrics["rating_scale"] == [0.5, 5.0]
    assert metrics["n_train"] == 100_836 - 10_084
    assert metrics["n_fit"] + metrics["n_validation"] == metrics["n_train"]
    assert metrics["n_validation_dropped"] == 0  # unscorable rows go back to fitting
    assert set(metrics["baselines"]) == {"global_mean", "bias_only"}
    assert metrics["rmse"] < metrics["baselines"]["global_mean"]["rmse"]
    assert metrics["epochs_run"] == 3
    assert metrics["ratings_per_second"] == pytest.approx(
        metrics["n_fit"] * 3 / metrics["train_seconds"]
    )


def test_train_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(
        main,
        [
            "train",
            "--model",
            "mlp",
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "m"),
            "--ratings",
            str(REPO / "tests/fixtures/ml-csv/ratings.csv"),
            "--split",
            "random:0.3",
            "--batch-size",
            "4",
        ],
        capsys,
    )
    assert code == 0, err
    assert "epoch   1/2" in out and "bias-only baseline" in out and "global-mean" in out
    assert f"saved to {tmp_path / 'm'}" in out


def test_train_members(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--ratings", str(REPO / "tests/fixtures/ml-csv/ratings.csv"), "--epochs", "2"]
    code, out, err = invoke(
        main, ["train", *args, "--members", "2", "--quiet", "--out", str(tmp_path / "m")], capsys
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["members"] == 2 and metrics["params"]["members"] == 2
    assert metrics["members_train_seconds"] > metrics["train_seconds"]
    assert "members: 2 networks averaged into one" in out
    code, out, err = invoke(
        main,
        ["predict", "--model", str(tmp_path / "m"), "--user", "1", "--movie", "1"],
        capsys,
    )
    assert code == 0, err


def test_predict_recommend_similar(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(
        main, ["predict", "--model", str(trained), "--user", "1", "--movie", "1", "--json"], capsys
    )
    rows = json.loads(out)
    assert code == 0 and rows[0]["title"] == "Toy Story (1995)"
    assert 0.5 <= rows[0]["prediction"] <= 5 and rows[0]["fallback"] == ""
    code, out, _ = invoke(
        main, ["predict", "--model", str(trained), "--user", "99999", "--movie", "1"], capsys
    )
    assert code == 0 and "unknown user" in out
    code, out, _ = invoke(
        main, ["recommend", "--model", str(trained), "--user", "1", "-k", "4", "--json"], capsys
    )
    assert code == 0 and [r["rank"] for r in json.loads(out)] == [1, 2, 3, 4]
    code, out, _ = invoke(main, ["similar", "--model", str(trained), "--movie", "260"], capsys)
    assert code == 0 and "Star Wars: Episode IV" in out and "Empire Strikes Back" in out


BAD_FILES = {
    "wrong-sep.csv": (
        "userId\tmovieId\trating\n1\t2\t3\n",
        "looks separated by '\\t': use that separator. (set by --sep)",
    ),
    "no-rating.csv": ("userId,movieId\n1,2\n", "has no rating column"),
    "words.csv": ("userId,movieId,rating\n1,2,great\n", "is not a number"),
    "nan.csv": ("userId,movieId,rating\n1,2,NaN\n", "missing or not finite"),
    "empty.csv": ("", "is empty"),
    "tiny.csv": ("userId,movieId,rating\n1,2,3\n1,3,4\n", "left the test part empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_ratings_files(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, fragment = BAD_FILES[name]
    (tmp_path / name).write_text(text)
    code, _, err = invoke(
        main,
        [
            "train",
            "--ratings",
            str(tmp_path / name),
            "--split",
            "random:0.01",
            "--out",
            str(tmp_path / "out"),
        ],
        capsys,
    )
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ratings", "/nonexistent/r.csv"], "no such ratings file"),
        (["--data", "/nonexistent/ml"], "no such dataset path"),
        (["--dataset", "ml-999m"], "unknown dataset 'ml-999m'"),
        (["--split", "shuffle:0.1"], "unknown split"),
        (["--split", "fold:u1"], "no predefined folds"),
        (["--rating-scale", "5,1"], "low end must be below"),
        (["--rating-scale", "0,inf"], "two finite numbers"),
        (["--rating-scale", "nan,5"], "two finite numbers"),
        (["--ratings", str(REPO / "tests"), "--epochs", "1"], "is a folder, not a ratings file"),
        (
            ["--ratings", str(REPO / "tests/fixtures/ml-csv/ratings.csv"), "--sep", ""],
            "sep is empty; give the field separator, e.g. ',' or '\\t' for tabs. (set by --sep)",
        ),
        (["--factors", "0"], "invalid factors=0"),
        (["--members", "0"], "invalid members=0"),
        (["--model", "mlp", "--members", "2"], "not linear in its embeddings"),
        (["--dropout", "half"], "give two rates"),
        (["--model", "svd"], "invalid choice: 'svd'"),
        (["--epochs", "many"], "invalid int value"),
    ],
)
def test_bad_options(
    args: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(main, ["train", *args, "--out", str(tmp_path / "out")], capsys)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "out").exists()


def test_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = invoke(main, ["train", "--out", str(tmp_path / "file" / "model")], capsys)
    assert_one_line_error(code, err, "is not writable")


def test_corrupt_or_foreign_model_dirs(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(
        main, ["predict", "--model", str(tmp_path), "--user", "1", "--movie", "1"], capsys
    )
    assert_one_line_error(code, err, "is not a recsys model directory")
    code, _, err = invoke(
        main, ["recommend", "--model", str(tmp_path / "none"), "--user", "1"], capsys
    )
    assert_one_line_error(code, err, "no model directory")
    code, _, err = invoke(main, ["similar", "--model", str(trained), "--movie", "424242"], capsys)
    assert_one_line_error(code, err, "movie 424242 has no embedding")


@pytest.mark.slow  # a subprocess of several seconds; CI runs it
def test_console_entry_point_is_quiet_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    bad = subprocess.run(
        [sys.executable, "-m", "recsys", "train", "--ratings", "/nope.csv"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    good = subprocess.run(
        [
            sys.executable,
            "-m",
            "recsys",
            "train",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert good.returncode == 0, good.stderr
    assert good.stderr == ""  # no TensorFlow start-up chatter
    assert "RMSE" in good.stdout


def test_day_biases_in_the_table_and_metrics(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    days = metrics["day_biases"]
    # chosen on validation; the test rows without the term and the baseline with it
    assert days["validation_rmse"][f"{days['shrinkage']:g}"] < days["validation_rmse_without"]
    assert metrics["rmse"] < days["without"]["rmse"]
    assert days["bias_only_with_day_biases"]["rmse"] < metrics["baselines"]["bias_only"]["rmse"]
    code, out, err = invoke(
        main, ["train", "--epochs", "3", "--day-bias", "off", "--out", str(tmp_path / "m")], capsys
    )
    assert code == 0, err
    assert "no day biases" not in out and "day biases:" not in out
    off = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert "day_biases" not in off and off["params"]["day_bias"] == "off"
    assert off["rmse"] == pytest.approx(days["without"]["rmse"])  # the same network
    code, _, err = invoke(main, ["train", "--day-bias", "sometimes"], capsys)
    assert code == 2 and "--day-bias" in err and "Traceback" not in err
