"""Atomic file and directory writes: a reader never sees a half-written result.

Files are written to a temporary sibling, flushed with ``fsync`` and renamed over the
target (``os.replace`` is atomic on POSIX and Windows). Directories are built in a
temporary sibling and switched in one atomic step once they are complete (on Linux the
two folders trade places; see :func:`atomic_directory`), so a process killed at any
instant leaves the complete old output or the complete new one. A writer locks its
output (``flock`` on a ``.NAME.lock`` sibling): a second process is refused in one line,
before it starts working when the command reserved its outputs
(:func:`reserve_outputs`). The next writer of an output removes what killed runs left
beside it. :func:`output_step` marks each visible step for the kill-point tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from recsys.errors import DataError
from recsys.jsonutil import json_default

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "KILL_AFTER_ENV",
    "STEP_LOG_ENV",
    "Marker",
    "atomic_directory",
    "atomic_write",
    "check_replaceable",
    "check_writable_dir",
    "check_writable_file",
    "locked_output",
    "output_step",
    "readable_dir",
    "reserve_output",
    "reserve_outputs",
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
    (see :func:`check_replaceable`). Inside :func:`reserve_outputs` (every command of
    the command line), ``path`` is then locked for this process (:func:`reserve_output`):
    a second process writing the same output is refused here, before any work, and the
    leftovers of killed runs beside ``path`` are cleaned up.

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
        If ``path`` is an existing file, no ancestor can be written, (with ``marker``)
        the directory is not safe to replace, or another process is writing it.

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
    reserve_output(target, what=what, parameter=parameter)
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

    The temporary file is ``.NAME.partial.tmp`` beside ``path``, locked (``flock``) while
    it is written: a run killed midway leaves it behind, and the next write of ``path``
    takes it over, so leftovers do not pile up. A second process writing ``path`` at the
    same time finds it locked and uses a temporary file of its own; the last rename wins
    and ``path`` is always one complete version.

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
        fd, tmp = _locked_temp_file(target)
    try:
        with (
            _naming(target, tmp),
            os.fdopen(fd, mode, encoding=None if binary else encoding) as handle,
        ):
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            with _naming(target, tmp):
                os.replace(tmp, target)  # while the lock is held (see _locked_temp_file)
        _step("replace", target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _locked_temp_file(target: Path) -> tuple[int, str]:
    """A temporary sibling of ``target``, opened for writing and locked with ``flock``.

    ``.NAME.partial.tmp`` when no live writer holds it (a leftover of a killed run is
    taken over and truncated), else a fresh ``.NAME.XXXXXXXX.tmp``. Permissions are
    those ``open()`` would give.
    """
    fixed = target.parent / f".{target.name}.partial.tmp"
    for _ in range(3):
        fd = os.open(fixed, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        if not _try_flock(fd):
            os.close(fd)
            break
        try:  # the writer before us may have renamed this inode into place meanwhile
            same = os.stat(fixed).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            return fd, str(fixed)
        os.close(fd)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
    _try_flock(fd)
    return fd, tmp


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
    a whole, but only if it is safe to (:func:`check_replaceable`): empty, or a previous
    output of this writer, recognised by ``marker``, the file (or files) the block must
    write. If the block raises, ``path`` is untouched and the temporary directory is
    deleted. Errors name ``path``, never the temporary directory.

    The switch is one atomic step: on Linux the new folder and the old one trade
    places (``renameat2`` with ``RENAME_EXCHANGE``), so ``path`` is at every instant
    the complete old or the complete new output, and a reader never finds it missing.
    Where the kernel or file system cannot exchange, the new folder is first renamed to
    ``.NAME.<id>.new`` (complete from then on), the old one moved aside and the new one
    renamed into place; :func:`readable_dir` lets a reader find the ``.new`` folder
    in the moment between, and the next writer finishes an interrupted switch.

    While the block runs, ``path`` is locked for this process (:func:`reserve_output`):
    another process writing it is refused with a :class:`~recsys.errors.DataError`.
    Leftovers of killed runs beside ``path`` (``.NAME.*.tmp``, ``.old``) are removed.

    Parameters
    ----------
    path : the directory to create or replace.
    marker : file name(s) every output of this writer holds (e.g. ``"report.html"``).
    what : what the directory is, for the messages.

    Raises
    ------
    DataError
        If ``path`` is not safe to replace (see :func:`check_replaceable`), or another
        process is writing it.
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
    with _reserved(target, what=what):
        check_replaceable(target, what=what, marker=names)  # after finishing a switch
        with _naming(target):
            tmp = _new_sibling(target, "tmp")
            tmp.mkdir(0o777)  # with the umask: what mkdir would give
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
                _step("ready", tmp)  # complete, not yet switched: a kill point of its own
                _switch(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def readable_dir(path: str | os.PathLike[str]) -> Path:
    """The folder a reader of the output ``path`` should read.

    ``path`` itself, unless it is missing because a writer on a system without an
    atomic exchange was stopped between its two renames (see :func:`atomic_directory`):
    then the complete new output, ``.NAME.<id>.new``, or else the complete old one that
    an earlier version of this toolkit moved aside (``.NAME.XXXXXXXX.old``). A path
    with neither is returned as it is (the caller reports it missing).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / ".model.123-0a1b2c3d.new").mkdir()
    >>> readable_dir(folder / "model").name
    '.model.123-0a1b2c3d.new'
    """
    target = Path(path).expanduser()
    if os.path.lexists(target):
        return target
    for suffix in ("new", "old"):
        found = _leftovers(target, (suffix,))
        if len(found) == 1:
            return found[0]
    return target


# --------------------------------------------------------------- switching folders
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_NO_EXCHANGE = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV)


def _renameat2() -> Any:
    """glibc's ``renameat2`` through ctypes, or ``None`` where there is none."""
    if sys.platform != "linux" or os.environ.get(_NO_EXCHANGE_ENV):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):  # not glibc >= 2.28 (musl, old systems)
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step; ``False`` if not supported."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in _NO_EXCHANGE:
        return False
    raise OSError(error, os.strerror(error), os.fspath(b))


