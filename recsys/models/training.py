"""Training a rating network: one epoch driver, one compiled loop per Keras backend.

:func:`train_network` runs the epochs, early stopping, best-weight keeping and
per-epoch checkpoints; an :class:`EpochLoop` does the backend's work, with the training
ratings resident on the device and every epoch compiled:

=============  ==============================================================================
backend        loop (:mod:`recsys.models.loops`)
=============  ==============================================================================
tensorflow     one ``tf.function`` per epoch looping over batches inside the graph;
               ``tf.distribute`` strategies; row-sparse ``LazyAdam`` (``IndexedSlices``)
jax            one ``jax.jit`` per epoch: Keras' ``stateless_call`` and
               ``optimizer.stateless_apply`` in a ``lax.fori_loop`` over the batches of a
               device-side permutation; data parallel over local devices with a mesh;
               masked dense ``LazyAdam``
torch          tensors on the device and one Python dispatch per step, through direct
               torch ops on the Keras variables (:mod:`~recsys.models.loops.torch_native`)
               when they reproduce the network, else through the Keras layers
=============  ==============================================================================

Every loop draws a seeded permutation per epoch (same seed, same data: same result on
one backend and device), takes the mean squared error of a batch plus the embeddings'
row penalties as its objective, and reports the mean objective over the epoch.
Early stopping watches the RMSE of a validation part carved from the training data;
the weights of the best epoch are restored at the end.

With ``objective="bpr"`` (Bayesian personalised ranking, Rendle et al. 2009) every
training rating is a positive: each step scores it and one negative drawn by a
:class:`~recsys.models.loops.common.NegativeSampler` (a movie its user did not rate in
training, new every epoch), and minimises ``mean(softplus(s_neg - s_pos))``, i.e.
``-log sigmoid(s_pos - s_neg)``, plus the same row penalties. Early stopping then
watches a ranking score of the validation part (``validate``: higher is better, e.g.
NDCG@k), computed from the network's weights after each epoch.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recsys.errors import DataError, InvalidParameterError
from recsys.models.history import EpochLog, TrainingResult
from recsys.models.loops.common import (
    OBJECTIVES,
    PREDICT_BATCH,
    Arrays,
    Checkpointer,
    EpochLoop,
    NegativeSampler,
    packed_rows,
)
from recsys.models.options import TrainingOptions

__all__ = [
    "Arrays",
    "Checkpointer",
    "EpochLog",
    "EpochLoop",
    "NegativeSampler",
    "TrainingResult",
    "make_loop",
    "packed_rows",
    "predict_network",
    "train_network",
]


def predict_network(
    network: Any, users: NDArray[np.int32], movies: NDArray[np.int32]
) -> NDArray[np.float32]:
    """Raw outputs of a Keras rating network for index pairs, in large batches; ``(n,)``.

    Works on every backend (``predict_on_batch``); the query path uses the numpy tables
    of :mod:`recsys.models.scoring` instead.
    """
    out = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), PREDICT_BATCH):
        stop = start + PREDICT_BATCH
        batch = {
            "user": np.asarray(users[start:stop], dtype=np.int32),
            "movie": np.asarray(movies[start:stop], dtype=np.int32),
        }
        out[start:stop] = np.asarray(network.predict_on_batch(batch)).reshape(-1)
    return out


def make_loop(
    network: Any,
    optimizer: Any,
    train: Arrays,
    validation: Arrays | None,
    *,
    batch_size: int,
    seed: int,
    clip: tuple[float, float] | None,
    options: TrainingOptions,
    objective: str = "rating",
    sampler: NegativeSampler | None = None,
) -> EpochLoop:
    """The training loop of the active Keras backend for ``network`` and ``optimizer``."""
    import keras

    backend = keras.backend.backend()
    options.check_backend(backend)
    if objective not in OBJECTIVES:
        raise InvalidParameterError(
            "objective", f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}."
        )
    if objective == "bpr" and sampler is None:
        raise InvalidParameterError("sampler", "objective='bpr' needs a NegativeSampler.")
    if backend == "tensorflow":
        from recsys.models.loops.tf_loop import TensorFlowLoop

        return TensorFlowLoop(
            network,
            optimizer,
            train,
            validation,
            batch_size=batch_size,
            seed=seed,
            clip=clip,
            strategy=options.strategy,
            objective=objective,
            sampler=sampler,
        )
    if backend == "jax":
        from recsys.models.loops.jax_loop import JaxLoop

        return JaxLoop(
            network,
            optimizer,
            train,
            validation,
            batch_size=batch_size,
            seed=seed,
            clip=clip,
            data_parallel=options.distribute == "mirrored",
            objective=objective,
            sampler=sampler,
        )
    if backend == "torch":
        from recsys.models.loops.torch_loop import TorchLoop

        return TorchLoop(
            network,
            optimizer,
            train,
            validation,
            batch_size=batch_size,
            seed=seed,
            clip=clip,
            objective=objective,
            sampler=sampler,
        )
    raise DataError(f"the {backend} Keras backend is not supported; use tensorflow, jax or torch.")


def _crc32(*parts: Arrays | None) -> int:
    """A checksum of the training and validation arrays (a different data set is refused)."""
    crc = 0
    for arrays in parts:
        for array in arrays or ():
            crc = zlib.crc32(np.ascontiguousarray(array).data.cast("B"), crc)
    return crc


def train_network(
    network: Any,
    optimizer: Any,
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
    options: TrainingOptions | None = None,
    run_id: dict[str, Any] | None = None,
    objective: str = "rating",
    sampler: NegativeSampler | None = None,
    validate: Callable[[Any], float | None] | None = None,
) -> TrainingResult:
    """Train ``network`` in place on ``train`` = ``(user_idx, movie_idx, rating)`` arrays.

    Parameters
    ----------
    network : a Keras rating network (inputs ``user``, ``movie``; output ``(batch,)``).
    optimizer : a Keras optimizer (not yet built), e.g.
        :class:`~recsys.models.optimizers.LazyAdam`.
    train : index arrays of shape ``(n,)`` each.
    validation : held-out arrays from the training data for early stopping, or
        ``None`` to train all ``epochs``.
    batch_size : the global batch: rows per step over all devices together (the last
        batch of an epoch holds the remainder).
    patience : epochs without a better validation RMSE before stopping.
    seed : seeds the per-epoch shuffles (every worker of a cluster draws the same
        permutation).
    clip : rating range to clip validation predictions to.
    on_epoch : called with an :class:`EpochLog` after every epoch (progress output).
    on_resume : called with the last completed epoch and the checkpoint directory when
        training resumes from a checkpoint.
    options : backend-independent infrastructure options (distribution, checkpoints,
        precision); see :class:`~recsys.models.options.TrainingOptions`.
    run_id : JSON-able description of the run (data size, hyper-parameters); a
        checkpoint of a different run is refused instead of resumed.
    objective : ``"rating"`` (squared error) or ``"bpr"`` (see the module docstring).
    sampler : the negatives of ``"bpr"``.
    validate : called with the network (its variables holding the current weights)
        after each epoch; returns a validation score where higher is better (e.g.
        NDCG@k), or ``None`` when it cannot score. When given, early stopping watches it
        instead of the validation RMSE.

    Returns
    -------
    TrainingResult

    Raises
    ------
    DataError
        If the checkpoint directory holds a checkpoint of a different run, or the
        options do not fit the backend.
    """
    options = options or TrainingOptions()
    loop = make_loop(
        network,
        optimizer,
        train,
        validation,
        batch_size=batch_size,
        seed=seed,
        clip=clip,
        options=options,
        objective=objective,
        sampler=sampler,
    )
    n = loop.n
    result = TrainingResult()
    best_rmse, waited, first = math.inf, 0, 1
    checkpointer = None
    if options.checkpoint_dir is not None:
        import keras

        run = {
            **(run_id or {}),
            "n": n,
            "steps": loop.steps,
            "seed": seed,
            "epochs": epochs,
            "backend": keras.backend.backend(),
            "data_crc32": _crc32(train, validation),
        }
        checkpointer = loop_checkpointer(loop, Path(options.checkpoint_dir), run)
        state = checkpointer.restore()
        if state is not None:
            result.history = [EpochLog(**h) for h in state["history"]]
            result.best_epoch = int(state["best_epoch"])
            result.stopped_early = bool(state["stopped_early"])
            best_rmse = float(state["best_rmse"])
            waited, first = int(state["waited"]), int(state["epoch"]) + 1
            if on_resume is not None:
                on_resume(int(state["epoch"]), Path(options.checkpoint_dir))
            if state.get("done"):
                first = epochs + 1
    start = time.perf_counter()
    for epoch in range(first, epochs + 1):
        tick = time.perf_counter()
        loss = loop.run_epoch(epoch)
        val_score = None
        if validate is not None:
            seconds = time.perf_counter() - tick
            loop.sync_network()
            val_score = validate(network)
            val_rmse = None if val_score is None else -val_score  # lower is better
        else:
            val_rmse = loop.validation_rmse()
            seconds = time.perf_counter() - tick
        log = EpochLog(
            epoch,
            loss,
            val_rmse if validate is None else None,
            seconds,
            n / seconds,
            val_ndcg=val_score,
        )
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
            loop.keep_best()
        else:
            waited += 1
            if waited >= patience:
                result.stopped_early = done = True
        if checkpointer is not None:
            checkpointer.save(
                epoch,
                {
                    "history": [asdict(h) for h in result.history],
                    "best_epoch": result.best_epoch,
                    "stopped_early": result.stopped_early,
                    "best_rmse": best_rmse,
                    "waited": waited,
                    "done": done or epoch == epochs,
                },
            )
        if done:
            break
    if result.best_epoch and result.best_epoch != result.epochs_run and math.isfinite(best_rmse):
        loop.restore_best()
    loop.finish()
    result.train_seconds = (
        time.perf_counter() - start + sum(h.seconds for h in result.history[: first - 1])
    )
    return result


def loop_checkpointer(loop: EpochLoop, directory: Path, run: dict[str, Any]) -> Checkpointer:
    """The checkpointer that fits ``loop`` (the loop's own, when it defines one)."""
    make = getattr(loop, "checkpointer", None)
    if make is not None:
        return make(directory, run)
    directory.mkdir(parents=True, exist_ok=True)
    return Checkpointer(directory, loop, run)
