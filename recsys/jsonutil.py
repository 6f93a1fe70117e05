"""Plain JSON values from Python, numpy and path values.

:func:`jsonable` gives what a JSON file would give back after a write and a read
(tuples as lists, numpy scalars and arrays as numbers and lists, paths as strings), so
a value about to be written can be compared with one that was read.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["jsonable"]


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


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)
