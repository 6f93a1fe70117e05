"""The PyTorch training loop: device-resident tensors, one Python dispatch per step.

The packed training ratings (``(n, 3)`` int32: user, movie, rating bits) are copied to
the device once (the GPU when PyTorch sees one; Keras puts the network's variables
there too). An epoch draws a permutation with a seeded ``torch.Generator``, then each
step gathers its rows on the device, runs the Keras network, back-propagates and calls
``optimizer.apply`` (no host copy between steps; the epoch's loss is summed on the
device and read once). Validation RMSE is computed on the device under ``no_grad``.

Each step runs :class:`~recsys.models.loops.torch_native.NativeStep` (the network's
objective and the lazy Adam update in direct torch ops on the Keras variables' tensors)
when it reproduces the Keras network, and the Keras layers otherwise (mixed precision,
other optimizers). ``torch.compile`` is not used: a step is a dozen small kernels whose
dispatch costs less than recompiling for the last, smaller batch of every epoch.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import torch
from numpy.typing import NDArray

from recsys.models.loops.common import (
    PREDICT_BATCH,
    Arrays,
    NegativeSampler,
    batch_edges,
    packed_rows,
)

__all__ = ["TorchLoop"]


class TorchLoop:
    """Device-resident steps on PyTorch; see the module docstring."""

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
        objective: str = "rating",
        sampler: NegativeSampler | None = None,
    ) -> None:
        from keras.src.backend.torch.core import get_device

        self.objective, self.sampler = objective, sampler
        self.negatives: torch.Tensor | None = None
        self.network, self.optimizer, self.seed, self.clip = network, optimizer, seed, clip
        self.device = torch.device(get_device())
        self.rows = torch.as_tensor(packed_rows(train), device=self.device)
        self.n = len(self.rows)
        self.edges = batch_edges(self.n, int(batch_size)).tolist()
        self.steps = len(self.edges) - 1
        self.variables = network.trainable_variables
        optimizer.build(self.variables)
        self.weights = network.weights
        self.best: list[torch.Tensor] | None = None
        self.validation = None
        if validation is not None and len(validation[0]):
            self.validation = torch.as_tensor(packed_rows(validation), device=self.device)
        self.scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        from recsys.models.loops.torch_native import NativeStep

        # the native step computes the squared error only: BPR goes through the layers
        self.native = (
            NativeStep.build(network, optimizer, seed, self.rows[:512])
            if objective == "rating"
            else None
        )

    def _objective(self, picked: torch.Tensor, negatives: torch.Tensor | None) -> torch.Tensor:
        users, movies = picked[:, 0], picked[:, 1]
        if negatives is not None:  # bpr: the positives, then one negative per positive
            users, movies = torch.cat([users, users]), torch.cat([movies, negatives])
        pred = self.network({"user": users, "movie": movies}, training=True).float()
        if negatives is not None:
            size = len(picked)
            objective = torch.mean(torch.nn.functional.softplus(pred[size:] - pred[:size]))
        else:
            target = picked[:, 2].view(torch.float32)
            objective = torch.mean(torch.square(pred - target))
        for extra in self.network.losses:
            objective = objective + extra.float()
        return objective

    def run_epoch(self, epoch: int) -> float:
        generator = torch.Generator(device=self.device)
        generator.manual_seed(int(self.seed) * 1_000_003 + int(epoch))
        order = torch.randperm(self.n, generator=generator, device=self.device)
        total = torch.zeros((), dtype=torch.float32, device=self.device)
        values = [v.value for v in self.variables]
        negatives = None
        if self.sampler is not None:
            negatives = torch.as_tensor(self.sampler.draw(epoch), device=self.device)
        if self.native is not None:
            for start, stop in zip(self.edges[:-1], self.edges[1:], strict=True):
                total += self.native.train_step(self.rows[order[start:stop]]) * (stop - start)
            self.native.sync()
            return float(total / self.n)
        for start, stop in zip(self.edges[:-1], self.edges[1:], strict=True):
            idx = order[start:stop]
            picked = self.rows[idx]
            objective = self._objective(picked, None if negatives is None else negatives[idx])
            scaled = self.optimizer.scale_loss(objective) if self.scaled else objective
            raw = torch.autograd.grad(scaled, values, allow_unused=True)
            grads = [
                torch.zeros_like(v) if g is None else g for g, v in zip(raw, values, strict=True)
            ]
            with torch.no_grad():
                self.optimizer.apply(grads, self.variables)
            total += objective.detach() * (stop - start)
        return float(total / self.n)

    @torch.no_grad()
    def validation_rmse(self) -> float | None:
        if self.validation is None:
            return None
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for start in range(0, len(self.validation), PREDICT_BATCH):
            part = self.validation[start : start + PREDICT_BATCH]
            if self.native is not None:
                pred, _ = self.native.forward(part[:, 0], part[:, 1], training=False)
            else:
                pred = self.network(
                    {"user": part[:, 0], "movie": part[:, 1]}, training=False
                ).float()
            if self.clip is not None:
                pred = torch.clamp(pred, *self.clip)
            total += torch.sum(torch.square(pred - part[:, 2].view(torch.float32))).double()
        return float(np.sqrt(float(total) / len(self.validation)))

    @torch.no_grad()
    def keep_best(self) -> None:
        self.best = [w.value.detach().clone() for w in self.weights]

    @torch.no_grad()
    def restore_best(self) -> None:
        if self.best is not None:
            for w, b in zip(self.weights, self.best, strict=True):
                w.assign(b)

    def finish(self) -> None:
        """Nothing to do: the network's variables are trained in place."""

    def sync_network(self) -> None:
        """Nothing to do: the network's variables are trained in place."""

    def state_arrays(self) -> list[NDArray[Any]]:
        best = self.best if self.best is not None else [w.value for w in self.weights]
        return [
            np.asarray(keras.ops.convert_to_numpy(v))
            for v in (
                *[w.value for w in self.weights],
                *[v.value for v in self.optimizer.variables],
                *best,
            )
        ]

    @torch.no_grad()
    def load_state_arrays(self, arrays: list[NDArray[Any]]) -> None:
        targets = [*self.weights, *self.optimizer.variables]
        if len(arrays) != len(targets) + len(self.weights):
            raise ValueError(f"{len(arrays)} arrays for {len(targets)} variables")
        for variable, value in zip(targets, arrays, strict=False):
            if tuple(variable.shape) != tuple(value.shape):
                raise ValueError(
                    f"an array of shape {value.shape} for a variable of {tuple(variable.shape)}"
                )
            variable.assign(value)
        self.best = [torch.as_tensor(a, device=self.device) for a in arrays[len(targets) :]]
        if self.native is not None:
            self.native.step = int(self.optimizer.iterations.value)
