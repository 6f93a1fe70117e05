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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from recsys.errors import DataError
from recsys.jsonutil import json_default

__all__ = [
    "Marker",
    "atomic_directory",
    "atomic_write",
    "check_replaceable",
    "check_writable_dir",
    "check_writable_file",
    "write_json_atomic",
]


Marker = str | Sequence[str]


def check_writable_dir(
    path: str | os.PathLike[str],
    *,
    what: str = "output",
    marker: Marker | None = None,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    parameter: str | None = None,
) -> Path:
    """Check, before any work, that ``path`` (a directory to create or replace) can be written.

    The nearest existing ancestor must be a directory in which a folder can really be
    created (tried, then removed). With ``marker``, ``path`` is a directory the writer
    replaces as a whole (:func:`atomic_directory`), so it must also be safe to replace
    (see :func:`check_replaceable`).

    Parameters
    ----------
    path : the output directory.
    what : what is written there, for the messages (``"model"``, ``"report"``).
    marker : the file (or files, all of them) that every output of this writer holds;
        an existing non-empty directory without it is someone else's and is refused.
    inputs : paths the caller reads; a target that is or contains one is refused.
    parameter : the caller's name for ``path`` (e.g. ``"directory"``), given to the
        errors as :attr:`~recsys.errors.RecsysError.parameter`.

    Returns
    -------
    Path of the target (``~`` expanded).

    Raises
    ------
    DataError
        If ``path`` is an existing file, no ancestor can be written, or (with ``marker``)
        the directory is not safe to replace.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "runs" / "bias"
    >>> check_writable_dir(target, what="model", marker="recsys_model.json") == target
    True
    >>> target.exists()  # checked, not created
    False
    """
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise DataError(
            f"{what} path {str(target)!r} is a file, expected a directory: "
            "choose another path or remove the file.",
            parameter=parameter,
        )
    if marker is not None:
        check_replaceable(target, what=what, marker=marker, inputs=inputs, parameter=parameter)
    probe = target
    while not probe.exists():
        probe = probe.parent
    problem = None
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        problem = "is not writable"
    else:
        try:  # os.access trusts permission bits; /proc, read-only mounts, root squash...
            os.rmdir(tempfile.mkdtemp(prefix=".recsys-probe.", dir=probe))
        except OSError as error:
            problem = f"is not writable ({error.strerror})"
    if problem is not None:
        raise DataError(
            f"cannot write the {what} directory {str(target)!r}: {str(probe)!r} {problem}. "
            "Choose a writable location.",
            parameter=parameter,
        )
    return target


def check_replaceable(
    path: str | os.PathLike[str],
    *,
    what: str = "output",
    marker: Marker,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    parameter: str | None = None,
) -> None:
    """Refuse to replace a directory that is not a previous output of the same writer.

    ``path`` may be replaced when it does not exist, is empty, or holds ``marker`` (a
    file name, or several that must all be there). Never replaced: the current directory
    or one of its parents, and a directory that is or contains one of ``inputs``.

    Raises
    ------
    DataError
        Naming what is there and how to proceed (another folder, or remove it), with
        ``parameter`` as its :attr:`~recsys.errors.RecsysError.parameter`.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> check_replaceable(folder, what="report", marker="report.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.DataError: the report directory '...' already exists and is not a ...
    """
    target = Path(path).expanduser()
    resolved = target.resolve()
    with contextlib.suppress(OSError):
        here = Path.cwd().resolve()
        if resolved == here or resolved in here.parents:
            which = (
                "the current directory" if resolved == here else "a parent of the current directory"
            )
            raise DataError(
                f"refusing to replace {str(target)!r} with the {what}: it is {which}. "
                "Give a new folder, e.g. runs/NAME.",
                parameter=parameter,
            )
    for item in inputs:
        if item is None or str(item) == "":
            continue
        source = Path(item).expanduser()
        if not source.exists():  # e.g. a dataset name, not a path
            continue
        source = source.resolve()
        if source == resolved or resolved in source.parents:
            relation = "is" if source == resolved else "holds"
            raise DataError(
                f"refusing to replace {str(target)!r} with the {what}: it {relation} the "
                f"input {str(item)!r}. Choose another folder.",
                parameter=parameter,
            )
    if not target.is_dir():
        return
    entries = sorted(os.listdir(target))
    names = (marker,) if isinstance(marker, str) else tuple(marker)
    missing = [n for n in names if not (target / n).is_file()]
    if entries and missing:
        shown = ", ".join(entries[:3]) + (
            f" and {len(entries) - 3} more" if len(entries) > 3 else ""
        )
        raise DataError(
            f"the {what} directory {str(target)!r} already exists and is not a previous "
            f"{what} (no {', '.join(missing)}; it holds {shown}); choose another folder or "
            "remove that folder yourself.",
            parameter=parameter,
        )


