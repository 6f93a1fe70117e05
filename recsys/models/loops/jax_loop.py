"""The JAX training loop: a whole epoch inside one ``jax.jit``.

The packed training ratings (``(n, 3)`` int32: user, movie, rating bits) are copied to
the device once. An epoch is one compiled call: it draws a permutation of the rows from
``jax.random`` (key = seed, folded with the epoch), then runs every full batch in a
``lax.fori_loop`` and the remainder as one last step. A step gathers its rows, runs the
network with Keras' ``stateless_call`` (dropout and id-gate draws come from the seed
generators' state, which the step threads through) and updates the weights with
``optimizer.stateless_apply``. Weights and optimizer state live in JAX arrays for the
whole fit (donated to each epoch call, so they are updated in place) and are written
back into the Keras variables at the end; validation RMSE is computed on the device.

Data parallel (``distribute="mirrored"``): the weights and the ratings are replicated on
a one-axis mesh of every local device and each step's batch is sharded over it; XLA
inserts the gradient all-reduce.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np
from numpy.typing import NDArray

from recsys.models.loops.common import Arrays, NegativeSampler, packed_rows

__all__ = ["JaxLoop"]

_VALIDATION_CHUNK = 1 << 18

State = tuple[list[Any], list[Any], list[Any]]


class JaxLoop:
    """One ``jax.jit`` per epoch; see the module docstring."""

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
        data_parallel: bool = False,
        objective: str = "rating",
        sampler: NegativeSampler | None = None,
    ) -> None:
        self.network, self.optimizer, self.seed, self.clip = network, optimizer, seed, clip
        self.objective, self.sampler = objective, sampler
        rows = packed_rows(train)
        self.n = n = len(rows)
        self.batch = batch = max(1, min(int(batch_size), n))
        self.full, self.remainder = divmod(n, batch)
        self.steps = self.full + (1 if self.remainder else 0)
        optimizer.build(network.trainable_variables)
        self._replicated, self._sharded = _shardings(data_parallel)
        self.rows = self._owned(rows)
        self._no_negatives = self._put(np.zeros(1, dtype=np.int32))
        self.state: State = self._owned(
            (
                [v.value for v in network.trainable_variables],
                [v.value for v in network.non_trainable_variables],
                [v.value for v in optimizer.variables],
            )
        )
        self.best: tuple[list[Any], list[Any]] | None = None
        self.validation = None
        if validation is not None and len(validation[0]):
            self.n_validation = len(validation[0])
            self.chunk = min(_VALIDATION_CHUNK, 1 << (self.n_validation - 1).bit_length())
            self.validation = self._owned(_padded(packed_rows(validation), self.chunk))
        self._epoch = jax.jit(self._epoch_fn, donate_argnums=0)
        self._val = jax.jit(self._validation_fn)

    # ----------------------------------------------------------------- placement
    def _put(self, tree: Any) -> Any:
        if self._replicated is None:
            return jax.device_put(tree)
        return jax.device_put(tree, self._replicated)

    def _owned(self, tree: Any) -> Any:
        """``tree`` placed, as fresh buffers that XLA allocated.

        On a CPU, an array placed from numpy memory (the packed ratings, Keras
        initialisers, a loaded checkpoint) can share that memory with numpy, and the
        epoch donates its state: same-seed runs then differed now and then, by 1e-6 to
        1e-4 in the loss, most often when a checkpoint was written between epochs. A
        compiled copy cannot share memory with numpy.
        """
        return _copy(self._put(tree))

    # --------------------------------------------------------------- the step
    def _objective(
        self,
        trainable: list[Any],
        non_trainable: list[Any],
        picked: Any,
        negatives: Any,
        optimizer_vars: list[Any],
    ) -> tuple[Any, tuple[Any, list[Any]]]:
        users, movies = picked[:, 0], picked[:, 1]
        bpr = self.objective == "bpr"
        if bpr:  # the positives, then one sampled negative per positive
            users = jnp.concatenate([users, users])
            movies = jnp.concatenate([movies, negatives])
        inputs = {"user": users, "movie": movies}
        pred, non_trainable, losses = self.network.stateless_call(
            trainable, non_trainable, inputs, training=True, return_losses=True
        )
        pred = pred.astype(jnp.float32)
        if bpr:
            size = picked.shape[0]
            objective = jnp.mean(jax.nn.softplus(pred[size:] - pred[:size]))
        else:
            target = jax.lax.bitcast_convert_type(picked[:, 2], jnp.float32)
            objective = jnp.mean(jnp.square(pred - target))
        for extra in losses:
            objective = objective + extra.astype(jnp.float32)
        scaled = objective
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            mapping = list(zip(self.optimizer.variables, optimizer_vars, strict=True))
            with keras.StatelessScope(state_mapping=mapping):
                scaled = self.optimizer.scale_loss(objective)
        return scaled, (objective, non_trainable)

    def _step(self, state: State, rows: Any, negatives: Any, idx: Any) -> tuple[State, Any]:
        trainable, non_trainable, optimizer_vars = state
        picked = rows[idx]
        picked_negatives = negatives[idx] if self.objective == "bpr" else None
        if self._sharded is not None:
            picked = jax.lax.with_sharding_constraint(picked, self._sharded)
        grad_fn = jax.value_and_grad(self._objective, has_aux=True)
        (_, (objective, non_trainable)), grads = grad_fn(
            trainable, non_trainable, picked, picked_negatives, optimizer_vars
        )
        trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, grads, trainable)
        return (trainable, non_trainable, optimizer_vars), objective

    def _epoch_fn(self, state: State, rows: Any, negatives: Any, key: Any) -> tuple[State, Any]:
        """One epoch. ``rows`` is an argument, not a closure: a captured array would be
        baked into the compiled program as a constant (at 25M ratings, 270 MB and
        seconds of compilation)."""
        # one sort of random keys (jax.random.permutation sorts three times at 25M rows)
        order = jnp.argsort(jax.random.bits(key, (self.n,), jnp.uint32)).astype(jnp.int32)
        batch = self.batch

        def body(i: Any, carry: tuple[State, Any]) -> tuple[State, Any]:
            state, total = carry
            idx = jax.lax.dynamic_slice_in_dim(order, i * batch, batch)
            state, objective = self._step(state, rows, negatives, idx)
            return state, total + objective * batch

        total = jnp.zeros((), jnp.float32)
        state, total = jax.lax.fori_loop(0, self.full, body, (state, total))
        if self.remainder:
            state, objective = self._step(state, rows, negatives, order[self.full * batch :])
            total = total + objective * self.remainder
        return state, total / self.n

    def run_epoch(self, epoch: int) -> float:
        key = jax.random.fold_in(jax.random.key(self.seed), epoch)
        negatives = self._no_negatives
        if self.sampler is not None:
            # owned, like every other array the epoch reads (see _owned)
            negatives = self._owned(self.sampler.draw(epoch))
        self.state, loss = self._epoch(self.state, self.rows, negatives, key)
        return float(loss)

    # ----------------------------------------------------------- validation
    def _validation_fn(self, trainable: list[Any], non_trainable: list[Any], rows: Any) -> Any:
        low, high = self.clip if self.clip is not None else (-jnp.inf, jnp.inf)

        size = self.chunk

        def chunk(carry: tuple[Any, Any], part: Any) -> tuple[tuple[Any, Any], None]:
            total, offset = carry
            inputs = {"user": part[:, 0], "movie": part[:, 1]}
            target = jax.lax.bitcast_convert_type(part[:, 2], jnp.float32)
            pred, _ = self.network.stateless_call(trainable, non_trainable, inputs, training=False)
            pred = jnp.clip(pred.astype(jnp.float32), low, high)
            valid = offset + jnp.arange(size) < self.n_validation
            total = total + jnp.sum(jnp.where(valid, jnp.square(pred - target), 0.0))
            return (total, offset + size), None

        parts = rows.reshape(-1, size, 3)
        (total, _), _ = jax.lax.scan(chunk, (jnp.zeros((), jnp.float32), 0), parts)
        return total

    def validation_rmse(self) -> float | None:
        if self.validation is None:
            return None
        trainable, non_trainable, _ = self.state
        total = float(self._val(trainable, non_trainable, self.validation))
        return float(np.sqrt(total / self.n_validation))

    # ------------------------------------------------------- best, state, end
    def keep_best(self) -> None:
        trainable, non_trainable, _ = self.state
        self.best = jax.tree_util.tree_map(jnp.copy, (trainable, non_trainable))

    def restore_best(self) -> None:
        if self.best is not None:
            trainable, non_trainable = self.best
            self.state = (trainable, non_trainable, self.state[2])

    def finish(self) -> None:
        trainable, non_trainable, optimizer_vars = self.state
        for variable, value in zip(self.network.trainable_variables, trainable, strict=True):
            variable.assign(value)
        for variable, value in zip(
            self.network.non_trainable_variables, non_trainable, strict=True
        ):
            variable.assign(value)
        for variable, value in zip(self.optimizer.variables, optimizer_vars, strict=True):
            variable.assign(value)

    def sync_network(self) -> None:
        """Copy the current weights into the Keras variables (copies: the state's
        buffers are donated to the next epoch)."""
        trainable, non_trainable, _ = self.state
        for variable, value in zip(self.network.trainable_variables, trainable, strict=True):
            variable.assign(jnp.copy(value))
        for variable, value in zip(
            self.network.non_trainable_variables, non_trainable, strict=True
        ):
            variable.assign(jnp.copy(value))

    def state_arrays(self) -> list[NDArray[Any]]:
        trainable, non_trainable, optimizer_vars = self.state
        best = self.best if self.best is not None else (trainable, non_trainable)
        return [
            np.array(a, copy=True)
            for a in (*trainable, *non_trainable, *optimizer_vars, *best[0], *best[1])
        ]

    def load_state_arrays(self, arrays: list[NDArray[Any]]) -> None:
        trainable, non_trainable, optimizer_vars = self.state
        sizes = [len(trainable), len(non_trainable), len(optimizer_vars)]
        if len(arrays) != sum(sizes) + sizes[0] + sizes[1]:
            raise ValueError(f"{len(arrays)} arrays for {sum(sizes)} variables")
        parts, start = [], 0
        for size in (*sizes, sizes[0], sizes[1]):
            parts.append([jnp.asarray(a) for a in arrays[start : start + size]])
            start += size
        for new, old in zip(parts, (*self.state, trainable, non_trainable), strict=True):
            for a, b in zip(new, old, strict=True):
                if a.shape != b.shape:
                    raise ValueError(f"an array of shape {a.shape} for a variable of {b.shape}")
        self.state = self._owned((parts[0], parts[1], parts[2]))
        self.best = self._owned((parts[3], parts[4]))


@jax.jit
def _copy(tree: Any) -> Any:
    return jax.tree_util.tree_map(jnp.copy, tree)


def _padded(rows: NDArray[np.int32], chunk: int) -> NDArray[np.int32]:
    """``rows`` padded with zero rows to a multiple of ``chunk`` (masked out by position)."""
    pad = (-len(rows)) % chunk
    if not pad:
        return rows
    return np.concatenate([rows, np.zeros((pad, 3), dtype=np.int32)])


def _shardings(data_parallel: bool) -> tuple[Any, Any]:
    """(replicated, batch-sharded) shardings over all local devices, or ``(None, None)``."""
    devices = jax.local_devices()
    if not data_parallel or len(devices) < 2:
        return None, None
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(devices), ("batch",))
    return NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("batch"))
