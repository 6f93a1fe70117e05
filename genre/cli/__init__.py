"""The ``genre`` command line: ``genre COMMAND --help`` for each command."""

from __future__ import annotations

from collections.abc import Sequence

from recsys.cli.framework import run_cli

__all__ = ["main"]

#: Modules defining the sub-commands, in the order ``genre --help`` lists them.
COMMANDS = [
    "genre.cli.dataset",
    "genre.cli.explore",
    "genre.cli.blocks",
    "genre.cli.train",
    "genre.cli.predict",
    "genre.cli.ablate",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``genre`` console script."""
    return run_cli(
        "genre",
        "Multi-label movie genre prediction: labelled sets, genre analysis, text models, "
        "blocks fitted on a labelled set, fused feature models and their ablation.",
        COMMANDS,
        argv,
    )
