"""String ids at the command line: train on them, ask with them, get them back."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main

from .helpers import assert_one_line_error, invoke

pytestmark = pytest.mark.slow  # trains two models


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("string-ids")
    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame(
        {
            "reviewer": [f"user,{u}" if u == 0 else f"u{u}" for u in rng.integers(0, 80, n)],
            "isbn": [f"0{m:09d}" for m in rng.integers(0, 60, n)],
            "stars": rng.integers(1, 6, n),
        }
    )
    ratings = root / "books.csv.gz"
    frame.to_csv(ratings, index=False)
    model = root / "m"
    args = ["train", "--ratings", str(ratings), "--columns",
            "user=reviewer,item=isbn,rating=stars", "--epochs", "2", "--quiet",
            "--out", str(model)]  # fmt: skip
    assert main(args) == 0
    return root, model


def test_predict_recommend_and_similar_speak_the_files_ids(
    trained: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, model = trained
    code, out, err = invoke(
        main, ["predict", "--model", str(model), "--user", "u7", "--movie", "0000000012"], capsys
    )
    assert code == 0, err
    assert out.startswith("user u7 -> movie 0000000012: ")
    code, out, err = invoke(
        main, ["recommend", "--model", str(model), "--user", "u7", "-k", "3", "--json",
               "--min-ratings", "0"], capsys)  # fmt: skip
    assert code == 0, err
    assert all(len(r["movie_id"]) == 10 and r["movie_id"][0] == "0" for r in json.loads(out))
    code, out, err = invoke(
        main, ["similar", "--model", str(model), "--movie", "0000000012", "-k", "2", "--json",
               "--min-ratings", "0"], capsys)  # fmt: skip
    assert code == 0, err
    assert [len(r["movie_id"]) for r in json.loads(out)] == [10, 10]


def test_batch_lists_keep_string_users_including_unknown_ones(
    trained: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, model = trained
    users = root / "users.txt"
    users.write_text("u3\nnobody\nuser,0\n")
    out_file = root / "lists.csv"
    code, _, err = invoke(
        main, ["recommend", "--model", str(model), "--users", str(users), "-k", "2",
               "--out", str(out_file)], capsys)  # fmt: skip
    assert code == 0, err
    lists = pd.read_csv(out_file, dtype={"movie_id": str})
    assert lists["user_id"].drop_duplicates().tolist() == ["u3", "nobody", "user,0"]
    assert lists["movie_id"].str.fullmatch(r"0\d{9}").all()
    assert lists.loc[lists["user_id"] == "nobody", "fallback"].notna().all()
    code, out, err = invoke(
        main, ["recommend", "--model", str(model), "--users", str(users), "-k", "1"], capsys
    )
    assert code == 0, err
    streamed = pd.read_csv(io.StringIO(out), dtype={"movie_id": str})
    assert streamed["user_id"].tolist() == ["u3", "nobody", "user,0"]


def test_unknown_string_movie_and_a_string_for_an_integer_model_are_one_line(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, model = trained
    code, _, err = invoke(main, ["similar", "--model", str(model), "--movie", "tt9"], capsys)
    assert_one_line_error(code, err, "unknown movie id 'tt9'")
    plain = tmp_path / "plain.csv"
    rows = "".join(f"{u},{m},{1 + (u + m) % 5}\n" for u in range(9) for m in range(5))
    plain.write_text("user,item,rating\n" + rows)
    assert main(["train", "--ratings", str(plain), "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "int")]) == 0  # fmt: skip
    code, _, err = invoke(
        main, ["predict", "--model", str(tmp_path / "int"), "--user", "ann", "--movie", "1"], capsys
    )
    assert_one_line_error(code, err, "this model's user ids are integers")
