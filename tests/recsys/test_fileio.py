"""Atomic writes: complete or absent, with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from recsys.fileio import atomic_directory, atomic_write


def test_files_and_directories_get_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt") as handle:
            handle.write("x")
        with atomic_directory(tmp_path / "d") as folder:
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
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "d") as folder:
        (folder / "f").write_text("y")
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
