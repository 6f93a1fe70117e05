"""A kill-point harness: run a command, SIGKILL it right after its n-th output step.

Every writer of the toolkit calls :func:`recsys.fileio.output_step` right after each
step that changes what a reader of an output sees (a rename, a replaced file, a
committed transaction, a removed file). With ``RECSYS_TEST_KILL_AFTER=n`` in its
environment the process kills itself with ``SIGKILL`` right after step ``n``, as a
power cut or ``kill -9`` would; ``RECSYS_TEST_STEP_LOG`` lists the steps.

:func:`kill_at_every_point` runs a command once per step (n = 1, 2, ...) until a run
finishes without being killed, calling a check after each run; the tests in
``tests/test_kill_points.py`` check there that the output is the complete old or the
complete new one, and that the next run leaves no leftovers.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recsys.fileio import KILL_AFTER_ENV, STEP_LOG_ENV

REPO = Path(__file__).resolve().parents[1]


@dataclass
class KillRun:
    """One run of the command: killed after step ``n`` (or finished)."""

    n: int
    killed: bool
    steps: list[str]
    outcome: str = ""


@dataclass
class KillReport:
    """Every run of :func:`kill_at_every_point`."""

    command: str
    runs: list[KillRun] = field(default_factory=list)

    @property
    def points(self) -> int:
        """How many kill points were exercised (runs that were killed)."""
        return sum(run.killed for run in self.runs)

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in self.runs:
            if run.killed:
                counts[run.outcome] = counts.get(run.outcome, 0) + 1
        return counts

    def line(self) -> str:
        steps = ", ".join(s.split("\t")[1] for s in self.runs[-1].steps)
        return f"{self.command}: {self.points} kill points ({steps}) -> {self.outcomes()}"


def fingerprint(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (empty if missing)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(target: Path) -> list[str]:
    """Hidden siblings of ``target`` that its writers make (temporaries, locks)."""
    return sorted(p.name for p in target.parent.glob(f".{target.name}.*"))


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    kill_after: int | None = None,
    log: Path | None = None,
    timeout: float = 300,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``python -m <argv>`` with the harness variables; return it and its steps."""
    full = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    full.pop(KILL_AFTER_ENV, None)
    log = log or cwd / "steps.log"
    log.unlink(missing_ok=True)
    full[STEP_LOG_ENV] = str(log)
    if kill_after is not None:
        full[KILL_AFTER_ENV] = str(kill_after)
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    steps = log.read_text().splitlines() if log.exists() else []
    return done, steps


def kill_at_every_point(
    command: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    before_each: Callable[[], None] | None = None,
    check: Callable[[KillRun], str],
    limit: int = 50,
) -> KillReport:
    """Run ``argv`` killed after step 1, 2, ... until a run finishes on its own.

    ``before_each`` restores the old output before every run; ``check`` inspects the
    output after it and returns the outcome's name (``"old"``, ``"new"``), raising
    (an ``AssertionError``) when the output is neither. The last run is the complete
    one, also checked.

    Raises
    ------
    AssertionError
        If a run fails other than by the injected kill, or never finishes.
    """
    report = KillReport(command)
    for n in range(1, limit + 1):
        if before_each is not None:
            before_each()
        done, steps = run_command(argv, cwd=cwd, env=env or {}, kill_after=n)
        killed = done.returncode == -signal.SIGKILL
        assert killed or done.returncode == 0, (
            f"{command} (kill after step {n}) failed with {done.returncode}:\n{done.stderr}"
        )
        if killed:
            assert len(steps) == n, f"killed after {len(steps)} steps, asked for {n}"
        run = KillRun(n, killed, steps)
        run.outcome = check(run)
        report.runs.append(run)
        if not killed:
            return report
    raise AssertionError(f"{command} still had kill points after {limit} runs")
