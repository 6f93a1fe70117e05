"""The TensorFlow training loop: whole epochs compiled into one graph.

Each epoch is one call of a ``tf.function`` that loops over mini-batches inside the
graph (no Python between steps). The training arrays are converted to one tensor once;
an epoch only draws a seeded permutation of row numbers and gathers its batches from
it (user, movie and rating packed in one ``(n, 3)`` tensor, one memory access per
rating). The best weights are kept in variables beside the network, copied in-graph.

Under a ``tf.distribute`` strategy (see :mod:`recsys.models.distribute`) every step runs
through ``strategy.run``: each replica, on every worker, takes its own strided share of
the global batch (all workers hold the same data and draw the same permutation), and
the optimizer all-reduces the gradients, sparse ``IndexedSlices`` included. Checkpoints
use ``tf.train.Checkpoint`` (the network, the optimizer and the best weights).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from recsys.errors import DataError
from recsys.evaluation.rating import rmse
from recsys.models.loops.common import (
    PREDICT_BATCH,
    Arrays,
    Checkpointer,
    NegativeSampler,
    batch_edges,
    packed_rows,
)

__all__ = ["TensorFlowLoop"]


class TensorFlowLoop:
    """One ``tf.function`` per epoch; see the module docstring."""

    def __init__(
        self,
        network: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        train: Arrays,
        validation: Arrays | None,
        *,
        batch_size: int,
        seed: int,
        clip: tuple[float, float] | None,
        strategy: Any = None,
        objective: str = "rating",
        sampler: NegativeSampler | None = None,
    ) -> None:
        self.network, self.optimizer = network, optimizer
        self.objective, self.sampler = objective, sampler
        self._no_negatives = tf.zeros([1], dtype=tf.int32)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.seed, self.clip, self.validation = seed, clip, validation
        replicas = self.strategy.num_replicas_in_sync
        self.rows = tf.convert_to_tensor(packed_rows(train))
        self.n = n = int(self.rows.shape[0])
        if n < replicas:
            raise DataError(
                f"{n} training ratings cannot feed {replicas} replicas; use more "
                "data or fewer devices."
            )
        variables = network.trainable_variables
        self.weights = network.weights
        with self.strategy.scope():
            optimizer.build(variables)
            self.best = [
                tf.Variable(w.value, trainable=False, name=f"best_{i}")
                for i, w in enumerate(self.weights)
            ]
        edges = batch_edges(n, batch_size, replicas)
        self.steps = len(edges) - 1
        self._run_epoch = self._compile_epoch(edges, replicas)
        best, weights = self.best, self.weights

        @tf.function
        def keep_best() -> None:
            for b, w in zip(best, weights, strict=True):
                b.assign(w.value)

        self._keep_best = keep_best

    def _compile_epoch(self, edges: NDArray[np.int64], replicas: int) -> Callable[..., Any]:
        network, optimizer, strategy, rows = (
            self.network,
            self.optimizer,
            self.strategy,
            self.rows,
        )
        variables = network.trainable_variables
        scaled_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        bounds = tf.constant(edges, dtype=tf.int32)
        steps, n = self.steps, self.n
        bpr = self.objective == "bpr"

        def step(idx: tf.Tensor, negatives: tf.Tensor) -> tf.Tensor:
            context = tf.distribute.get_replica_context()
            local = idx[context.replica_id_in_sync_group :: replicas]
            picked = tf.gather(rows, local)
            users, movies = picked[:, 0], picked[:, 1]
            if bpr:  # the positives, then one sampled negative per positive
                size = tf.shape(users)[0]
                users = tf.concat([users, users], axis=0)
                movies = tf.concat([movies, tf.gather(negatives, local)], axis=0)
            batch = {"user": users, "movie": movies}
            target = tf.bitcast(picked[:, 2], tf.float32)
            with tf.GradientTape() as tape:
                pred = tf.cast(network(batch, training=True), tf.float32)
                # sum over this replica's rows / global batch: the all-reduced (summed)
                # gradients are those of the mean over the global batch
                if bpr:  # -log sigmoid(positive - negative)
                    per_row = tf.nn.softplus(pred[size:] - pred[:size])
                else:
                    per_row = tf.square(pred - target)
                loss = tf.reduce_sum(per_row) / tf.cast(tf.shape(idx)[0], tf.float32)
                penalty = (
                    tf.add_n([tf.cast(x, tf.float32) for x in network.losses]) / replicas
                    if network.losses
                    else 0.0
                )
                objective = loss + penalty
                scaled = optimizer.scale_loss(objective) if scaled_loss else objective
            grads = tape.gradient(scaled, variables)
            optimizer.apply(grads, variables)
            return objective

        @tf.function
        def run_epoch(order: tf.Tensor, negatives: tf.Tensor) -> tf.Tensor:
            total = tf.constant(0.0, dtype=tf.float32)
            for i in tf.range(steps):
                idx = order[bounds[i] : bounds[i + 1]]
                per_replica = strategy.run(step, args=(idx, negatives))
                objective = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
                total += objective * tf.cast(tf.shape(idx)[0], tf.float32)
            return total / n

        return run_epoch

    def run_epoch(self, epoch: int) -> float:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(self.n, dtype=tf.int32), seed=tf.constant([self.seed, epoch], dtype=tf.int64)
        )
        negatives = self._no_negatives
        if self.sampler is not None:
            negatives = tf.convert_to_tensor(self.sampler.draw(epoch))
        return float(self._run_epoch(order, negatives))

    def validation_rmse(self) -> float | None:
        if self.validation is None:
            return None
        users, movies, ratings = self.validation
        pred = _predict(self.network, users, movies)
        return rmse(ratings, pred if self.clip is None else np.clip(pred, *self.clip))

    def keep_best(self) -> None:
        self._keep_best()

    def restore_best(self) -> None:
        for b, w in zip(self.best, self.weights, strict=True):
            w.assign(b.read_value())

    def finish(self) -> None:
        """Nothing to do: the network's variables are trained in place."""

    def sync_network(self) -> None:
        """Nothing to do: the network's variables are trained in place."""

    def state_arrays(self) -> list[NDArray[Any]]:
        return [np.asarray(v) for v in (*self.weights, *self.optimizer.variables, *self.best)]

    def load_state_arrays(self, arrays: list[NDArray[Any]]) -> None:
        targets = [*self.weights, *self.optimizer.variables, *self.best]
        if len(arrays) != len(targets):
            raise ValueError(f"{len(arrays)} arrays for {len(targets)} variables")
        for variable, value in zip(targets, arrays, strict=True):
            variable.assign(value)

    def checkpointer(self, directory: Path, run: dict[str, Any]) -> Checkpointer:
        return _TensorFlowCheckpointer(directory, self, run)


