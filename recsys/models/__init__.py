"""Rating models: baselines and the Keras ``dot``, ``bias`` and ``mlp`` networks."""

from __future__ import annotations

from recsys._tensorflow import quiet_import

quiet_import()

from recsys.models.layers import (  # noqa: E402
    DotScore,
    IdGate,
    Offset,
    RowL2Embedding,
    SigmoidRange,
)
from recsys.models.networks import KINDS, NetworkSpec, build_network  # noqa: E402
from recsys.models.optimizers import LazyAdam  # noqa: E402

__all__ = [
    "KINDS",
    "DotScore",
    "IdGate",
    "LazyAdam",
    "NetworkSpec",
    "Offset",
    "RowL2Embedding",
    "SigmoidRange",
    "build_network",
]
