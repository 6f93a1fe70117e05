"""``recsys analyze`` end to end, and bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import pytest

from recsys.cli import main
from tests.recsys.cli.helpers import assert_one_line_error, invoke


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_analyze_writes_the_report_and_prints_json(
    model_dirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code, stdout, err = invoke(
        main,
        ["analyze", "--model", str(model_dirs["bias"]), "--out", str(out), "--n", "4", "--json"],
        capsys,
    )
    assert code == 0, err
    document = json.loads(stdout)  # nothing but the JSON document on stdout
    assert document == json.loads((out / "analysis.json").read_text())
    assert document["model"]["kind"] == "bias" and document["analysed_movies"] == 40
    assert len(document["bias"]["top"]) == 4 and len(document["components"]) == 3
    assert {"suggested_name", "explained_variance_ratio", "contrast", "top", "bottom"} <= set(
        document["components"][0]
    )
    # the default --top-movies 2000 is clamped, and the user is told on one stderr line
    assert err.strip().splitlines() == [
        "recsys analyze: note: asked for the 2,000 most-rated movies but the model has "
        "embeddings for 40; analysing all 40."
    ]
    assert (out / "report.html").is_file() and (out / "pc1_pc3.png").is_file()


def test_analyze_prints_a_summary(
    model_dirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    code, stdout, err = invoke(
        main,
        [
            "analyze",
            "--model",
            str(model_dirs["mlp"]),
            "--components",
            "2",
            "--top-movies",
            "30",
            "--scatter",
            "2,1",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    assert "mlp model, 8 factors; the 30 most-rated of 40 movies analysed" in stdout
    assert "movie bias: none" in stdout and "PC1" in stdout and "PC2" in stdout
    assert f"report: {out / 'report.html'}" in stdout
    assert (out / "pc2_pc1.png").is_file() and not (out / "bias_vs_mean.png").exists()
    assert "the mlp model has no movie bias" in err


def test_default_out_is_next_to_the_model(
    model_dirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = shutil.copytree(model_dirs["dot"], tmp_path / "dot-model")
    code, _, err = invoke(main, ["analyze", "--model", str(model), "--components", "1"], capsys)
    assert code == 0, err
    assert (tmp_path / "dot-model-analysis" / "report.html").is_file()


def _model_without_embeddings(source: Path, target: Path) -> Path:
    """A model directory whose network has no movie embedding layer (and, as written
    before weights.npz existed, no numpy tables: the network is read and checked)."""
    shutil.copytree(source, target)
    (target / "weights.npz").unlink()
    user = keras.Input(shape=(), dtype="int32", name="user")
    movie = keras.Input(shape=(), dtype="int32", name="movie")
    score = keras.layers.Embedding(100, 1, name="movie_bias_only")(movie)
    network = keras.Model({"user": user, "movie": movie}, score)
    (target / "model.keras").unlink()
    network.save(target / "model.keras")
    return target


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("not-a-model", "is not a recsys model directory"),
        ("no-embeddings", "layer 'user_embedding' is missing"),
        ("missing", "no model directory at"),
        ("components", "only 8 factors; choose 1 to 8 components"),
        ("components-vs-movies", "--components 5 needs at least 6 analysed movies"),
        ("zero-n", "--n must be at least 1"),
        ("top-movies", "--top-movies must be at least 2"),
        ("scatter-same", "give two different components from 1 to 3"),
        ("scatter-range", "give two different components from 1 to 3"),
        ("scatter-text", "give two component numbers"),
        ("out-is-file", "is a file, expected a directory"),
        ("out-under-file", "is not writable"),
        ("out-not-report", "is not a previous report"),
    ],
)
def test_bad_input(
    case: str,
    fragment: str,
    model_dirs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = model_dirs["bias"]
    out = tmp_path / "out" / "report"
    out.parent.mkdir()
    extra: list[str] = []
    if case == "not-a-model":
        model = tmp_path / "junk"
        model.mkdir()
        (model / "ratings.csv").write_text("userId,movieId,rating\n")
    elif case == "no-embeddings":
        model = _model_without_embeddings(model, tmp_path / "no-emb")
    elif case == "missing":
        model = tmp_path / "nowhere"
    elif case == "components":
        extra = ["--components", "9"]
    elif case == "components-vs-movies":
        extra = ["--components", "5", "--top-movies", "5"]
    elif case == "zero-n":
        extra = ["--n", "0"]
    elif case == "top-movies":
        extra = ["--top-movies", "1"]
    elif case == "scatter-same":
        extra = ["--scatter", "2,2"]
    elif case == "scatter-range":
        extra = ["--scatter", "1,4"]
    elif case == "scatter-text":
        extra = ["--scatter", "one,two"]
    elif case == "out-is-file":
        out.write_text("not a directory")
    elif case == "out-under-file":
        (tmp_path / "out" / "file").write_text("x")
        out = tmp_path / "out" / "file" / "report"
    elif case == "out-not-report":
        out.mkdir()
        (out / "precious.csv").write_text("keep me")
    before = _tree(tmp_path / "out")
    code, stdout, err = invoke(
        main, ["analyze", "--model", str(model), "--out", str(out), *extra], capsys
    )
    assert_one_line_error(code, err, fragment)
    assert stdout == ""
    assert _tree(tmp_path / "out") == before  # no report, no temporary directory left behind


@pytest.mark.parametrize("where", [".", "..", "model"])
def test_out_is_never_the_current_directory_or_the_model(
    where: str,
    model_dirs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = shutil.copytree(model_dirs["bias"], tmp_path / "model")
    (model / "report.html").write_text("a stray report file does not make it a report")
    monkeypatch.chdir(model if where != "model" else tmp_path)
    target = str(model) if where == "model" else where
    before = _tree(tmp_path)
    code, stdout, err = invoke(main, ["analyze", "--model", str(model), "--out", target], capsys)
    reason = {
        ".": "it is the current directory",
        "..": "it is a parent of the current directory",
        "model": "it is the input",
    }[where]
    assert_one_line_error(code, err, f"refusing to replace {target!r} with the report: {reason}")
    assert stdout == "" and _tree(tmp_path) == before


def test_an_unwritable_out_names_the_users_path(
    model_dirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/proc").is_dir():
        pytest.skip("no /proc")
    code, _, err = invoke(
        main, ["analyze", "--model", str(model_dirs["bias"]), "--out", "/proc/rep"], capsys
    )
    assert_one_line_error(code, err, "cannot write the report directory '/proc/rep'")
    assert ".tmp" not in err
