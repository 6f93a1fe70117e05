"""The description of a rating network: kind, sizes and hyper-parameters (no Keras).

:class:`NetworkSpec` fixes a network's architecture and initial weights;
:func:`recsys.models.networks.build_network` builds it with Keras, and
:mod:`recsys.models.scoring` evaluates it with numpy from its saved tables. This module
imports neither Keras nor a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "NetworkSpec", "table_shapes"]

#: The model kinds: dot product, dot product with biases, multi-layer perceptron.
KINDS = ("dot", "bias", "mlp")


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes a network's architecture and initial weights.

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
    factors: int = 64
    l2: float = 0.05
    bias_l2: float = 0.005
    dropout: tuple[float, float] = (0.3, 0.5)
    hidden: int = 64
    global_mean: float = 0.0
    output: str = "linear"
    rating_range: tuple[float, float] = (0.0, 5.0)
    init_scale: float = 0.01
    seed: int = 0
    side_dim: int = 0
    side_l2: float = 0.0
    id_dropout: float = 0.0


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
