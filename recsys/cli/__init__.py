"""The ``recsys`` command line: ``recsys COMMAND --help`` for each command."""

from __future__ import annotations

from collections.abc import Sequence

from recsys.cli.framework import run_cli

__all__ = ["main"]

#: Modules defining the sub-commands, in the order ``recsys --help`` lists them.
COMMANDS = [
    "recsys.cli.train",
    "recsys.cli.tune",
    "recsys.cli.query",
    "recsys.cli.evaluate",
    "recsys.cli.compare",
    "recsys.cli.metadata",
    "recsys.cli.analyze",
    "recsys.cli.features",
    "recsys.cli.synth",
]


#: Commands that answer quickly from a saved model: ``recsys predict ...`` imports only
#: their module (no pandas or training stack through the other command modules).
LIGHT_COMMANDS = {
    **{name: "recsys.cli.query" for name in ("predict", "recommend", "similar")},
    "evaluate": "recsys.cli.evaluate",
    "compare": "recsys.cli.compare",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recsys`` console script."""
    return run_cli(
        "recsys",
        "Train and query embedding-based rating models on MovieLens.",
        COMMANDS,
        argv,
        light_commands=LIGHT_COMMANDS,
    )