def _switch(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` at ``target`` (see :func:`atomic_directory`)."""
    if not os.path.lexists(target):
        os.rename(new, target)
        _step("rename", target)
        _fsync_dir(target.parent)
        return
    if _exchange(new, target):
        _step("exchange", target)
        _fsync_dir(target.parent)
        shutil.rmtree(new, ignore_errors=True)  # the old output now
        return
    ready = new.with_name(new.name[: -len(".tmp")] + ".new")
    os.rename(new, ready)  # complete from here on: a reader or the next run may use it
    _step("rename", ready)
    old = new.with_name(new.name[: -len(".tmp")] + ".old")
    os.rename(target, old)
    _step("rename", old)
    os.rename(ready, target)
    _step("rename", target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _new_sibling(target: Path, suffix: str) -> Path:
    """``.NAME.<pid>-<random>.<suffix>`` beside ``target`` (not created)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.{suffix}")


def _leftovers(target: Path, suffixes: Sequence[str] = ("tmp", "old", "new")) -> list[Path]:
    """Siblings of ``target`` that a writer of it made and a killed run left behind.

    Our own ``.NAME.<pid>-<hex>.<suffix>`` and those of earlier versions (``mkdtemp``'s
    ``.NAME.XXXXXXXX.tmp``/``.old``); never names with another dot in the middle, which
    belong to a sibling output such as ``NAME.v2``.
    """
    pattern = re.compile(
        rf"\.{re.escape(target.name)}\.(?:\d+-[0-9a-f]{{8}}|[a-z0-9_]{{8}})\."
        rf"(?:{'|'.join(suffixes)})"
    )
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    return sorted(target.parent / n for n in names if pattern.fullmatch(n))


def _recover(target: Path) -> None:
    """Finish a switch a killed run left halfway, then remove its leftovers.

    Called with ``target`` locked. A missing ``target`` beside a ``.new`` folder (the
    complete new output) gets it; beside only an ``.old`` folder of an earlier version
    (whose ``.tmp`` may be incomplete), the old output goes back.
    """
    if not os.path.lexists(target):
        for suffix in ("new", "old"):
            found = _leftovers(target, (suffix,))
            if found:
                os.rename(found[-1], target)
                _step("recover", target)
                break
    for leftover in _leftovers(target):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                leftover.unlink()


# ------------------------------------------------------------------ locking outputs
_held: dict[str, list[Any]] = {}  # resolved lock path -> [fd, count]
_scopes: list[list[str]] = []  # reservations of the open reserve_outputs() blocks


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _try_flock(fd: int) -> bool:
    """Lock ``fd`` exclusively without waiting; ``False`` if another holder has it."""
    if fcntl is None:  # pragma: no cover - Windows: no advisory locks
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _acquire(target: Path, *, what: str, parameter: str | None) -> str:
    """Lock ``.NAME.lock`` beside ``target`` for this process (re-entrant); returns its key.

    Raises
    ------
    DataError
        If another process holds it.
    """
    lock = _lock_path(target)
    key = os.path.realpath(lock)
    if key in _held:
        _held[key][1] += 1
        return key
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as error:
            if error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise OSError(error.errno, error.strerror, os.fspath(target)) from None
            # A folder changed in place (a feature store) inside one we may not write:
            # no lock file can exist there, and no writer can swap a folder in it.
            _held[key] = [None, 1]
            return key
        if not _try_flock(fd):
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise DataError(
                f"another process{pid} is writing the {what} {str(target)!r}; wait for it "
                "to finish or choose another folder.",
                parameter=parameter,
            )
        try:  # the holder before us may have removed the lock file on release
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[key] = [fd, 1]
    _recover(target)
    return key


def _release(key: str) -> None:
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] > 0:
        return
    del _held[key]
    if entry[0] is None:  # no lock file could be made (see _acquire)
        return
    with contextlib.suppress(OSError):
        os.unlink(key)  # before unlocking: a waiter re-checks the inode (see _acquire)
    os.close(entry[0])


@contextlib.contextmanager
def locked_output(
    path: str | os.PathLike[str], *, what: str = "output", parameter: str | None = None
) -> Iterator[None]:
    """Hold the lock of the output ``path`` (its ``.NAME.lock`` sibling) for a block.

    Re-entrant within a process; the leftovers of killed writers of ``path`` are
    removed once it is held. Writers that change an output in place (a feature store)
    use it; :func:`atomic_directory` holds it while it runs.

    Raises
    ------
    DataError
        If another process holds it, naming ``parameter``.
    """
    target = Path(path).expanduser()
    key = _acquire(target, what=what, parameter=parameter)
    try:
        yield
    finally:
        _release(key)


_reserved = locked_output


@contextlib.contextmanager
def reserve_outputs() -> Iterator[None]:
    """A block (a command's run) in which the outputs it checks stay locked.

    Inside it, :func:`check_writable_dir` locks the directory it checks (its
    ``.NAME.lock`` sibling, with ``flock``) until the block ends, so that a second
    process given the same output is refused before it starts working, not after.
    The lock files are removed when the block ends; a killed process's lock is released
    by the system and its file reused. The command-line interface runs every command
    inside one.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "model"
    >>> with reserve_outputs():
    ...     _ = check_writable_dir(target, what="model", marker="m.json")
    ...     (target.parent / ".model.lock").exists()
    True
    >>> (target.parent / ".model.lock").exists()
    False
    """
    _scopes.append([])
    try:
        yield
    finally:
        for key in reversed(_scopes.pop()):
            _release(key)


def reserve_output(
    path: str | os.PathLike[str], *, what: str = "output", parameter: str | None = None
) -> bool:
    """Lock the output ``path`` until the enclosing :func:`reserve_outputs` block ends.

    Does nothing (returns ``False``) outside such a block, when the folder of ``path``
    does not exist yet (nothing can be there to clean; the writer locks at write time),
    or for a worker of a multi-worker training cluster other than its chief (they all
    run the same command with the same output, which only the chief writes).

    Raises
    ------
    DataError
        If another process holds the lock (it is writing ``path``).
    """
    target = Path(path).expanduser()
    if not _scopes or not target.parent.is_dir() or not _is_cluster_chief():
        return False
    key = _acquire(target, what=what, parameter=parameter)
    _scopes[-1].append(key)
    return True


def _is_cluster_chief() -> bool:
    """Whether this process is the chief (or alone) under ``TF_CONFIG``'s cluster."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return True
    try:
        config = json.loads(text)
        cluster, task = config.get("cluster") or {}, config.get("task") or {}
        kind, index = task.get("type"), int(task.get("index", 0))
    except (ValueError, TypeError, AttributeError):
        return True
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in cluster


# ------------------------------------------------------------------- kill points
#: Environment variables of the kill-point harness (tests/kill_points.py).
KILL_AFTER_ENV = "RECSYS_TEST_KILL_AFTER"
STEP_LOG_ENV = "RECSYS_TEST_STEP_LOG"
_NO_EXCHANGE_ENV = "RECSYS_TEST_NO_EXCHANGE"
_steps = [0]


def output_step(kind: str, path: str | os.PathLike[str]) -> None:
    """Count one step that changes what a reader of an output sees (a rename, a
    committed transaction, a removed file).

    Every writer calls it right after such a step. For the kill-point tests it appends
    ``N<TAB>kind<TAB>path`` to the file named by ``RECSYS_TEST_STEP_LOG`` and, when
    ``RECSYS_TEST_KILL_AFTER`` is ``N``, kills this process (``SIGKILL``) right after the
    N-th step, the way a power cut or ``kill -9`` would. Unset, it only counts.
    """
    _steps[0] += 1
    number = _steps[0]
    log = os.environ.get(STEP_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{number}\t{kind}\t{os.fspath(path)}\n")
    if os.environ.get(KILL_AFTER_ENV) == str(number):
        os.kill(os.getpid(), signal.SIGKILL)


_step = output_step


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


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where directories can be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
