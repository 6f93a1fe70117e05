"""Rating models: baselines and the Keras ``dot``, ``bias`` and ``mlp`` networks."""

from __future__ import annotations

from recsys._tensorflow import quiet_import

quiet_import()

from recsys.models.layers import DotScore, Offset, RowL2Embedding, SigmoidRange  # noqa: E402
from recsys.models.networks import KINDS, NetworkSpec, build_network  # noqa: E402
from recsys.models.optimizers import LazyAdam  # noqa: E402

__all__ = [
    "KINDS",
    "DotScore",
    "LazyAdam",
    "NetworkSpec",
    "Offset",
    "RowL2Embedding",
    "SigmoidRange",
    "build_network",
]
