"""A PyTorch-native forward pass and Adam step for the rating networks (the fast path).

A Keras functional model called on PyTorch dispatches every layer through Keras' Python
machinery: about 10 ms per step whatever the batch, which caps a GPU at a few million
ratings per second. :class:`NativeStep` computes the same objective from the *same*
tensors (the Keras variables' ``torch.nn.Parameter`` values, updated in place) with a
dozen direct torch ops, and applies the same (lazy) Adam update to the optimizer's own
moment variables, so checkpoints, ``finish`` and saving see ordinary Keras state.

It covers what :func:`recsys.models.networks.build_network` builds (``dot``, ``bias``,
``mlp``; linear or sigmoid output; the movie side-feature path with its id gate) in
float32 with :class:`~recsys.models.optimizers.LazyAdam`. :meth:`NativeStep.build`
checks the native forward and penalties against the Keras network on a sample batch and
returns ``None`` (use the Keras path) when anything differs or is not covered.
"""

from __future__ import annotations

from typing import Any

import keras
import torch

__all__ = ["NativeStep"]


class NativeStep:
    """The network's objective and the optimizer's update in direct torch ops."""

    def __init__(self, network: keras.Model, optimizer: Any, seed: int) -> None:
        layers = {layer.name: layer for layer in network.layers}
        self.layers = layers
        self.kind = network.name.split("_")[0]
        self.optimizer = optimizer
        self.weights = {
            f"{name}/{w.name}": w for name, layer in layers.items() for w in layer.weights
        }
        self.t = {key: w.value for key, w in self.weights.items()}
        self.l2 = {
            name: float(getattr(layers[name], "row_l2", 0.0))
            for name in ("user_embedding", "movie_embedding", "user_bias", "movie_bias")
            if name in layers
        }
        self.side = "side_table" in layers
        self.side_l2 = {
            name: float(getattr(layers[name].kernel_regularizer, "l2", 0.0))
            if layers[name].kernel_regularizer is not None
            else 0.0
            for name in ("side_factors", "side_bias")
            if name in layers
        }
        self.id_rate = float(layers["id_gate"].rate) if "id_gate" in layers else 0.0
        drops = [layer.rate for layer in network.layers if isinstance(layer, keras.layers.Dropout)]
        self.dropout = (float(drops[0]), float(drops[1])) if len(drops) == 2 else (0.0, 0.0)
        sigmoid = layers.get("sigmoid_range")
        self.range = (sigmoid.low, sigmoid.high) if sigmoid is not None else None
        device = next(iter(self.t.values())).device
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(int(seed) * 7919 + 17)
        self.variables = network.trainable_variables
        self.step = int(optimizer.iterations.value)
        # CPU: sparse embedding gradients (only the looked-up rows, like TensorFlow's
        # IndexedSlices); GPU: dense gradients and a masked update (no host syncs)
        self.sparse = device.type == "cpu" and bool(getattr(optimizer, "lazy", False))
        # read once: a float() of a GPU tensor in every step would synchronise the host
        # with the device and stall the queue of kernels
        self.lr = float(optimizer.learning_rate)
        # (first moment, second moment, value, the layer's name for an embedding table)
        self.slots = [
            (
                optimizer._momentums[optimizer._get_variable_index(v)].value,
                optimizer._velocities[optimizer._get_variable_index(v)].value,
                v.value,
                v.path.split("/")[0] if v.name == "embeddings" and len(v.shape) == 2 else "",
            )
            for v in self.variables
        ]
        self._leaves: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.values = [v.value for v in self.variables]

    # ------------------------------------------------------------------- build
    @classmethod
    def build(
        cls, network: keras.Model, optimizer: Any, seed: int, sample: torch.Tensor
    ) -> NativeStep | None:
        """A native step for ``network`` and ``optimizer``, or ``None`` when not covered
        or when it does not reproduce the Keras network on ``sample`` rows."""
        from recsys.models.optimizers import LazyAdam

        known = {
            "user",
            "movie",
            "user_embedding",
            "movie_embedding",
            "user_bias",
            "movie_bias",
            "dot",
            "add_biases",
            "global_mean",
            "sigmoid_range",
            "concat",
            "hidden",
            "out",
            "side_table",
            "movie_warm",
            "id_gate",
            "side_factors",
            "side_bias",
        }
        names = {
            layer.name
            for layer in network.layers
            if not isinstance(
                layer, (keras.layers.Dropout, keras.layers.Flatten, keras.layers.InputLayer)
            )
            and not layer.name.startswith(("flatten", "get_item", "multiply", "add"))
        }
        if (
            type(optimizer) is not LazyAdam
            or not names <= known
            or any(w.dtype != "float32" for w in network.weights)
            or network.dtype_policy.name != "float32"
            or callable(getattr(optimizer, "_learning_rate", None))
            or network.name.split("_")[0] not in ("dot", "bias", "mlp")
        ):
            return None
        step = cls(network, optimizer, seed)
        with torch.no_grad():
            inputs = {"user": sample[:, 0], "movie": sample[:, 1]}
            expected = network(inputs, training=False).float()
            penalty = sum((x.float() for x in network.losses), torch.zeros(()))
            got, got_penalty = step.forward(sample[:, 0], sample[:, 1], training=False)
        if not (
            torch.allclose(got, expected, rtol=1e-4, atol=1e-5)
            and torch.allclose(
                got_penalty.cpu(), torch.as_tensor(penalty).float().cpu(), rtol=1e-4, atol=1e-6
            )
        ):
            return None
        return step

    # ----------------------------------------------------------------- forward
    def forward(
        self, users: torch.Tensor, movies: torch.Tensor, training: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictions ``(batch,)`` and the penalty (the Keras network's losses)."""
        t = self.t
        users, movies = users.long(), movies.long()
        u = self._lookup("user_embedding", users)
        m = self._lookup("movie_embedding", movies)
        penalty = self._row_penalty("user_embedding", u) + self._row_penalty("movie_embedding", m)
        gate = s = None
        if self.side:
            s = t["side_table/embeddings"].index_select(0, movies)
            gate = t["movie_warm/embeddings"].index_select(0, movies)
            if training and self.id_rate > 0:
                draw = torch.rand(gate.shape, generator=self.generator, device=gate.device)
                gate = gate * (draw >= self.id_rate).to(gate.dtype)
            m = m * gate + s @ t["side_factors/kernel"] + t["side_factors/bias"]
            penalty = penalty + self._kernel_penalty("side_factors")
        if self.kind in ("dot", "bias"):
            score = torch.sum(u * m, dim=-1)
            if self.kind == "bias":
                ub = self._lookup("user_bias", users)
                mb = self._lookup("movie_bias", movies)
                penalty = (
                    penalty
                    + self._row_penalty("user_bias", ub)
                    + self._row_penalty("movie_bias", mb)
                )
                if gate is not None and s is not None:  # the side-feature path
                    mb = mb * gate + s @ t["side_bias/kernel"] + t["side_bias/bias"]
                    penalty = penalty + self._kernel_penalty("side_bias")
                score = score + ub[:, 0] + mb[:, 0] + t["global_mean/offset"]
        else:
            x = torch.cat([u, m], dim=-1)
            x = self._dropout(x, self.dropout[0], training)
            x = torch.relu(x @ t["hidden/kernel"] + t["hidden/bias"])
            x = self._dropout(x, self.dropout[1], training)
            score = (x @ t["out/kernel"] + t["out/bias"])[:, 0]
        if self.range is not None:
            low, high = self.range
            score = torch.sigmoid(score) * (high - low) + low
        return score, penalty

    def _lookup(self, name: str, index: torch.Tensor) -> torch.Tensor:
        table = self.t[f"{name}/embeddings"]
        rows = table.index_select(0, index)
        if self.sparse and torch.is_grad_enabled():
            # the looked-up rows become leaves: autograd stops at them (no table-sized
            # gradient), and the step adds their gradients per unique row
            rows = rows.detach().requires_grad_(True)
            self._leaves[name] = (index, rows)
        return rows

    def _row_penalty(self, name: str, rows: torch.Tensor) -> torch.Tensor:
        strength = self.l2.get(name, 0.0)
        if strength <= 0:
            return torch.zeros((), device=rows.device)
        return strength * torch.mean(torch.sum(torch.square(rows), dim=-1))

    def _kernel_penalty(self, name: str) -> torch.Tensor:
        kernel = self.t[f"{name}/kernel"]
        strength = self.side_l2.get(name, 0.0)
        if strength <= 0:
            return torch.zeros((), device=kernel.device)
        return strength * torch.sum(torch.square(kernel))

    def _dropout(self, x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
        if not training or rate <= 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= rate
        return x * keep.to(x.dtype) / (1.0 - rate)

    # --------------------------------------------------------------- the step
    def train_step(self, picked: torch.Tensor) -> torch.Tensor:
        """One optimizer step on ``picked`` rows (user, movie, rating bits); the objective."""
        self._leaves = {}
        pred, penalty = self.forward(picked[:, 0], picked[:, 1], training=True)
        target = picked[:, 2].view(torch.float32)
        objective = torch.mean(torch.square(pred - target)) + penalty
        if self.sparse:
            leaves = [name for _, _, _, name in self.slots if name in self._leaves]
            wanted = [
                value
                for value, (_, _, _, name) in zip(self.values, self.slots, strict=True)
                if not name
            ]
            found = torch.autograd.grad(
                objective, wanted + [self._leaves[n][1] for n in leaves], allow_unused=True
            )
            dense = iter(found[: len(wanted)])
            rows = dict(zip(leaves, found[len(wanted) :], strict=True))
            grads: tuple[Any, ...] = tuple(
                (self._leaves[name][0], rows[name]) if name else next(dense)
                for _, _, _, name in self.slots
            )
        else:
            grads = torch.autograd.grad(objective, self.values, allow_unused=True)
        self.step += 1
        with torch.no_grad():
            self._adam(grads)
        return objective.detach()

    def _adam(self, grads: tuple[Any, ...]) -> None:
        """Lazy Adam; an embedding table's gradient is ``(index, rows)`` in sparse mode."""
        opt = self.optimizer
        b1, b2, eps = float(opt.beta_1), float(opt.beta_2), float(opt.epsilon)
        lr = self.lr
        alpha = lr * (1 - b2**self.step) ** 0.5 / (1 - b1**self.step)
        dense_p, dense_g, dense_m, dense_v = [], [], [], []
        for (m, v, p, table), grad in zip(self.slots, grads, strict=True):
            if grad is None:
                continue
            if opt.lazy and table:
                if isinstance(grad, tuple):  # row-sparse: gather, update, scatter
                    index, per_rating = grad
                    rows, inverse = torch.unique(index, return_inverse=True)
                    g = torch.zeros(
                        (len(rows), p.shape[1]), dtype=p.dtype, device=p.device
                    ).index_add_(0, inverse, per_rating)
                    m_rows = m.index_select(0, rows).mul_(b1).add_(g, alpha=1 - b1)
                    v_rows = v.index_select(0, rows).mul_(b2).addcmul_(g, g, value=1 - b2)
                    m.index_copy_(0, rows, m_rows)
                    v.index_copy_(0, rows, v_rows)
                    p.index_add_(0, rows, m_rows.div_(v_rows.sqrt_().add_(eps)), alpha=-alpha)
                    continue
                touched = torch.any(grad != 0, dim=-1, keepdim=True)
                m.copy_(torch.where(touched, m * b1 + grad * (1 - b1), m))
                v.copy_(torch.where(touched, v * b2 + grad * grad * (1 - b2), v))
                p.sub_(torch.where(touched, alpha * m / (v.sqrt() + eps), 0.0))
            else:
                dense_p.append(p)
                dense_g.append(grad)
                dense_m.append(m)
                dense_v.append(v)
        if dense_p:
            torch._foreach_lerp_(dense_m, dense_g, 1 - b1)
            torch._foreach_mul_(dense_v, b2)
            torch._foreach_addcmul_(dense_v, dense_g, dense_g, value=1 - b2)
            denom = torch._foreach_sqrt(dense_v)
            torch._foreach_add_(denom, eps)
            torch._foreach_addcdiv_(dense_p, dense_m, denom, value=-alpha)

    def sync(self) -> None:
        """Write the step count back into the Keras optimizer (end of an epoch)."""
        self.optimizer.iterations.assign(self.step)
