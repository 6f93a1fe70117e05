"""The training loop of the rating networks: whole epochs compiled into one graph.

Each epoch is one call of a ``tf.function`` that loops over mini-batches inside the
graph (no Python between steps). The training arrays are converted to tensors once;
an epoch only draws a seeded permutation of row numbers and gathers its batches from
them, so no copy of the ratings table is made per epoch. Early stopping watches the
RMSE of a validation part carved from the training data, and the weights of the best
epoch are restored at the end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

__all__ = ["EpochLog", "TrainingResult", "evaluate_rmse", "predict_network", "train_network"]

PREDICT_BATCH = 1 << 16


@dataclass(frozen=True)
class EpochLog:
    """What one epoch did: mean training loss (MSE plus penalties), validation RMSE."""

    epoch: int
    loss: float
    val_rmse: float | None
    seconds: float
    ratings_per_second: float


@dataclass
class TrainingResult:
    """The history of a training run and the epoch whose weights were kept."""

    history: list[EpochLog] = field(default_factory=list)
    best_epoch: int = 0
    train_seconds: float = 0.0
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        """Number of epochs trained."""
        return len(self.history)


Arrays = tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]]


def _tensors(arrays: Arrays) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    users, movies, ratings = arrays
    return (tf.convert_to_tensor(np.asarray(users, dtype=np.int32)),
            tf.convert_to_tensor(np.asarray(movies, dtype=np.int32)),
            tf.convert_to_tensor(np.asarray(ratings, dtype=np.float32)))


def predict_network(network: keras.Model, users: NDArray[np.int32],
                    movies: NDArray[np.int32]) -> NDArray[np.float32]:
    """Raw network outputs for index pairs, in large batches; ``shape (n,)``."""
    out = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), PREDICT_BATCH):
        stop = start + PREDICT_BATCH
        batch = {"user": np.asarray(users[start:stop], dtype=np.int32),
                 "movie": np.asarray(movies[start:stop], dtype=np.int32)}
        out[start:stop] = np.asarray(_predict_fn(network)(batch))
    return out


def _predict_fn(network: keras.Model) -> Callable[[dict[str, NDArray[np.int32]]], tf.Tensor]:
    fn = getattr(network, "_recsys_predict_fn", None)
    if fn is None:
        @tf.function(reduce_retracing=True)
        def fn(batch: dict[str, tf.Tensor]) -> tf.Tensor:
            return network(batch, training=False)
        network._recsys_predict_fn = fn
    return fn


def evaluate_rmse(network: keras.Model, arrays: Arrays,
                  clip: tuple[float, float] | None = None) -> float:
    """RMSE of the network on index arrays (predictions clipped to ``clip``)."""
    users, movies, ratings = arrays
    pred = predict_network(network, users, movies)
    if clip is not None:
        pred = np.clip(pred, *clip)
    return float(np.sqrt(np.mean((pred - np.asarray(ratings, dtype=np.float64)) ** 2)))


def train_network(
    network: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    train: Arrays,
    validation: Arrays | None = None,
    *,
    epochs: int = 50,
    batch_size: int = 8192,
    patience: int = 3,
    seed: int = 0,
    clip: tuple[float, float] | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainingResult:
    """Train ``network`` in place on ``train`` = ``(user_idx, movie_idx, rating)`` arrays.

    Parameters
    ----------
    validation : held-out arrays from the training data for early stopping, or
        ``None`` to train all ``epochs``.
    patience : epochs without a better validation RMSE before stopping.
    seed : seeds the per-epoch shuffles (stateless, so a run is reproducible).
    clip : rating range to clip validation predictions to.
    on_epoch : called with an :class:`EpochLog` after every epoch (progress output).

    Returns
    -------
    TrainingResult
    """
    users, movies, ratings = _tensors(train)
    n = int(users.shape[0])
    steps = max(1, math.ceil(n / batch_size))
    variables = network.trainable_variables
    optimizer.build(variables)

    @tf.function
    def run_epoch(order: tf.Tensor) -> tf.Tensor:
        total = tf.constant(0.0, dtype=tf.float32)
        for i in tf.range(steps):
            idx = order[i * batch_size: tf.minimum((i + 1) * batch_size, n)]
            batch = {"user": tf.gather(users, idx), "movie": tf.gather(movies, idx)}
            target = tf.gather(ratings, idx)
            with tf.GradientTape() as tape:
                pred = network(batch, training=True)
                loss = tf.reduce_mean(tf.square(tf.cast(pred, tf.float32) - target))
                penalty = tf.add_n(network.losses) if network.losses else 0.0
                objective = loss + penalty
            grads = tape.gradient(objective, variables)
            optimizer.apply(grads, variables)
            total += objective * tf.cast(tf.shape(idx)[0], tf.float32)
        return total / n

    result = TrainingResult()
    best_rmse, best_weights, waited = math.inf, None, 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        tick = time.perf_counter()
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int32), seed=tf.constant([seed, epoch], dtype=tf.int64))
        loss = float(run_epoch(order))
        val_rmse = evaluate_rmse(network, validation, clip) if validation is not None else None
        seconds = time.perf_counter() - tick
        log = EpochLog(epoch, loss, val_rmse, seconds, n / seconds)
        result.history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if not math.isfinite(loss):
            break
        if val_rmse is None:
            result.best_epoch = epoch
            continue
        if val_rmse < best_rmse - 1e-5:
            best_rmse, waited, result.best_epoch = val_rmse, 0, epoch
            best_weights = [np.array(w) for w in network.get_weights()]
        else:
            waited += 1
            if waited >= patience:
                result.stopped_early = True
                break
    if best_weights is not None and result.best_epoch != result.epochs_run:
        network.set_weights(best_weights)
    result.train_seconds = time.perf_counter() - start
    return result
