"""``recsys predict`` and ``recsys similar`` on a tiny model: unknown movies and bad -k."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.cli import main
from tests.conftest import REPO

from .helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("query") / "model"
    assert (
        main(
            [
                "train",
                "--model",
                "dot",
                "--epochs",
                "1",
                "--quiet",
                "--data",
                str(REPO / "tests/fixtures/ml-csv"),
                "--split",
                "random:0.3",
                "--batch-size",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


@pytest.mark.parametrize("k", ["0", "-1"])
def test_similar_refuses_k_below_1(k: str, model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(
        main, ["similar", "--model", str(model), "--movie", "1", "-k", k], capsys
    )
    assert_one_line_error(code, err, f"k must be at least 1, got {k}")
    assert out == ""


def test_predict_names_a_movie_only_when_its_title_is_known(
    model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(
        main, ["predict", "--model", str(model), "--user", "1", "--movie", "1", "9999999"], capsys
    )
    assert code == 0, err
    known, unknown = out.splitlines()
    assert known.startswith("user 1 -> Toy Story (1995) (movie 1): ")
    assert unknown.startswith("user 1 -> movie 9999999: ")
    assert "(movie 9999999)" not in out


def test_recommend_says_when_min_ratings_leaves_nothing(
    model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(
        main, ["recommend", "--model", str(model), "--user", "1", "--min-ratings", "100000"], capsys
    )
    assert_one_line_error(code, err, "has at least 100000 training ratings (the most-rated")
    assert out == ""


def test_recommend_without_titles_has_no_title_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "model"
    assert (
        main(
            [
                "train",
                "--model",
                "dot",
                "--epochs",
                "1",
                "--quiet",
                "--ratings",
                str(REPO / "tests/fixtures/ml-csv/ratings.csv"),
                "--split",
                "random:0.3",
                "--batch-size",
                "4",
                "--out",
                str(out_dir),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, out, err = invoke(
        main, ["recommend", "--model", str(out_dir), "--user", "1", "-k", "3"], capsys
    )
    assert code == 0, err
    header = out.splitlines()[1].split()
    assert header == ["rank", "movie_id", "score"]
