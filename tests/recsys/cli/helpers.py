"""Run a CLI in-process and capture what it printed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest


def invoke(
    main: Callable[[Sequence[str]], int], args: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``main(args)``; argparse exits are caught."""
    try:
        code = main(list(args))
    except SystemExit as stop:
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    """Exit code 2 and a single stderr line containing ``fragment``, no traceback."""
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert fragment in lines[0], err
    assert "Traceback" not in err
