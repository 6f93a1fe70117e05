"""The training loop of the rating networks: whole epochs compiled into one graph.

Each epoch is one call of a ``tf.function`` that loops over mini-batches inside the
graph (no Python between steps). The training arrays are converted to tensors once;
an epoch only draws a seeded permutation of row numbers and gathers its batches from
them (user, movie and rating packed in one ``(n, 3)`` tensor, one memory access per
rating), so no copy of the ratings table is made per epoch. Early stopping watches the
RMSE of a validation part carved from the training data, and the weights of the best
epoch (kept in variables beside the network, copied in-graph) are restored at the end.

Under a ``tf.distribute`` strategy (see :mod:`recsys.models.distribute`) every step runs
through ``strategy.run``: each replica, on every worker, takes its own strided share of
the global batch (all workers hold the same data and draw the same permutation), and
the optimizer all-reduces the gradients, sparse ``IndexedSlices`` included. With a
checkpoint directory, the network, the optimizer and the early-stopping state are saved
after every epoch and a restarted run resumes after the last completed one.
"""

from __future__ import annotations

import json
import math
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from recsys.errors import DataError
from recsys.fileio import write_json_atomic
from recsys.jsonutil import jsonable

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


def _packed(arrays: Arrays) -> tf.Tensor:
    """One ``(n, 3)`` int32 tensor: user, movie and the rating's float32 bits.

    A batch then gathers one 12-byte row per rating instead of reading three arrays at
    three random places: at 25M ratings those cache misses cost more than the packing.
    """
    users, movies, ratings = arrays
    packed = np.empty((len(users), 3), dtype=np.int32)
    packed[:, 0] = users
    packed[:, 1] = movies
    packed[:, 2] = np.asarray(ratings, dtype=np.float32).view(np.int32)
    return tf.convert_to_tensor(packed)


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


