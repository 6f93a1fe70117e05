"""Atomic writes: complete or absent, with ordinary permissions, never someone else's folder."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.errors import DataError
from recsys.fileio import (
    KILL_AFTER_ENV,
    STEP_LOG_ENV,
    atomic_directory,
    atomic_write,
    check_replaceable,
    check_writable_dir,
    check_writable_file,
    readable_dir,
    reserve_outputs,
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


# ------------------------------------------------- atomic switch, locks, leftovers
def _hold_lock_in_child(target: Path) -> subprocess.Popen[str]:
    """A second process holding the lock of ``target`` until its stdin closes."""
    code = (
        "import sys; from recsys.fileio import locked_output\n"
        f"with locked_output({str(target)!r}):\n"
        "    print('held', flush=True); sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_second_writer_is_refused_up_front(tmp_path: Path) -> None:
    target = tmp_path / "model"
    child = _hold_lock_in_child(target)
    try:
        with reserve_outputs(), pytest.raises(DataError) as caught:
            check_writable_dir(target, what="model", marker="m.json", parameter="directory")
        assert f"another process (pid {child.pid}) is writing the model" in str(caught.value)
        assert caught.value.parameter == "directory"
        with (
            pytest.raises(DataError, match="another process"),
            atomic_directory(target, marker="m.json") as folder,
        ):
            (folder / "m.json").write_text("{}")
        assert not target.exists()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    with atomic_directory(target, marker="m.json") as folder:  # free again
        (folder / "m.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no lock file left


def test_reservations_end_with_their_block(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with reserve_outputs():
        check_writable_dir(target, what="model", marker="m.json")
        assert (tmp_path / ".model.lock").is_file()
        with atomic_directory(target, marker="m.json") as folder:  # same process: re-entrant
            (folder / "m.json").write_text("{}")
        assert (tmp_path / ".model.lock").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    check_writable_dir(target, what="model", marker="m.json")  # outside a block: no lock
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_leftovers_of_killed_runs_are_removed_by_the_next_writer(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_directory(target, marker="m") as folder:
        (folder / "m").write_text("old")
    for name in (".out.123-0a1b2c3d.tmp", ".out.abcdefgh.old", ".out.456-89abcdef.new"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m").write_text("junk")
    (tmp_path / ".out.lock").write_text("999999\n")  # a killed holder's lock file
    (tmp_path / ".out.v2.abcdefgh.tmp").mkdir()  # another output's ("out.v2"): kept
    with atomic_directory(target, marker="m") as folder:
        (folder / "m").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.v2.abcdefgh.tmp", "out"]
    assert (target / "m").read_text() == "new"


def test_an_interrupted_two_rename_switch_is_read_and_finished(tmp_path: Path) -> None:
    """Where no atomic exchange exists: killed between the renames, the output is
    missing but its complete new version waits as ``.NAME.<id>.new``."""
    target = tmp_path / "out"
    ready = tmp_path / ".out.77-0a1b2c3d.new"
    ready.mkdir()
    (ready / "m").write_text("new")
    (tmp_path / ".out.77-0a1b2c3d.old").mkdir()  # the old one, moved aside
    assert readable_dir(target) == ready
    with reserve_outputs():
        check_writable_dir(target, what="output", marker="m")  # the next run finishes it
    assert (target / "m").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_earlier_versions_interrupted_switch_gets_the_old_output_back(tmp_path: Path) -> None:
    target = tmp_path / "out"
    (tmp_path / ".out.abcdefgh.old").mkdir()
    (tmp_path / ".out.abcdefgh.old" / "m").write_text("old")
    (tmp_path / ".out.ijklmnop.tmp").mkdir()  # may be incomplete: never used
    assert readable_dir(target) == tmp_path / ".out.abcdefgh.old"
    with atomic_directory(target, marker="m") as folder:
        assert (target / "m").read_text() == "old"  # recovered before the new one
        (folder / "m").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("exchange", [True, False])
def test_replacing_with_and_without_an_atomic_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setenv("RECSYS_TEST_NO_EXCHANGE", "1")
    log = tmp_path / "steps.log"
    monkeypatch.setenv(STEP_LOG_ENV, str(log))
    target = tmp_path / "runs" / "out"
    for text in ("old", "new"):
        with atomic_directory(target, marker="m") as folder:
            (folder / "m").write_text(text)
    assert (target / "m").read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out"]
    kinds = [line.split("\t")[1] for line in log.read_text().splitlines()]
    second = ["exchange"] if exchange else ["rename", "rename", "rename"]
    assert kinds == ["ready", "rename", "ready", *second]


@pytest.mark.slow  # eight subprocesses; CI runs it
def test_a_kill_after_any_step_leaves_the_old_or_the_new_folder(tmp_path: Path) -> None:
    """The harness in miniature: a child replacing a folder, killed after step n."""
    code = (
        "import sys; from pathlib import Path; from recsys.fileio import atomic_directory\n"
        "with atomic_directory(sys.argv[1], marker='m') as f:\n"
        "    (f / 'm').write_text('new'); (f / 'data').write_text('new data')\n"
    )
    target = tmp_path / "out"
    outcomes = []
    for exchange in (True, False):
        for n in (1, 2, 3, 4):
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            (target / "m").write_text("old")
            (target / "data").write_text("old data")
            env = {**os.environ, KILL_AFTER_ENV: str(n)}
            env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
            if not exchange:
                env["RECSYS_TEST_NO_EXCHANGE"] = "1"
            done = subprocess.run([sys.executable, "-c", code, str(target)], env=env)
            seen = readable_dir(target)
            state = {p.name: p.read_text() for p in seen.iterdir()}
            assert state in ({"m": "old", "data": "old data"}, {"m": "new", "data": "new data"})
            outcomes.append((exchange, n, done.returncode == -signal.SIGKILL, state["m"]))
    # step 1 is "ready" (complete, not switched); then the exchange, or three renames
    assert [o for o in outcomes if o[2]] == [
        (True, 1, True, "old"),
        (True, 2, True, "new"),
        (False, 1, True, "old"),
        (False, 2, True, "old"),
        (False, 3, True, "new"),
        (False, 4, True, "new"),
    ]


def test_a_killed_file_write_leaves_a_temporary_the_next_write_takes_over(
    tmp_path: Path,
) -> None:
    code = (
        "import sys; from recsys.fileio import atomic_write\n"
        "with atomic_write(sys.argv[1]) as f:\n"
        "    f.write('new'); f.flush(); import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    target = tmp_path / "a.txt"
    target.write_text("old")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", code, str(target)], env=env)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.txt.partial.tmp", "a.txt"]
    with atomic_write(target) as handle:
        handle.write("newer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert target.read_text() == "newer"
