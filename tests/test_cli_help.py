"""Every flag of both command lines has a help text, and shows its default when it has
one (``--help`` is the reference a user reads first)."""

from __future__ import annotations

import argparse

import pytest

from genre.cli import COMMANDS as GENRE_COMMANDS
from recsys.cli import COMMANDS as RECSYS_COMMANDS
from recsys.cli.framework import build_parser


def _flags(parser: argparse.ArgumentParser, prefix: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _flags(sub, f"{prefix} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield prefix, action


@pytest.mark.parametrize(
    ("prog", "modules"), [("recsys", RECSYS_COMMANDS), ("genre", GENRE_COMMANDS)]
)
def test_every_flag_has_help_and_its_default(prog: str, modules: list[str]) -> None:
    missing, no_default = [], []
    for where, action in _flags(build_parser(prog, "", modules), prog):
        name = "/".join(action.option_strings) or action.dest
        text = action.help or ""
        if not text:
            missing.append(f"{where} {name}")
        default = action.default
        shown = "default" in text or "%(default)" in text
        if default is not None and default is not False and default is not argparse.SUPPRESS:
            if not shown:
                no_default.append(f"{where} {name} (default {default!r})")
    assert not missing, f"flags without help: {missing}"
    assert not no_default, f"defaults not shown: {no_default}"
