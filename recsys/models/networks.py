"""The three Keras rating networks: ``dot``, ``bias`` and ``mlp``.

Each takes two int32 inputs, ``user`` and ``movie`` (contiguous indices from the
training vocabularies), and returns one predicted rating per pair, shape ``(batch,)``.

With ``side_dim > 0`` the movie side also has a side-feature path (cold start): a
non-trainable table ``side_table`` of shape ``(n_movies, side_dim)`` (the movie's
standardised feature blocks, see :mod:`recsys.models.side_features`) and a
non-trainable flag ``movie_warm`` of shape ``(n_movies, 1)`` (1 when the movie had
training ratings). The movie factors and bias become

    ``m = g * E[movie] + side_factors(s)``,  ``b_m = g * B[movie] + side_bias(s)``

where ``s = side_table[movie]``, ``side_factors`` and ``side_bias`` are dense
projections (to ``factors`` and to 1) and ``g = IdGate(movie_warm[movie])`` is 0 for a
cold-start movie (its id rows were never trained) and, during training, randomly 0 for
a share ``id_dropout`` of the rows. Fill the two tables with :func:`set_side_tables`.
"""

from __future__ import annotations

import keras
import numpy as np

from recsys.models.layers import DotScore, IdGate, Offset, RowL2Embedding, SigmoidRange
from recsys.models.spec import KINDS, NetworkSpec, table_shapes

__all__ = ["KINDS", "NetworkSpec", "build_network", "set_side_tables", "table_shapes"]


def _embedding(
    spec: NetworkSpec, size: int, dim: int, l2: float, name: str, seed: int
) -> RowL2Embedding:
    init = (
        keras.initializers.Zeros()
        if dim == 1
        else keras.initializers.RandomNormal(stddev=spec.init_scale, seed=spec.seed * 97 + seed)
    )
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
    >>> [tuple(w.shape) for w in net.get_layer("movie_embedding").weights]
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
    side = gate = None
    if spec.side_dim > 0:
        side, gate = _side_inputs(spec, movie)
        m = m * gate + keras.layers.Dense(
            spec.factors,
            name="side_factors",
            kernel_initializer=keras.initializers.RandomNormal(
                stddev=spec.init_scale, seed=spec.seed * 97 + 5
            ),
            kernel_regularizer=_side_regularizer(spec),
        )(side)
    if spec.kind in ("dot", "bias"):
        score = DotScore(name="dot")([u, m])
        if spec.kind == "bias":
            ub = _embedding(spec, spec.n_users, 1, spec.bias_l2, "user_bias", 3)(user)
            mb = _embedding(spec, spec.n_movies, 1, spec.bias_l2, "movie_bias", 4)(movie)
            if side is not None:
                mb = mb * gate + keras.layers.Dense(
                    1,
                    name="side_bias",
                    kernel_initializer="zeros",
                    kernel_regularizer=_side_regularizer(spec),
                )(side)
            score = keras.layers.Add(name="add_biases")(
                [score, keras.layers.Flatten()(ub)[:, 0], keras.layers.Flatten()(mb)[:, 0]]
            )
            score = Offset(spec.global_mean, name="global_mean")(score)
    else:
        x = keras.layers.Concatenate(name="concat")([u, m])
        x = keras.layers.Dropout(spec.dropout[0], seed=spec.seed)(x)
        x = keras.layers.Dense(
            spec.hidden,
            activation="relu",
            name="hidden",
            kernel_initializer=keras.initializers.GlorotUniform(spec.seed),
        )(x)
        x = keras.layers.Dropout(spec.dropout[1], seed=spec.seed + 1)(x)
        out = keras.layers.Dense(
            1,
            name="out",
            kernel_initializer=keras.initializers.GlorotUniform(spec.seed),
            bias_initializer=keras.initializers.Constant(spec.global_mean),
        )
        score = keras.layers.Flatten()(out(x))[:, 0]
    if spec.output == "sigmoid":
        score = SigmoidRange(*spec.rating_range, name="sigmoid_range")(score)
    return keras.Model({"user": user, "movie": movie}, score, name=f"{spec.kind}_rating_model")


def _side_inputs(
    spec: NetworkSpec, movie: keras.KerasTensor
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The side-feature row ``(batch, side_dim)`` and the id gate ``(batch, 1)``."""
    side = keras.layers.Embedding(
        spec.n_movies,
        spec.side_dim,
        trainable=False,
        embeddings_initializer="zeros",
        name="side_table",
    )(movie)
    warm = keras.layers.Embedding(
        spec.n_movies, 1, trainable=False, embeddings_initializer="ones", name="movie_warm"
    )(movie)
    return side, IdGate(spec.id_dropout, seed=spec.seed + 7, name="id_gate")(warm)


def _side_regularizer(spec: NetworkSpec) -> keras.regularizers.Regularizer | None:
    return keras.regularizers.L2(spec.side_l2) if spec.side_l2 > 0 else None


def set_side_tables(network: keras.Model, table: np.ndarray, warm: np.ndarray) -> None:
    """Fill the non-trainable side-feature table and warm flags of a side-feature network.

    Parameters
    ----------
    table : ndarray of shape (n_movies, side_dim), the side features of every movie index.
    warm : ndarray of bool, shape (n_movies,), whether each movie had training ratings.

    Raises
    ------
    ValueError
        If the network has no side-feature path or a shape does not match.
    """
    try:
        side_layer = network.get_layer("side_table")
        warm_layer = network.get_layer("movie_warm")
    except ValueError:
        raise ValueError("this network has no side-feature path (side_dim=0)") from None
    side_layer.embeddings.assign(np.asarray(table, dtype=np.float32))
    warm_layer.embeddings.assign(np.asarray(warm, dtype=np.float32).reshape(-1, 1))