def check_writable_file(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    suffix: str | None = None,
) -> Path:
    """Check, before any work, that the file ``path`` can be written by :func:`atomic_write`.

    Its folder must already exist (output files never create folders), ``path`` must
    not be a directory, and it must not be one of the files the command reads.

    Parameters
    ----------
    path : the output file.
    what : what is written there, for the messages (``"CSV"``).
    inputs : files the command reads (existing or not yet, e.g. a database's journal);
        a target that is one of them (same path after resolving links, or the same file
        through a hard link) is refused.
    suffix : the extension outputs of this kind have (``".csv"``, compared without
        regard to case); an existing file with another extension is never overwritten.
        A new file may have any name.

    Returns
    -------
    Path of the target (``~`` expanded).

    Raises
    ------
    DataError
        If the folder is missing, ``path`` is a directory, is one of ``inputs``, or
        (with ``suffix``) is an existing file with another extension.

    Examples
    --------
    >>> check_writable_file("/nonexistent/x.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.DataError: cannot write the file '/nonexistent/x.csv': the folder ...
    """
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise DataError(
            f"cannot write the {what} {str(target)!r}: the folder {str(target.parent)!r} does "
            "not exist; create it first or choose another path."
        )
    if target.is_dir():
        raise DataError(
            f"cannot write the {what} {str(target)!r}: it is a directory; give a file name."
        )
    for item in inputs:
        if item is not None and str(item) != "" and _same_file(target, Path(item).expanduser()):
            raise DataError(
                f"refusing to overwrite {str(target)!r} with the {what}: it is the input "
                f"{str(item)!r}. Give another path."
            )
    if suffix is not None and target.exists() and target.suffix.lower() != suffix.lower():
        raise DataError(
            f"refusing to overwrite {str(target)!r} with the {what}: it exists and is not a "
            f"{suffix} file. Give a {suffix} path."
        )
    return target


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same file (either may not exist yet)."""
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was. The
    folder of ``path`` must exist: a missing folder is an error, never created (commands
    that create folders for their outputs say so and create them themselves). Errors
    name ``path``, never the temporary file.

    Raises
    ------
    DataError
        If the folder of ``path`` does not exist or ``path`` is a directory.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(target) as f:
    ...     _ = f.write("done")
    >>> target.read_text()
    'done'
    """
    target = check_writable_file(path)
    binary = "b" in mode
    with _naming(target):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
    try:
        with (
            _naming(target, tmp),
            os.fdopen(fd, mode, encoding=None if binary else encoding) as handle,
        ):
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with _naming(target, tmp):
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    with atomic_write(path) as handle:
        json.dump(payload, handle, indent=2, sort_keys=False, default=json_default)
        handle.write("\n")


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike[str], *, marker: Marker, what: str = "output"
) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``path`` when the block succeeds.

    Missing parent folders of ``path`` are created. An existing ``path`` is replaced as
    a whole (the old one is removed only after the new one is in place), but only if it
    is safe to (:func:`check_replaceable`): empty, or a previous output of this writer,
    recognised by ``marker``, the file (or files) the block must write. If the block
    raises, ``path`` is untouched and the temporary directory is deleted. Errors name
    ``path``, never the temporary directory.

    Parameters
    ----------
    path : the directory to create or replace.
    marker : file name(s) every output of this writer holds (e.g. ``"report.html"``).
    what : what the directory is, for the messages.

    Raises
    ------
    DataError
        If ``path`` is not safe to replace (see :func:`check_replaceable`).
    RuntimeError
        If the block did not write ``marker`` (a bug in the writer).

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "runs" / "report"
    >>> with atomic_directory(target, marker="report.html") as tmp:
    ...     _ = (tmp / "report.html").write_text("<html></html>")
    >>> sorted(p.name for p in target.iterdir())
    ['report.html']
    """
    target = Path(path).expanduser()
    names = (marker,) if isinstance(marker, str) else tuple(marker)
    check_replaceable(target, what=what, marker=names)
    with _naming(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; give what mkdir would
    try:
        with _naming(target, tmp):
            yield tmp
            unwritten = [n for n in names if not (tmp / n).is_file()]
            if unwritten:
                raise RuntimeError(
                    f"the {what} written to {str(target)!r} lacks its marker "
                    f"{', '.join(unwritten)}; the writer must create it."
                )
            _fsync_tree(tmp)
            check_replaceable(target, what=what, marker=names)  # nothing changed meanwhile
            if target.exists():
                old = Path(
                    tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
                )
                old.rmdir()
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def _naming(target: Path, tmp: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Re-raise an ``OSError`` about the temporary ``tmp`` (or none) as one about ``target``.

    The user named ``target``; the temporary sibling is an implementation detail.
    """
    try:
        yield
    except OSError as error:
        name = None if error.filename is None else os.fspath(error.filename)
        if tmp is not None and name is not None and name.startswith(os.fspath(tmp)):
            name = os.fspath(target) + name[len(os.fspath(tmp)) :]
        elif tmp is None or name is None:
            name = os.fspath(target)
        else:
            raise
        if error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, name) from None


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
