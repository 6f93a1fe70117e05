"""Where the toolkit keeps downloaded datasets and caches."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """Return (without creating it) the cache directory, or a sub-path of it.

    ``$RECSYS_DATA`` wins; otherwise ``$XDG_CACHE_HOME/recsys``; otherwise
    ``~/.cache/recsys``.

    Examples
    --------
    >>> cache_dir("datasets").name
    'datasets'
    """
    root = os.environ.get("RECSYS_DATA")
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "recsys"
    return base.joinpath(*parts)
