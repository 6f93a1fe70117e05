"""Atomic writes: complete or absent, with ordinary permissions, never someone else's folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from recsys.errors import DataError
from recsys.fileio import (
    atomic_directory,
    atomic_write,
    check_replaceable,
    check_writable_dir,
    check_writable_file,
)


def test_files_and_directories_get_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt") as handle:
            handle.write("x")
        with atomic_directory(tmp_path / "d", marker="f") as folder:
            (folder / "f").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_a_failed_write_leaves_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "d", marker="f") as folder:
        (folder / "f").write_text("y")
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_foreign_folder_is_never_replaced(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "important.txt").write_text("data")
    with pytest.raises(
        DataError,
        match=r"not a previous model \(no model\.json; it holds "
        r"important\.txt\); choose another folder",
    ) as caught:
        check_writable_dir(precious, what="model", marker="model.json", parameter="directory")
    assert caught.value.parameter == "directory"
    ran = False
    with (
        pytest.raises(DataError, match=r"no model\.json"),
        atomic_directory(precious, marker="model.json", what="model") as folder,
    ):
        ran = True
        (folder / "model.json").write_text("{}")
    assert not ran  # refused before the block
    assert _tree(tmp_path) == {"precious/important.txt": "data"}


def test_a_previous_output_or_an_empty_folder_is_replaced(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.json").write_text("old")
    (old / "stale.bin").write_text("stale")
    empty = tmp_path / "empty"
    empty.mkdir()
    for target in (old, empty):
        check_writable_dir(target, marker="model.json")
        with atomic_directory(target, marker="model.json") as folder:
            (folder / "model.json").write_text("new")
        assert _tree(target) == {"model.json": "new"}


def test_every_marker_file_is_needed(tmp_path: Path) -> None:
    target = tmp_path / "set"
    target.mkdir()
    (target / "manifest.json").write_text("{}")  # e.g. a feature store: only a manifest
    with pytest.raises(DataError, match=r"no movies\.parquet"):
        check_replaceable(target, marker=("manifest.json", "movies.parquet"))
    (target / "movies.parquet").write_text("")
    check_replaceable(target, marker=("manifest.json", "movies.parquet"))


def test_the_block_must_write_the_marker(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match=r"lacks its marker done\.txt"),
        atomic_directory(tmp_path / "d", marker="done.txt") as folder,
    ):
        (folder / "other.txt").write_text("x")
    assert list(tmp_path.iterdir()) == []


def test_the_current_directory_and_its_parents_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "report.html").write_text("an old report, but also where the user stands")
    monkeypatch.chdir(work)
    for path, which in (
        (".", "it is the current directory"),
        (str(work), "it is the current directory"),
        ("..", "it is a parent of the current directory"),
    ):
        with pytest.raises(DataError, match=which):
            check_writable_dir(path, what="report", marker="report.html")
        with (
            pytest.raises(DataError, match=which),
            atomic_directory(path, marker="report.html") as folder,
        ):
            (folder / "report.html").write_text("new")
    assert _tree(tmp_path) == {"work/report.html": "an old report, but also where the user stands"}


def test_a_folder_holding_an_input_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "model.json").write_text("looks like an output, but it is the input")
    for target, relation in ((data / "model.json", "is"), (data, "holds"), (tmp_path, "holds")):
        with pytest.raises(DataError, match=f"it {relation} the input"):
            check_replaceable(target, marker="model.json", inputs=[data / "model.json"])
    # an input that does not exist (a dataset name, say) cannot be destroyed
    check_writable_dir(tmp_path / "out", marker="model.json", inputs=["ml-latest-small", None])


def test_an_unwritable_location_is_caught_up_front(tmp_path: Path) -> None:
    if not Path("/proc").is_dir():
        pytest.skip("no /proc")
    # os.access says root may write /proc; creating a folder there fails all the same
    with pytest.raises(DataError, match="cannot write the report directory '/proc/rep'"):
        check_writable_dir("/proc/rep", what="report")
    assert list(tmp_path.iterdir()) == []


def test_errors_name_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    if not Path("/proc").is_dir():
        pytest.skip("no /proc")
    with pytest.raises(OSError) as caught, atomic_directory("/proc/rep", marker="m"):
        pass
    assert caught.value.filename == "/proc/rep"
    with pytest.raises(OSError) as caught, atomic_write("/proc/rep.txt"):
        pass
    assert caught.value.filename == "/proc/rep.txt"
    target = tmp_path / "d"
    with pytest.raises(FileNotFoundError) as caught, atomic_directory(target, marker="m") as tmp:
        (tmp / "missing" / "f").write_text("x")  # a file inside the temporary directory
    assert caught.value.filename == str(target / "missing" / "f")
    unrelated = tmp_path / "input.csv"  # an error about another file keeps its name
    with pytest.raises(FileNotFoundError) as caught, atomic_directory(target, marker="m"):
        unrelated.read_text()
    assert caught.value.filename == str(unrelated)


def test_a_file_in_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "x.csv"
    with (
        pytest.raises(
            DataError,
            match=r"the folder '.*nowhere' does not exist; create it "
            "first",
        ),
        atomic_write(target) as handle,
    ):
        handle.write("x")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_an_input_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "m.sqlite"
    store.write_bytes(b"db")
    inputs = [None, "", store, tmp_path / "m.sqlite-wal"]  # the journal does not exist yet
    (tmp_path / "link.sqlite").symlink_to(store)
    os.link(store, tmp_path / "hard.sqlite")
    (tmp_path / "sub").mkdir()
    for target in (
        store,
        tmp_path / "link.sqlite",
        tmp_path / "hard.sqlite",
        tmp_path / "sub" / ".." / "m.sqlite-wal",
    ):
        with pytest.raises(
            DataError,
            match=r"refusing to overwrite .* with the CSV: it is the "
            r"input '.*m\.sqlite(-wal)?'\. Give another path",
        ):
            check_writable_file(target, what="CSV", inputs=inputs)
    assert check_writable_file(tmp_path / "out.csv", inputs=inputs) == tmp_path / "out.csv"
    assert store.read_bytes() == b"db" and not (tmp_path / "m.sqlite-wal").exists()


def test_an_existing_file_of_another_kind_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "1.jpg").write_bytes(b"jpeg")
    (tmp_path / "old.CSV").write_text("a\n")
    with pytest.raises(
        DataError,
        match=r"'.*1\.jpg' with the CSV: it exists and is not a "
        r"\.csv file\. Give a \.csv path\.",
    ):
        check_writable_file(tmp_path / "1.jpg", what="CSV", suffix=".csv")
    assert check_writable_file(tmp_path / "1.jpg") == tmp_path / "1.jpg"  # no suffix rule
    assert check_writable_file(tmp_path / "old.CSV", suffix=".csv") == tmp_path / "old.CSV"
    assert check_writable_file(tmp_path / "new.txt", suffix=".csv") == tmp_path / "new.txt"
