"""Atomic file and directory writes: a reader never sees a half-written result.

Files are written to a temporary sibling, flushed with ``fsync`` and renamed over the
target (``os.replace`` is atomic on POSIX and Windows). Directories are built in a
temporary sibling and swapped in only once they are complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recsys.errors import DataError

__all__ = [
    "atomic_directory",
    "atomic_write",
    "check_writable_dir",
    "write_json_atomic",
]


def check_writable_dir(path: str | os.PathLike[str], *, what: str = "output") -> Path:
    """Check that ``path`` (a directory to create or replace) can be written.

    The nearest existing ancestor must be a writable directory.

    Raises
    ------
    DataError
        If ``path`` is an existing file, or no ancestor can be written.
    """
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise DataError(
            f"{what} path {str(target)!r} is a file, expected a directory: "
            "choose another path or remove the file."
        )
    probe = target
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise DataError(
            f"cannot write the {what} directory {str(target)!r}: {str(probe)!r} is not "
            "writable. Choose a writable location with --out."
        )
    return target


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> with atomic_write("out.txt") as f:  # doctest: +SKIP
    ...     f.write("done")
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    with atomic_write(path) as handle:
        json.dump(payload, handle, indent=2, sort_keys=False, default=_json_default)
        handle.write("\n")


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, paths
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``path`` when the block succeeds.

    If ``path`` already exists it is replaced as a whole (the old one is removed only
    after the new one is in place). If the block raises, ``path`` is untouched and the
    temporary directory is deleted.
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; give what mkdir would
    try:
        yield tmp
        _fsync_tree(tmp)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                        dir=target.parent))
            old.rmdir()
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