def _predict(
    network: keras.Model, users: NDArray[np.int32], movies: NDArray[np.int32]
) -> NDArray[np.float32]:
    fn: Callable[[dict[str, Any]], Any] | None = getattr(network, "_recsys_predict_fn", None)
    if fn is None:

        @tf.function(reduce_retracing=True)
        def predict(batch: dict[str, tf.Tensor]) -> tf.Tensor:
            return network(batch, training=False)

        network._recsys_predict_fn = fn = predict
    out = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), PREDICT_BATCH):
        stop = start + PREDICT_BATCH
        out[start:stop] = np.asarray(
            fn(
                {
                    "user": np.asarray(users[start:stop], np.int32),
                    "movie": np.asarray(movies[start:stop], np.int32),
                }
            )
        )
    return out


class _TensorFlowCheckpointer(Checkpointer):
    """``tf.train.Checkpoint`` of the network, optimizer and best weights (works with
    distributed variables on every worker)."""

    def __init__(self, directory: Path, loop: TensorFlowLoop, run: dict[str, Any]) -> None:
        super().__init__(directory, loop, run)
        objects = {
            "network": loop.network,
            "optimizer": loop.optimizer,
            **{f"best_{i}": b for i, b in enumerate(loop.best)},
        }
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(directory), max_to_keep=2, checkpoint_name="epoch"
        )

    def save_arrays(self, epoch: int) -> None:
        self.manager.save(checkpoint_number=epoch)

    def restore_arrays(self, epoch: int) -> bool:
        path = f"{self.directory / 'epoch'}-{epoch}"
        if not tf.io.gfile.exists(path + ".index"):
            return False
        try:
            self.checkpoint.read(path).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, IndexError, AssertionError) as error:
            detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
            raise DataError(
                f"the checkpoint {path!r} is damaged ({detail}); {self.fix} to start afresh.",
                parameter="checkpoint_dir",
            ) from None
        return True
