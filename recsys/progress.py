"""A minimal progress line on stderr: ``label  done/total  key=value ...  rate  ETA``.

It redraws in place on a terminal and prints a line every ``every`` seconds otherwise
(logs stay readable), and nothing at all when ``enabled`` is false.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Report progress of ``total`` work items with named counters.

    Examples
    --------
    >>> with Progress(3, "fetch", enabled=False) as bar:
    ...     for _ in range(3):
    ...         bar.advance(done=1)
    >>> bar.counts["done"]
    3
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        every: float = 10.0,
    ) -> None:
        self.total = total
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.every = every
        self.counts: dict[str, int] = {}
        self.n = 0
        self._start = time.monotonic()
        self._last = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, steps: int = 1, **counters: int) -> None:
        """Count ``steps`` finished items and add ``counters`` (``done=1, failed=0``)."""
        self.n += steps
        for key, value in counters.items():
            self.counts[key] = self.counts.get(key, 0) + value
        now = time.monotonic()
        due = now - self._last > (0.1 if self._tty else self.every)
        if self.enabled and due:
            self._last = now
            self._draw(final=False)

    def line(self) -> str:
        """The current progress line."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        of = f"/{self.total}" if self.total is not None else ""
        parts = [f"{self.label} {self.n}{of}"]
        parts += [f"{k}={v}" for k, v in self.counts.items()]
        rate = self.n / elapsed
        parts.append(f"{rate:.1f}/s")
        if self.total and rate > 0 and self.n < self.total:
            parts.append(f"ETA {int((self.total - self.n) / rate)}s")
        return "  ".join(parts)

    def _draw(self, final: bool) -> None:
        text = self.line()
        if self._tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Print the final line."""
        if self.enabled:
            self._draw(final=True)
            self.enabled = False