class _Checkpointer:
    """Per-epoch checkpoints of one worker: network, optimizer, best weights and state."""

    def __init__(self, directory: Path, objects: dict[str, Any], run: dict[str, Any]) -> None:
        self.directory = directory
        self.run = run
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory),
                                                  max_to_keep=2, checkpoint_name="epoch")
        self.state_file = directory / "state.json"

    def restore(self) -> dict[str, Any] | None:
        """The saved state (and variables restored), or ``None`` to start afresh."""
        if not self.state_file.is_file():
            return None
        fix = "delete it or pass another --checkpoint-dir"
        try:
            state = json.loads(self.state_file.read_text())
            epoch = int(state["epoch"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(f"{str(self.state_file)!r} is damaged ({type(error).__name__}); "
                            f"{fix} to start afresh.") from None
        saved, wanted = state.get("run"), jsonable(self.run)
        if saved != wanted:
            differ = _differences(saved, wanted)
            raise DataError(
                f"the checkpoint directory {str(self.directory)!r} holds another training "
                f"run (different {', '.join(differ[:4]) or 'settings'}); {fix}, or run "
                "the same command as before to resume it.")
        path = f"{self.directory / 'epoch'}-{epoch}"
        if not tf.io.gfile.exists(path + ".index"):
            return None
        try:
            self.checkpoint.read(path).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, IndexError, AssertionError) as error:
            detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
            raise DataError(f"the checkpoint {path!r} is damaged ({detail}); {fix} to start "
                            "afresh.") from None
        return state

    def save(self, epoch: int, state: dict[str, Any]) -> None:
        self.manager.save(checkpoint_number=epoch)
        write_json_atomic(self.state_file, {"run": jsonable(self.run), "epoch": epoch,
                                            **state})


def _differences(saved: Any, wanted: Any, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two run descriptions."""
    if isinstance(saved, dict) and isinstance(wanted, dict):
        names: list[str] = []
        for key in sorted(set(saved) | set(wanted), key=str):
            names += _differences(saved.get(key), wanted.get(key), f"{prefix}{key}.")
        return names
    return [] if saved == wanted else [prefix.rstrip(".") or "run"]


def _crc32(*parts: Arrays | None) -> int:
    """A checksum of the training and validation arrays (a different data set is refused)."""
    crc = 0
    for arrays in parts:
        for array in arrays or ():
            crc = zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"), crc)
    return crc


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
    on_resume: Callable[[int, Path], None] | None = None,
    strategy: tf.distribute.Strategy | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    run_id: dict[str, Any] | None = None,
) -> TrainingResult:
    """Train ``network`` in place on ``train`` = ``(user_idx, movie_idx, rating)`` arrays.

    Parameters
    ----------
    validation : held-out arrays from the training data for early stopping, or
        ``None`` to train all ``epochs``.
    batch_size : the global batch: rows per step over all replicas together (the last
        batch of an epoch holds the remainder).
    patience : epochs without a better validation RMSE before stopping.
    seed : seeds the per-epoch shuffles (stateless, so a run is reproducible, and every
        worker of a cluster draws the same permutation).
    clip : rating range to clip validation predictions to.
    on_epoch : called with an :class:`EpochLog` after every epoch (progress output).
    on_resume : called with the last completed epoch and the checkpoint directory when
        training resumes from a checkpoint.
    strategy : a ``tf.distribute`` strategy under whose scope ``network`` and
        ``optimizer`` were created; ``None`` for the default (one device).
    checkpoint_dir : save a checkpoint after every epoch here and resume from the
        last one found (see :mod:`recsys.models.distribute`); ``None`` for none.
    run_id : JSON-able description of the run (data size, hyper-parameters); a
        checkpoint of a different run is refused instead of resumed.

    Returns
    -------
    TrainingResult

    Raises
    ------
    DataError
        If ``checkpoint_dir`` holds a checkpoint of a different run.
    """
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    rows = _packed(train)
    n = int(rows.shape[0])
    if n < replicas:
        raise DataError(f"{n} training ratings cannot feed {replicas} replicas; use more "
                        "data or fewer devices.")
    variables = network.trainable_variables
    weights = network.weights
    with strategy.scope():
        optimizer.build(variables)
        best = [tf.Variable(w.value, trainable=False, name=f"best_{i}")
                for i, w in enumerate(weights)]
    scaled_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def step(idx: tf.Tensor) -> tf.Tensor:
        context = tf.distribute.get_replica_context()
        local = idx[context.replica_id_in_sync_group::replicas]
        picked = tf.gather(rows, local)
        batch = {"user": picked[:, 0], "movie": picked[:, 1]}
        target = tf.bitcast(picked[:, 2], tf.float32)
        with tf.GradientTape() as tape:
            pred = network(batch, training=True)
            # sum over this replica's rows / global batch: the all-reduced (summed)
            # gradients are those of the mean over the global batch
            loss = tf.reduce_sum(tf.square(tf.cast(pred, tf.float32) - target)) / tf.cast(
                tf.shape(idx)[0], tf.float32)
            penalty = (tf.add_n([tf.cast(x, tf.float32) for x in network.losses]) / replicas
                       if network.losses else 0.0)
            objective = loss + penalty
            scaled = optimizer.scale_loss(objective) if scaled_loss else objective
        grads = tape.gradient(scaled, variables)
        optimizer.apply(grads, variables)
        return objective

    # batch i is order[bounds[i]:bounds[i + 1]]: full batches, then the remainder (merged
    # into the last full batch when too small to give every replica a row)
    edges = np.append(np.arange(0, n, batch_size, dtype=np.int64), n)
    if len(edges) > 2 and edges[-1] - edges[-2] < replicas:
        edges = np.delete(edges, -2)
    steps = len(edges) - 1
    bounds = tf.constant(edges, dtype=tf.int32)

    @tf.function
    def run_epoch(order: tf.Tensor) -> tf.Tensor:
        total = tf.constant(0.0, dtype=tf.float32)
        for i in tf.range(steps):
            idx = order[bounds[i]:bounds[i + 1]]
            per_replica = strategy.run(step, args=(idx,))
            objective = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
            total += objective * tf.cast(tf.shape(idx)[0], tf.float32)
        return total / n

    @tf.function
    def keep_best() -> None:
        for b, w in zip(best, weights, strict=True):
            b.assign(w.value)

    result = TrainingResult()
    best_rmse, waited, first = math.inf, 0, 1
    checkpointer = None
    if checkpoint_dir is not None:
        objects = {"network": network, "optimizer": optimizer,
                   **{f"best_{i}": b for i, b in enumerate(best)}}
        checkpointer = _Checkpointer(Path(checkpoint_dir), objects,
                                     {**(run_id or {}), "n": n, "steps": steps,
                                      "seed": seed, "epochs": epochs,
                                      "data_crc32": _crc32(train, validation)})
        state = checkpointer.restore()
        if state is not None:
            result.history = [EpochLog(**h) for h in state["history"]]
            result.best_epoch = int(state["best_epoch"])
            result.stopped_early = bool(state["stopped_early"])
            best_rmse = float(state["best_rmse"])
            waited, first = int(state["waited"]), int(state["epoch"]) + 1
            if on_resume is not None:
                on_resume(int(state["epoch"]), Path(checkpoint_dir))
            if state.get("done"):
                first = epochs + 1
    start = time.perf_counter()
    for epoch in range(first, epochs + 1):
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
        done = False
        if not math.isfinite(loss):
            done = True
        elif val_rmse is None:
            result.best_epoch = epoch
        elif val_rmse < best_rmse - 1e-5:
            best_rmse, waited, result.best_epoch = val_rmse, 0, epoch
            keep_best()
        else:
            waited += 1
            if waited >= patience:
                result.stopped_early = done = True
        if checkpointer is not None:
            checkpointer.save(epoch, {
                "history": [asdict(h) for h in result.history], "best_epoch": result.best_epoch,
                "stopped_early": result.stopped_early, "best_rmse": best_rmse,
                "waited": waited, "done": done or epoch == epochs})
        if done:
            break
    if result.best_epoch and result.best_epoch != result.epochs_run and math.isfinite(best_rmse):
        for b, w in zip(best, weights, strict=True):
            w.assign(b.read_value())
    result.train_seconds = (time.perf_counter() - start
                            + sum(h.seconds for h in result.history[:first - 1]))
    return result
