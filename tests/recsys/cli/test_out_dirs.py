"""``--out`` never replaces a folder that is not a previous output of the same command.

``recsys train`` and ``recsys synth`` build their output directory elsewhere and swap it
in; the folder named by ``--out`` must be new, empty, or a previous output (it holds the
command's marker file). A foreign folder, the current directory and its parents are
refused with one line, before any work, and left untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.cli import main
from tests.conftest import REPO

from .helpers import assert_one_line_error, invoke

TRAIN = [
    "train",
    "--model",
    "bias",
    "--epochs",
    "1",
    "--ratings",
    str(REPO / "tests/fixtures/ml-csv/ratings.csv"),
    "--split",
    "random:0.3",
    "--batch-size",
    "4",
]
SYNTH = ["synth", "--users", "20", "--movies", "15", "--ratings", "100", "--quiet"]
COMMANDS = {
    "train": (TRAIN, "recsys_model.json", "model"),
    "synth": (SYNTH, "synth.json", "synthetic dataset"),
}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _precious(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "important.txt").write_text("the user's data")
    (folder / "notes").mkdir()
    (folder / "notes" / "a.md").write_text("more")
    return folder


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_foreign_folder_is_refused_before_any_work_and_kept(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, marker, what = COMMANDS[command]
    precious = _precious(tmp_path / "precious")
    before = _tree(tmp_path)
    code, out, err = invoke(main, [*argv, "--out", str(precious)], capsys)
    assert_one_line_error(
        code,
        err,
        f"the {what} directory {str(precious)!r} already exists "
        f"and is not a previous {what} (no {marker}; it holds "
        "important.txt, notes); choose another folder or remove that folder yourself. "
        "(set by --out)",
    )
    assert out == ""  # failed fast: no training or generation output
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]  # no temporary left


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_previous_output_of_the_same_command_is_replaced(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, marker, _ = COMMANDS[command]
    out = tmp_path / "out"
    code, _, err = invoke(main, [*argv, "--out", str(out)], capsys)
    assert code == 0, err
    first = _tree(out)
    assert marker in first
    (out / "stale.txt").write_text("from an older run")
    code, _, err = invoke(main, [*argv, "--out", str(out)], capsys)
    assert code == 0, err
    assert set(_tree(out)) == set(first)  # replaced as a whole: the stale file is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("where", [".", "..", "HERE"])
def test_the_current_directory_and_its_parents_are_refused(
    command: str,
    where: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv, _, what = COMMANDS[command]
    work = _precious(tmp_path / "work")
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    target = str(work) if where == "HERE" else where
    which = "a parent of the current directory" if where == ".." else "the current directory"
    code, out, err = invoke(main, [*argv, "--out", target], capsys)
    assert_one_line_error(
        code,
        err,
        f"refusing to replace {target!r} with the {what}: it is {which}. "
        "Give a new folder, e.g. runs/NAME. (set by --out)",
    )
    assert out == "" and _tree(tmp_path) == before
