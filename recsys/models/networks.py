"""The three Keras rating networks: ``dot``, ``bias`` and ``mlp``.

Each takes two int32 inputs, ``user`` and ``movie`` (contiguous indices from the
training vocabularies), and returns one predicted rating per pair, shape ``(batch,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from recsys.models.layers import DotScore, Offset, RowL2Embedding, SigmoidRange

__all__ = ["KINDS", "NetworkSpec", "build_network"]

#: The model kinds, in the order of the lesson they come from.
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


def _embedding(spec: NetworkSpec, size: int, dim: int, l2: float, name: str,
               seed: int) -> RowL2Embedding:
    init = (keras.initializers.Zeros() if dim == 1 else
            keras.initializers.RandomNormal(stddev=spec.init_scale, seed=spec.seed * 97 + seed))
    return RowL2Embedding(size, dim, row_l2=l2, embeddings_initializer=init, name=name)


def build_network(spec: NetworkSpec) -> keras.Model:
    """Build the Keras functional model of ``spec``.

    ``dot``   ``u . m``
    ``bias``  ``u . m + b_u + b_m + mu``
    ``mlp``   ``Dense(1)(Dropout(Dense(hidden, relu)(Dropout([u, m]))))`` (+ mu via the
              output bias)

    Raises
    ------
    ValueError
        On an unknown kind or output.

    Examples
    --------
    >>> net = build_network(NetworkSpec("bias", n_users=3, n_movies=4, factors=2))
    >>> [w.shape for w in net.get_layer("movie_embedding").weights]
    [(4, 2)]
    """
    if spec.kind not in KINDS:
        raise ValueError(f"unknown model kind {spec.kind!r}; expected one of {', '.join(KINDS)}")
    if spec.output not in ("linear", "sigmoid"):
        raise ValueError(f"unknown output {spec.output!r}; expected 'linear' or 'sigmoid'")
    user = keras.Input(shape=(), dtype="int32", name="user")
    movie = keras.Input(shape=(), dtype="int32", name="movie")
    u = _embedding(spec, spec.n_users, spec.factors, spec.l2, "user_embedding", 1)(user)
    m = _embedding(spec, spec.n_movies, spec.factors, spec.l2, "movie_embedding", 2)(movie)
    if spec.kind in ("dot", "bias"):
        score = DotScore(name="dot")([u, m])
        if spec.kind == "bias":
            ub = _embedding(spec, spec.n_users, 1, spec.bias_l2, "user_bias", 3)(user)
            mb = _embedding(spec, spec.n_movies, 1, spec.bias_l2, "movie_bias", 4)(movie)
            score = keras.layers.Add(name="add_biases")(
                [score, keras.layers.Flatten()(ub)[:, 0], keras.layers.Flatten()(mb)[:, 0]])
            score = Offset(spec.global_mean, name="global_mean")(score)
    else:
        x = keras.layers.Concatenate(name="concat")([u, m])
        x = keras.layers.Dropout(spec.dropout[0], seed=spec.seed)(x)
        x = keras.layers.Dense(spec.hidden, activation="relu", name="hidden",
                               kernel_initializer=keras.initializers.GlorotUniform(spec.seed))(x)
        x = keras.layers.Dropout(spec.dropout[1], seed=spec.seed + 1)(x)
        out = keras.layers.Dense(1, name="out",
                                 kernel_initializer=keras.initializers.GlorotUniform(spec.seed),
                                 bias_initializer=keras.initializers.Constant(spec.global_mean))
        score = keras.layers.Flatten()(out(x))[:, 0]
    if spec.output == "sigmoid":
        score = SigmoidRange(*spec.rating_range, name="sigmoid_range")(score)
    return keras.Model({"user": user, "movie": movie}, score, name=f"{spec.kind}_rating_model")
