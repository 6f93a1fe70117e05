"""Custom Keras layers of the rating models (all registered for ``.keras`` round trips)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["DotScore", "IdGate", "Offset", "RowL2Embedding", "SigmoidRange"]


@keras.saving.register_keras_serializable(package="recsys")
class RowL2Embedding(keras.layers.Embedding):
    """An embedding table whose L2 penalty applies to the rows a batch looks up.

    The seed's ``Embedding(..., W_regularizer=l2(c))`` adds ``c * ||W||^2`` over the
    *whole* table on every step: rarely-seen rows shrink as hard as popular ones, and
    every step costs a full pass over the table. Here the penalty added to the loss is

        ``row_l2 * mean_b ||W[i_b]||^2``

    the mean over the batch of the squared norm of each looked-up row. Summed over an
    epoch, a row is penalised once per rating it appears in (the classic regularised
    matrix factorisation objective of Koren et al.), and the cost is proportional to the
    batch, not the table.

    Parameters
    ----------
    input_dim, output_dim : table shape ``(input_dim, output_dim)``.
    row_l2 : float >= 0, the penalty strength (0 disables it).
    **kwargs : passed to :class:`keras.layers.Embedding`.
    """

    def __init__(
        self, input_dim: int, output_dim: int, *, row_l2: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(input_dim, output_dim, **kwargs)
        self.row_l2 = float(row_l2)

    def call(self, inputs):
        rows = self._lookup(inputs)
        if self.row_l2 > 0:
            self.add_loss(self.row_l2 * ops.mean(ops.sum(ops.square(rows), axis=-1)))
        return rows

    def _lookup(self, inputs):
        """Read only the looked-up rows (TensorFlow: ``ResourceGather``).

        ``Embedding.call`` reads the whole table and gathers from that copy. Once a
        sparse optimizer has scattered into the table, TensorFlow switches the variable
        to copy-on-read, so that dense read copies the full table on every step: at
        ml-25m's 162k x 64 users that copy, not the arithmetic, set the pace. Gathering
        from the variable itself reads the batch's rows only; its gradient is still an
        ``IndexedSlices``.
        """
        if (
            keras.backend.backend() != "tensorflow"
            or self.lora_enabled
            or (self.quantization_mode is not None)
        ):
            return super().call(inputs)
        import tensorflow as tf

        if inputs.dtype not in (tf.int32, tf.int64):
            inputs = tf.cast(inputs, tf.int32)
        return tf.cast(tf.gather(self.embeddings.value, inputs), self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "row_l2": self.row_l2}


@keras.saving.register_keras_serializable(package="recsys")
class DotScore(keras.layers.Layer):
    """Row-wise dot product: ``(batch, k), (batch, k) -> (batch,)``.

    Uses ``ops.sum(u * m, axis=-1)``: one score per pair. (``tensordot(u, m, 2)``, as in
    the keras-io MovieLens example, sums over the whole batch and returns one number.)
    """

    def call(self, inputs):
        users, movies = inputs
        return ops.sum(users * movies, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1])


@keras.saving.register_keras_serializable(package="recsys")
class Offset(keras.layers.Layer):
    """Adds a learned scalar (initialised to ``initial``, e.g. the global mean rating)."""

    def __init__(self, initial: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial = float(initial)

    def build(self, input_shape):
        self.offset = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial), name="offset"
        )

    def call(self, inputs):
        return inputs + self.offset

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial": self.initial}


@keras.saving.register_keras_serializable(package="recsys")
class SigmoidRange(keras.layers.Layer):
    """Maps a raw score into ``(low, high)`` with ``sigmoid(x) * (high - low) + low``.

    As in fastai's ``EmbeddingDotBias(y_range=...)``. The range is usually widened a
    little beyond the rating scale so the extreme ratings stay reachable.
    """

    def __init__(self, low: float, high: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.low, self.high = float(low), float(high)

    def call(self, inputs):
        return ops.sigmoid(inputs) * (self.high - self.low) + self.low

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "low": self.low, "high": self.high}


@keras.saving.register_keras_serializable(package="recsys")
class IdGate(keras.layers.Layer):
    """The weight of a movie's id embedding and id bias in a side-feature model.

    Input: the movie's ``warm`` flag, shape ``(batch, 1)``: 1 when the movie had training
    ratings (its id embedding was learned), 0 for a cold-start movie (its id rows were
    never trained and must not contribute). Output: the same flag, and during training
    each row is also zeroed with probability ``rate`` ("id dropout"), so that the side
    features learn to predict a movie's factors on their own. No rescaling: at inference
    a warm movie uses its id part in full, as in the training steps that kept it.

    Parameters
    ----------
    rate : float in [0, 1), the probability of dropping the id part of a training row.
    seed : seed of the dropout draws.

    Examples
    --------
    >>> import numpy as np
    >>> IdGate(0.5, seed=0)(np.array([[1.0], [0.0]]), training=False).numpy().tolist()
    [[1.0], [0.0]]
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"IdGate rate must be in [0, 1); received rate={rate}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, warm, training=None):
        if training and self.rate > 0:
            draw = keras.random.uniform(ops.shape(warm), seed=self.seed_generator)
            return warm * ops.cast(draw >= self.rate, warm.dtype)
        return warm

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
