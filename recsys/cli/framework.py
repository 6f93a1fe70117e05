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
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from recsys.errors import RecsysError

__all__ = ["OneLineParser", "UsageError", "run_cli"]

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 1


class UsageError(RecsysError):
    """An option has a value the command cannot use."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: what was wrong and where to look."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser(
    prog: str, description: str, command_modules: Sequence[str]
) -> argparse.ArgumentParser:
    """Build the top-level parser from the modules that define the sub-commands."""
    parser = OneLineParser(prog=prog, description=description)
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
) -> int:
    """Parse ``argv``, run the chosen command and turn user errors into exit code 2."""
    parser = build_parser(prog, description, command_modules)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    try:
        code = int(func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except RecsysError as error:
        _fail(f"{parser.prog} {args.command}: error: {error}")
    except FileNotFoundError as error:
        _fail(f"{parser.prog} {args.command}: error: no such file: {error.filename}")
    except PermissionError as error:
        _fail(
            f"{parser.prog} {args.command}: error: permission denied: {error.filename} "
            "(choose a location you can write)"
        )
    except OSError as error:  # a full disk, a read-only file system, a busy device...
        where = f": {error.filename}" if error.filename else ""
        _fail(f"{parser.prog} {args.command}: error: {error.strerror or error}{where}")
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


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


def env_flag(name: str) -> bool:
    """Whether an environment variable is set to a true value (1, true, yes)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}
