"""Plain JSON values from Python, numpy and path values: the toolkit's one JSON encoder.

:func:`json_default` is the ``default=`` hook of :func:`json.dump` that every JSON file
of the toolkit is written with (numpy scalars and arrays as numbers and lists, paths as
strings). :func:`jsonable` gives what a JSON file would give back after a write and a
read, so a value about to be written can be compared with one that was read.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["json_default", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (a round trip through :func:`json.dumps`).

    numpy scalars and arrays become numbers and lists (``.tolist()``), paths strings;
    anything else JSON cannot hold becomes its ``str``. Mapping keys become strings,
    tuples lists.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"units": (64, np.int64(8)), "lr": np.float32(0.5), 1: None})
    {'units': [64, 8], 'lr': 0.5, '1': None}
    """
    return json.loads(json.dumps(value, default=_default))


def json_default(value: Any) -> Any:
    """The ``default=`` hook of :func:`json.dump`: numpy values through ``.tolist()``,
    paths through :func:`os.fspath`.

    Raises
    ------
    TypeError
        For any other value JSON cannot hold.

    Examples
    --------
    >>> import json, pathlib, numpy as np
    >>> json.dumps({"n": np.int32(3), "at": pathlib.Path("a/b")}, default=json_default)
    '{"n": 3, "at": "a/b"}'
    """
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _default(value: Any) -> Any:
    try:
        return json_default(value)
    except TypeError:
        return str(value)
