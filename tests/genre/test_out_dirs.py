"""``genre dataset``, ``explore``, ``train`` and ``ablate --out`` never replace someone
else's folder.

Each command swaps in a complete output directory; the folder named by ``--out`` must be
new, empty or a previous output of the same kind (it holds the command's marker files).
A foreign folder, the current directory, its parents and a folder holding an input are
refused with one line, before any work, and left untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from genre.cli import main
from recsys.cli import main as recsys_main
from tests.genre.conftest import write_metadata_csv
from tests.recsys.cli.helpers import assert_one_line_error, invoke

TEXT = ["--model", "nb", "--alpha", "0.1", "--min-df", "1", "--ngram-max", "1", "--quiet"]
NET = ["--model", "fusion", "--units", "8", "--epochs", "2", "--patience", "1", "--quiet"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, movielens):
    """A metadata CSV, the labelled set made from it and a small feature store."""
    root = tmp_path_factory.mktemp("out-dirs")
    (root / "meta").mkdir()
    csv = write_metadata_csv(root / "meta" / "movies.csv", movielens, n=120)
    dataset = root / "ds"
    assert (
        main(
            [
                "dataset",
                "--metadata",
                str(csv),
                "--min-genre-fraction",
                "0.1",
                "--out",
                str(dataset),
            ]
        )
        == 0
    )
    features = root / "features"
    assert (
        recsys_main(
            [
                "features",
                "build",
                "--blocks",
                "overview_w2v",
                "--metadata",
                str(csv),
                "--word-vectors",
                "train",
                "--w2v-dim",
                "8",
                "--w2v-min-count",
                "1",
                "--w2v-epochs",
                "2",
                "--quiet",
                "--out",
                str(features),
            ]
        )
        == 0
    )
    return csv, dataset, features


def _argv(command: str, inputs) -> list[str]:
    csv, dataset, features = inputs
    return {
        "dataset": ["dataset", "--metadata", str(csv), "--min-genre-fraction", "0.1"],
        "explore": ["explore", "--dataset", str(dataset), "--clusters", "2"],
        "train-text": ["train", "--dataset", str(dataset), *TEXT],
        "train-fusion": ["train", "--dataset", str(dataset), "--features", str(features), *NET],
        "ablate": ["ablate", "--dataset", str(dataset), "--features", str(features), *NET[2:]],
    }[command]


WHAT = {
    "dataset": ("labelled set", "manifest.json, movies.parquet, genres.json"),
    "explore": ("genre exploration", "coclusters.csv"),
    "train-text": ("genre model", "config.json, genres.json, thresholds.json"),
    "train-fusion": ("genre model", "config.json, genres.json, thresholds.json"),
    "ablate": ("ablation", "ablation.csv, ablation.json"),
}
COMMANDS = sorted(WHAT)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _precious(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "important.txt").write_text("the user's data")
    return folder


@pytest.mark.parametrize("command", COMMANDS)
def test_a_foreign_folder_is_refused_before_any_work_and_kept(command, inputs, tmp_path, capsys):
    what, marker = WHAT[command]
    precious = _precious(tmp_path / "precious")
    code, out, err = invoke(main, [*_argv(command, inputs), "--out", str(precious)], capsys)
    assert_one_line_error(
        code,
        err,
        f"the {what} directory {str(precious)!r} already exists "
        f"and is not a previous {what} (no {marker}; it holds "
        "important.txt)",
    )
    assert out == ""
    assert _tree(tmp_path) == {"precious/important.txt": b"the user's data"}


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_a_previous_output_of_the_same_kind_is_replaced(command, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = invoke(main, [*_argv(command, inputs), "--out", str(out)], capsys)
    assert code == 0, err
    first = set(_tree(out))
    (out / "stale.txt").write_text("from an older run")
    code, _, err = invoke(main, [*_argv(command, inputs), "--out", str(out)], capsys)
    assert code == 0, err
    assert set(_tree(out)) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.slow
def test_a_text_model_and_a_fused_model_replace_each_other(inputs, tmp_path, capsys):
    out = tmp_path / "model"
    for command, own, other in (
        ("train-fusion", "model.keras", "model.joblib"),
        ("train-text", "model.joblib", "model.keras"),
        ("train-fusion", "model.keras", "model.joblib"),
    ):
        code, _, err = invoke(main, [*_argv(command, inputs), "--out", str(out)], capsys)
        assert code == 0, err
        assert own in _tree(out) and other not in _tree(out)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_current_directory_is_refused(command, inputs, tmp_path, capsys, monkeypatch):
    what, _ = WHAT[command]
    work = _precious(tmp_path / "work")
    monkeypatch.chdir(work)
    for target, which in (
        (".", "the current directory"),
        ("..", "a parent of the current directory"),
    ):
        code, out, err = invoke(main, [*_argv(command, inputs), "--out", target], capsys)
        assert_one_line_error(
            code, err, f"refusing to replace {target!r} with the {what}: it is {which}"
        )
        assert out == ""
    assert _tree(tmp_path) == {"work/important.txt": b"the user's data"}


@pytest.mark.parametrize(
    ("command", "which"),
    [
        ("dataset", "csv-folder"),
        ("explore", "dataset"),
        ("train-text", "dataset"),
        ("train-fusion", "dataset"),
        ("train-fusion", "features"),
        ("ablate", "dataset"),
        ("ablate", "features"),
    ],
)
def test_a_folder_holding_an_input_is_refused(command, which, inputs, capsys):
    csv, dataset, features = inputs
    target = {"csv-folder": csv.parent, "dataset": dataset, "features": features}[which]
    before = _tree(target.parent)
    code, out, err = invoke(main, [*_argv(command, inputs), "--out", str(target)], capsys)
    relation = "holds" if which == "csv-folder" else "is"
    assert_one_line_error(
        code,
        err,
        f"refusing to replace {str(target)!r} with the {WHAT[command][0]}: it {relation} the input",
    )
    assert out == "" and _tree(target.parent) == before
