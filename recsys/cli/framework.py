"""A small command-line framework shared by ``recsys`` and ``genre``.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds
a parser and sets ``func`` (a callable taking the parsed namespace and returning an
exit code). Errors the user can fix (:class:`~recsys.errors.RecsysError`, bad
arguments, unreadable files) are printed on one line and exit with code 2.
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
        return int(func(args) or 0)
    except RecsysError as error:
        _fail(f"{parser.prog} {args.command}: error: {error}")
    except FileNotFoundError as error:
        _fail(f"{parser.prog} {args.command}: error: no such file: {error.filename}")
    except PermissionError as error:
        _fail(
            f"{parser.prog} {args.command}: error: permission denied: {error.filename} "
            "(choose a location you can write)"
        )
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


def _fail(message: str) -> None:
    print(" ".join(message.split()), file=sys.stderr)


def env_flag(name: str) -> bool:
    """Whether an environment variable is set to a true value (1, true, yes)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}
