"""Where the toolkit keeps downloaded datasets and caches."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "shared_data_dir"]


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


def shared_data_dir(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder of evaluation data (TMDB overviews, posters, word vectors), if present.

    ``$RECSYS_SHARED_DATA`` wins; otherwise the first ``shared/data`` folder found next
    to ``start`` (default: the current directory) or one of its parents. The package
    never ships this data; notebooks and benchmarks use it when it is there.
    """
    env = os.environ.get("RECSYS_SHARED_DATA")
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "data"
        if (candidate / "tmdb-overviews").is_dir() or (candidate / "ml-latest-small").is_dir():
            return candidate
    return None
