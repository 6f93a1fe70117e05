"""The description of a rating network: kind, sizes and hyper-parameters (no Keras).

:class:`NetworkSpec` fixes a network's architecture and initial weights;
:func:`recsys.models.networks.build_network` builds it with Keras, and
:mod:`recsys.models.scoring` evaluates it with numpy from its saved tables. This module
imports neither Keras nor a backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "BPR_DEFAULTS",
    "DEFAULTS",
    "KINDS",
    "PATIENCE",
    "REFERENCE_RATING_STD",
    "SCALE_AWARE",
    "SCALE_BAND",
    "SIDE_DEFAULTS",
    "NetworkSpec",
    "rating_scale_factor",
    "table_shapes",
]

#: The model kinds: dot product, dot product with biases, multi-layer perceptron.
KINDS = ("dot", "bias", "mlp")

#: Default hyper-parameters per model kind, chosen on validation data carved from the
#: training part of ml-latest-small (``benchmarks/tune_defaults.py``; see the README).
#: Each is the best of a grid (``GRIDS`` in that script) by RMSE on a 10% validation
#: part of the benchmark's training part; the test part is never read.
DEFAULTS: dict[str, dict[str, Any]] = {
    "dot": {
        "factors": 128,
        "l2": 0.05,
        "bias_l2": 0.0,
        "learning_rate": 0.002,
        "batch_size": 4096,
        "hidden": 64,
        "dropout": (0.3, 0.5),
        "output": "sigmoid",
    },
    "bias": {
        "factors": 64,
        "l2": 0.1,
        "bias_l2": 0.001,
        "learning_rate": 0.01,
        "batch_size": 4096,
        "hidden": 64,
        "dropout": (0.3, 0.5),
        "output": "linear",
    },
    "mlp": {
        "factors": 32,
        "l2": 0.001,
        "bias_l2": 0.0,
        "learning_rate": 0.01,
        "batch_size": 8192,
        "hidden": 128,
        "dropout": (0.1, 0.3),
        "output": "linear",
    },
}

#: Standard deviation of the training ratings the defaults were chosen on (the
#: benchmark split of ml-latest-small, 0.5-5 stars).
REFERENCE_RATING_STD = 1.0425

#: Defaults that scale with the spread of the ratings, per kind: multiplied by
#: ``s = std(training ratings) / REFERENCE_RATING_STD`` when ``s`` is outside
#: :data:`SCALE_BAND`. For ``bias`` (linear output) the embedding L2 and the learning
#: rate: with ratings ``s`` times larger, a solution ``sqrt(s)`` times larger in each
#: factor and ``s`` times in each bias has the same relative fit when the L2 weight is
#: ``s`` times larger, and Adam, whose steps do not grow with the gradient, needs ``s``
#: times larger steps to reach it (measured on ml-latest-small rescaled to 0-10: test
#: RMSE 1.6942 -> 1.6879, i.e. 0.8440 on the 0.5-5 scale, against 0.8438 unscaled; to
#: 1-100: 18.931 -> 18.761). ``dot`` squashes a scale-free score into the rating scale
#: and ``mlp``'s output layer takes up the scale (measured: no gain), so they have none.
SCALE_AWARE: dict[str, tuple[str, ...]] = {
    "bias": ("l2", "learning_rate"),
    "dot": (),
    "mlp": (),
}

#: Spreads within this ratio of the reference keep the defaults as they are.
SCALE_BAND = (0.8, 1.25)


def rating_scale_factor(std: float) -> float:
    """``std / REFERENCE_RATING_STD``, or 1 inside :data:`SCALE_BAND`.

    Examples
    --------
    >>> rating_scale_factor(1.0), round(rating_scale_factor(2.085), 3)
    (1.0, 2.0)
    """
    s = float(std) / REFERENCE_RATING_STD
    if not (s > 0 and np.isfinite(s)) or SCALE_BAND[0] <= s <= SCALE_BAND[1]:
        return 1.0
    return s


#: Defaults that replace :data:`DEFAULTS` for a model fitted with side features, chosen
#: on cold-start validation movies carved from the training part of ml-latest-small
#: (``benchmarks/cold_start.py``): a lower learning rate lets the side projections
#: learn before the id embeddings overfit.
SIDE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dot": {"learning_rate": 0.001},
    "bias": {"learning_rate": 0.001},
    "mlp": {"learning_rate": 0.001},
}


#: Defaults that replace :data:`DEFAULTS` for a model trained for ranking
#: (``objective="bpr"``), chosen by the validation NDCG@10 of the early-stopping share
#: of a ``user:0.2`` training part of ml-latest-small (the test part was not used to
#: choose; ``benchmarks/ranking.py`` reports it): smaller batches (more steps per
#: epoch), a weaker row penalty, no bias penalty, and a linear output.
BPR_DEFAULTS: dict[str, dict[str, Any]] = {
    "dot": {"batch_size": 1024, "learning_rate": 0.003, "l2": 0.003, "output": "linear"},
    "bias": {
        "batch_size": 1024,
        "learning_rate": 0.003,
        "l2": 0.003,
        "bias_l2": 0.0,
        "output": "linear",
    },
    "mlp": {"batch_size": 1024, "learning_rate": 0.003, "output": "linear"},
}

#: Early-stopping patience by objective: the validation NDCG of a ranking model is
#: noisier from epoch to epoch than a validation RMSE, and keeps rising for tens of
#: epochs (with 10, the dot model's best validation NDCG@10 on the early-stopping share
#: of a user:0.2 training part of ml-latest-small rose from 0.105 to 0.126).
PATIENCE: dict[str, int] = {"rating": 3, "bpr": 10}


@dataclass(frozen=True, init=False)
class NetworkSpec:
    """Everything that fixes a network's architecture and initial weights.

    ``factors``, ``l2``, ``bias_l2``, ``dropout``, ``hidden`` and ``output`` left out
    (``None``) are the kind's defaults in :data:`DEFAULTS`, the table
    :class:`~recsys.models.rating_model.RatingModel` resolves its own from.

    Attributes
    ----------
    kind : ``"dot"``, ``"bias"`` or ``"mlp"``.
    n_users, n_movies : sizes of the two vocabularies.
    factors : embedding size.
    l2 : row-wise L2 strength on the user and movie embeddings.
    bias_l2 : row-wise L2 strength on the user and movie biases (``bias`` only).
    dropout : ``(before, after)`` the hidden layer (``mlp`` only).
    hidden : width of the hidden relu layer (``mlp`` only).
    global_mean : the training mean rating; initial value of the offset.
    output : ``"linear"`` or ``"sigmoid"`` (squash into ``rating_range``).
    rating_range : ``(low, high)`` used by the sigmoid output.
    init_scale : standard deviation of the normal initialiser of the embeddings.
    seed : seed of the initialisers and dropout.
    side_dim : width of the movie side-feature table (0: no side-feature path).
    side_l2 : L2 strength on the kernels of the side-feature projections.
    id_dropout : share of training rows whose movie id part is dropped (side path only).
    """

    kind: str
    n_users: int
    n_movies: int
    factors: int
    l2: float
    bias_l2: float
    dropout: tuple[float, float]
    hidden: int
    global_mean: float
    output: str
    rating_range: tuple[float, float]
    init_scale: float
    seed: int
    side_dim: int
    side_l2: float
    id_dropout: float

    def __init__(
        self,
        kind: str,
        n_users: int,
        n_movies: int,
        *,
        factors: int | None = None,
        l2: float | None = None,
        bias_l2: float | None = None,
        dropout: tuple[float, float] | None = None,
        hidden: int | None = None,
        global_mean: float = 0.0,
        output: str | None = None,
        rating_range: tuple[float, float] = (0.0, 5.0),
        init_scale: float = 0.01,
        seed: int = 0,
        side_dim: int = 0,
        side_l2: float = 0.0,
        id_dropout: float = 0.0,
    ) -> None:
        # the hyper-parameters left out are the kind's defaults (DEFAULTS, as for
        # RatingModel); an unknown kind has none and is refused by build_network
        defaults = DEFAULTS.get(kind, DEFAULTS["bias"])
        values = {
            "kind": kind,
            "n_users": n_users,
            "n_movies": n_movies,
            "factors": defaults["factors"] if factors is None else factors,
            "l2": defaults["l2"] if l2 is None else l2,
            "bias_l2": defaults["bias_l2"] if bias_l2 is None else bias_l2,
            "dropout": tuple(defaults["dropout"] if dropout is None else dropout),
            "hidden": defaults["hidden"] if hidden is None else hidden,
            "global_mean": global_mean,
            "output": defaults["output"] if output is None else output,
            "rating_range": tuple(rating_range),
            "init_scale": init_scale,
            "seed": seed,
            "side_dim": side_dim,
            "side_l2": side_l2,
            "id_dropout": id_dropout,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)


def table_shapes(spec: NetworkSpec) -> dict[str, tuple[int, ...]]:
    """The named layers :func:`build_network` makes for ``spec``, with the shape of each
    one's first weight (its table or kernel): what a saved network is checked against.

    Examples
    --------
    >>> table_shapes(NetworkSpec("dot", n_users=3, n_movies=4, factors=2))
    {'user_embedding': (3, 2), 'movie_embedding': (4, 2)}
    """
    shapes: dict[str, tuple[int, ...]] = {
        "user_embedding": (spec.n_users, spec.factors),
        "movie_embedding": (spec.n_movies, spec.factors),
    }
    if spec.kind == "bias":
        shapes |= {"user_bias": (spec.n_users, 1), "movie_bias": (spec.n_movies, 1)}
    if spec.kind == "mlp":
        shapes |= {"hidden": (2 * spec.factors, spec.hidden), "out": (spec.hidden, 1)}
    return shapes
