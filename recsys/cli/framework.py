"""A small command-line framework shared by ``recsys`` and ``genre``.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds
a parser and sets ``func`` (a callable taking the parsed namespace and returning an
exit code). Errors the user can fix (:class:`~recsys.errors.RecsysError`, bad
arguments, unreadable or unwritable files) are printed on one line and exit with code 2.
When the reader of stdout goes away (``recsys analyze --json | head``) the command stops
quietly with code 1, as the Python documentation's note on SIGPIPE recommends.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recsys.errors import RecsysError
from recsys.fileio import reserve_outputs

__all__ = ["OneLineParser", "UsageError", "add_backend_argument", "default_of", "run_cli"]

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 1


class UsageError(RecsysError):
    """An option has a value the command cannot use."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: what was wrong and where to look."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--backend`` (the Keras backend the command's models run on)."""
    parser.add_argument(
        "--backend",
        metavar="NAME",
        help="Keras backend: tensorflow (default), jax or torch; sets KERAS_BACKEND "
        "(default: the KERAS_BACKEND environment variable, else tensorflow)",
    )


def default_of(target: Callable[..., Any], name: str) -> Any:
    """The library's default of parameter ``name`` of a function, class or dataclass, so
    that an option's default and its help text are not a second copy of it.

    Examples
    --------
    >>> from recsys.metadata.ratelimit import RetryPolicy
    >>> default_of(RetryPolicy, "retries")
    5
    """
    if dataclasses.is_dataclass(target):
        for field in dataclasses.fields(target):
            if field.name == name and field.default is not dataclasses.MISSING:
                return field.default
    return inspect.signature(target).parameters[name].default


def package_version() -> str:
    """The installed version of this toolkit (``movie-embeddings``), or ``unknown``
    when it runs from a source tree that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("movie-embeddings")
    except PackageNotFoundError:
        return "unknown"


def build_parser(
    prog: str, description: str, command_modules: Sequence[str]
) -> argparse.ArgumentParser:
    """Build the top-level parser from the modules that define the sub-commands."""
    parser = OneLineParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"{prog} {package_version()}")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    sub.required = True
    for name in command_modules:
        importlib.import_module(name).register(sub)
    return parser


def run_cli(
    prog: str,
    description: str,
    command_modules: Sequence[str],
    argv: Sequence[str] | None = None,
    *,
    light_commands: Mapping[str, str] | None = None,
) -> int:
    """Parse ``argv``, run the chosen command and turn user errors into exit code 2.

    ``light_commands`` maps command names to the module that defines them: when ``argv``
    starts with one, only that module is imported to build the parser, so a quick
    command does not pay for the imports of the others (``recsys predict`` does not
    load pandas through ``recsys train``'s module). Help and errors are unchanged.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if light_commands and argv and argv[0] in light_commands:
        command_modules = [light_commands[argv[0]]]
    parser = build_parser(prog, description, command_modules)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    try:
        if hasattr(args, "backend"):  # before the command imports Keras
            from recsys.backend import select_backend

            select_backend(args.backend)
        with reserve_outputs():  # an output checked up front stays locked until the end
            code = int(func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except RecsysError as error:
        _fail(f"{parser.prog} {args.command}: error: {error}{flag_hint(error, parser, args)}")
    except FileNotFoundError as error:
        _fail(f"{parser.prog} {args.command}: error: no such file: {error.filename}")
    except PermissionError as error:
        _fail(f"{parser.prog} {args.command}: error: {permission_advice(error.filename)}")
    except OSError as error:  # a full disk, a read-only file system, a busy device...
        where = f": {error.filename}" if error.filename else ""
        _fail(f"{parser.prog} {args.command}: error: {error.strerror or error}{where}")
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as error:  # numpy's _ArrayMemoryError says how much it wanted
        detail = str(error).splitlines()[0][:200] if str(error) else "out of memory"
        _fail(
            f"{parser.prog} {args.command}: error: not enough memory ({detail}); ask for "
            "less: smaller sizes, fewer factors or a smaller --batch-size."
        )
    except Exception as error:
        if not is_device_out_of_memory(error):
            raise
        _fail(
            f"{parser.prog} {args.command}: error: the device ran out of memory "
            f"({type(error).__name__}); use a smaller --batch-size (or fewer factors)."
        )
    return EXIT_USAGE


def permission_advice(filename: str | os.PathLike[str] | None) -> str:
    """What a permission error on ``filename`` means: a file the command could not
    read, or a place it could not write.

    Examples
    --------
    >>> permission_advice(None)
    'permission denied (check the permissions of the files and folders given)'
    """
    if filename is None:
        return "permission denied (check the permissions of the files and folders given)"
    name = os.fspath(filename)
    try:
        os.stat(name)
        exists = True
    except PermissionError:
        return f"permission denied: cannot reach {name} (a folder on its path is not readable)"
    except OSError:
        exists = False
    if exists:
        if not os.access(name, os.R_OK):
            return f"permission denied: cannot read {name} (fix its permissions or give another)"
        if not os.access(name, os.W_OK):
            return f"permission denied: cannot write {name} (choose a location you can write)"
        return f"permission denied: {name} (check its permissions)"
    return f"permission denied: cannot create {name} (choose a location you can write)"


def flag_hint(error: RecsysError, parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """`` (set by --flag)`` for an error about one parameter, naming the option of the
    command that sets it; ``""`` when no option does.

    The library names parameters as Python spells them (``rating_scale``); the option is
    the one whose ``dest`` has that name, in the chosen command or the chosen action of
    a command with actions (``recsys metadata fetch``), or the one a command maps it to
    with ``parser.set_defaults(parameter_flags={"directory": "--out"})``.
    """
    name = getattr(error, "parameter", None)
    if not name:
        return ""
    flag = dict(getattr(args, "parameter_flags", None) or {}).get(name)
    command = _chosen(parser, getattr(args, "command", None))
    while flag is None and command is not None:
        for action in command._actions:
            if action.dest == name and action.option_strings:
                flag = max(action.option_strings, key=len)
                break
        command = _chosen_action(command, args)
    return f" (set by {flag})" if flag else ""


def _chosen(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return None


def _chosen_action(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser | None:
    """The sub-parser of ``parser`` that ``args`` chose, for commands with actions."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and action.dest:
            return _chosen(parser, getattr(args, action.dest, None))
    return None


def is_device_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is a backend's accelerator out-of-memory error.

    TensorFlow raises ``ResourceExhaustedError``, JAX an ``XlaRuntimeError`` whose text
    starts with ``RESOURCE_EXHAUSTED``, PyTorch ``torch.OutOfMemoryError``.

    Examples
    --------
    >>> is_device_out_of_memory(RuntimeError("RESOURCE_EXHAUSTED: Out of memory while "
    ...                                      "trying to allocate 1.0GiB"))
    True
    >>> is_device_out_of_memory(ValueError("bad value"))
    False
    """
    name = type(error).__name__
    if name in ("ResourceExhaustedError", "OutOfMemoryError"):
        return True
    text = str(error)[:2000]
    return (
        "RESOURCE_EXHAUSTED" in text
        or "CUDA out of memory" in text
        or (
            "out of memory" in text.lower()
            and name in ("XlaRuntimeError", "RuntimeError", "JaxRuntimeError")
        )
    )


def _fail(message: str) -> None:
    print(" ".join(message.split()), file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured)
        pass
