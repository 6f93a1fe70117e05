"""The CLI framework: a reader that stops reading is no error worth a traceback, and an
operating-system error is one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from recsys.cli.framework import run_cli
from tests.conftest import REPO

from .helpers import assert_one_line_error, invoke

MODULES = ["tests.recsys.cli.sample_commands"]
SCRIPT = (
    "import sys; from recsys.cli.framework import run_cli; "
    f"sys.exit(run_cli('recsys', 'test', {MODULES!r}, ['chatty']))"
)


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    """``recsys analyze --json | head -1``: no BrokenPipeError traceback, exit code 1."""
    with subprocess.Popen(
        [sys.executable, "-c", SCRIPT], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline() == b"line 0 of a long JSON document\n"
        child.stdout.close()  # what head does after its first line
        err = child.stderr.read().decode()
        code = child.wait(timeout=60)
    assert err == ""
    assert code == 1


def test_an_os_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(
        lambda argv: run_cli("recsys", "test", MODULES, argv), ["readonly"], capsys
    )
    assert_one_line_error(code, err, "recsys readonly: error: Read-only file system: /mnt/ro/out")
    assert out == ""
