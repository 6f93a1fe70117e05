"""Rating models: baselines and the Keras ``dot``, ``bias`` and ``mlp`` networks.

The Keras names below are imported on first use, so that importing
:mod:`recsys.models.rating_model` to answer queries from a saved model does not load
Keras or a backend.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "DotScore": "recsys.models.layers",
    "IdGate": "recsys.models.layers",
    "Offset": "recsys.models.layers",
    "RowL2Embedding": "recsys.models.layers",
    "SigmoidRange": "recsys.models.layers",
    "KINDS": "recsys.models.spec",
    "NetworkSpec": "recsys.models.spec",
    "build_network": "recsys.models.networks",
    "LazyAdam": "recsys.models.optimizers",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        if _LAZY[name] != "recsys.models.spec":  # the others need Keras: load it quietly
            from recsys.backend import import_keras

            import_keras()
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'recsys.models' has no attribute {name!r}")
