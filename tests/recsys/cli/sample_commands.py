"""Sub-commands for the framework tests: one prints more than a pipe holds, one fails
with an operating-system error."""

from __future__ import annotations

import argparse
import errno


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    subparsers.add_parser("chatty", help="print many lines").set_defaults(func=chatty)
    subparsers.add_parser("readonly", help="hit a read-only disk").set_defaults(func=readonly)


def chatty(args: argparse.Namespace) -> int:
    for i in range(200_000):
        print(f"line {i} of a long JSON document")
    return 0


def readonly(args: argparse.Namespace) -> int:
    raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/out")
