"""Optimizers with row-wise ("lazy") updates for embedding tables, on every backend.

A batch of ratings touches a few hundred rows of tables that can hold millions. Keras'
``Adam`` updates the whole table and both moment tables on every step, and decays the
moments of rows the batch never looked up. :class:`LazyAdam` updates only the rows the
batch looked up (as TensorFlow Addons' ``LazyAdam`` did): their moments and their
values, with the usual bias correction from the global step. Dense variables (dense
layers, the global offset) get the ordinary Adam update.

How the rows are found depends on the backend, and the arithmetic is the same:

- TensorFlow: an embedding lookup's gradient is a ``tf.IndexedSlices``; only its rows are
  gathered, updated and scattered back (row-sparse: cheapest on a CPU, where a pass
  over a 162k x 64 table costs more than the batch).
- JAX and PyTorch: gradients are dense tables (zero rows where nothing was looked up);
  the update is computed for the whole table and applied where a row's gradient is not
  zero (a masked dense update: the same result, and on a GPU a few fused passes over a
  table are faster than gather/scatter of unique rows).

``lazy=False`` gives Keras' dense Adam on every backend (the benchmark compares both).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["LazyAdam", "SparseLossScaleOptimizer"]


@keras.saving.register_keras_serializable(package="recsys")
class LazyAdam(keras.optimizers.Adam):
    """Adam that updates only the embedding rows present in the batch.

    Identical to :class:`keras.optimizers.Adam` for dense layers. For an embedding
    table (a variable whose name is ``embeddings``) the first and second moments and
    the weights are updated for the looked-up rows only; rows not in the batch keep
    their moments instead of decaying them. See the module docstring for how each
    backend finds the rows.

    Parameters
    ----------
    learning_rate : the Adam step size.
    lazy : ``False`` turns the row-wise update off (plain Adam everywhere).
    **kwargs : passed to :class:`keras.optimizers.Adam`.

    Examples
    --------
    >>> opt = LazyAdam(learning_rate=0.01)
    >>> round(float(opt.get_config()["learning_rate"]), 6)
    0.01
    """

    def __init__(self, learning_rate: Any = 0.001, *, lazy: bool = True, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.lazy = bool(lazy)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lazy": self.lazy}

    def update_step(self, gradient, variable, learning_rate):
        if not self.lazy:
            return super().update_step(gradient, variable, learning_rate)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if isinstance(gradient, tf.IndexedSlices):
                return self._sparse_update(gradient, variable, learning_rate)
            return super().update_step(gradient, variable, learning_rate)
        if len(variable.shape) == 2 and variable.name == "embeddings":
            if keras.backend.backend() == "torch":
                return self._torch_update(gradient, variable, learning_rate)
            return self._masked_update(gradient, variable, learning_rate)
        return super().update_step(gradient, variable, learning_rate)

    def _alpha(self, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        return lr * ops.sqrt(1 - ops.power(beta_2, step)) / (1 - ops.power(beta_1, step))

    def _masked_update(self, gradient, variable, learning_rate):
        """Adam on the rows whose gradient is not zero (dense gradients: JAX, PyTorch)."""
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        alpha = self._alpha(variable, learning_rate)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        m_old, v_old = ops.convert_to_tensor(m), ops.convert_to_tensor(v)
        touched = ops.any(ops.not_equal(gradient, 0), axis=-1, keepdims=True)
        m_new = ops.where(touched, beta_1 * m_old + (1 - beta_1) * gradient, m_old)
        v_new = ops.where(touched, beta_2 * v_old + (1 - beta_2) * ops.square(gradient), v_old)
        self.assign(m, m_new)
        self.assign(v, v_new)
        step = ops.where(touched, alpha * m_new / (ops.sqrt(v_new) + self.epsilon), 0.0)
        self.assign_sub(variable, ops.cast(step, dtype))

    def _torch_update(self, gradient, variable, learning_rate):
        """Adam on the rows whose gradient is not zero, in place with PyTorch ops.

        On a CPU the touched rows are gathered, updated and scattered back (row-sparse);
        on a GPU the masked dense form avoids the host synchronisation of ``nonzero``.
        """
        import torch

        index = self._get_variable_index(variable)
        m, v, table = (self._momentums[index].value, self._velocities[index].value, variable.value)
        alpha = self._alpha(variable, learning_rate)
        b1, b2, eps = float(self.beta_1), float(self.beta_2), float(self.epsilon)
        g = gradient.to(table.dtype)
        touched = torch.any(g != 0, dim=-1)
        with torch.no_grad():
            if table.device.type == "cpu":
                rows = torch.nonzero(touched).squeeze(1)
                g_rows = g.index_select(0, rows)
                m_rows = m.index_select(0, rows).mul_(b1).add_(g_rows, alpha=1 - b1)
                v_rows = v.index_select(0, rows).mul_(b2).addcmul_(g_rows, g_rows, value=1 - b2)
                m.index_copy_(0, rows, m_rows)
                v.index_copy_(0, rows, v_rows)
                table.index_add_(0, rows, -alpha * m_rows / (v_rows.sqrt() + eps))
                return
            mask = touched.unsqueeze(1)
            m.copy_(torch.where(mask, m * b1 + g * (1 - b1), m))
            v.copy_(torch.where(mask, v * b2 + g * g * (1 - b2), v))
            table.sub_(torch.where(mask, alpha * m / (v.sqrt() + eps), 0.0))

    def _sparse_update(self, gradient, variable, learning_rate):
        """Adam on the rows of a ``tf.IndexedSlices`` gradient (TensorFlow)."""
        import tensorflow as tf

        dtype = variable.dtype
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        alpha = self._alpha(variable, learning_rate)

        # An index can repeat within a batch: sum its gradient rows first.
        rows, position = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(
            tf.cast(gradient.values, dtype), position, tf.shape(rows)[0]
        )
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        m_rows = beta_1 * tf.gather(m.value, rows) + (1 - beta_1) * values
        v_rows = beta_2 * tf.gather(v.value, rows) + (1 - beta_2) * tf.square(values)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        step_rows = alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon)
        self.assign_sub(variable, tf.IndexedSlices(step_rows, rows))
        return None


class SparseLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Dynamic loss scaling (for ``mixed_float16``) that keeps sparse gradients sparse.

    Keras' :class:`~keras.optimizers.LossScaleOptimizer` unscales and checks gradients
    with dense ops, which turns the ``IndexedSlices`` of an embedding lookup into a
    dense table (and :class:`LazyAdam` into dense Adam). This subclass unscales and
    checks only the looked-up rows; the scale logic is Keras' (halve on a non-finite
    gradient and skip the step, double after ``dynamic_growth_steps`` good steps).

    Examples
    --------
    >>> opt = SparseLossScaleOptimizer(LazyAdam(0.01))
    >>> opt.inner_optimizer.__class__.__name__
    'LazyAdam'
    """

    def check_finite(self, grads):
        return super().check_finite([_values(g) for g in grads])

    def _stateful_handle_finite_grads(self, grads, trainable_variables):
        if keras.backend.backend() != "tensorflow":
            return super()._stateful_handle_finite_grads(grads, trainable_variables)
        import tensorflow as tf

        scale = self.dynamic_scale
        unscaled = []
        for g in grads:
            if isinstance(g, tf.IndexedSlices):
                g = tf.IndexedSlices(
                    g.values / ops.cast(scale, g.values.dtype), g.indices, g.dense_shape
                )
            elif g is not None:
                g = ops.divide(g, ops.cast(scale, g.dtype))
            unscaled.append(g)
        self.inner_optimizer.apply(unscaled, trainable_variables=trainable_variables)

        def upscale() -> None:
            self.step_counter.assign(0)
            self.dynamic_scale.assign(ops.multiply(self.dynamic_scale, 2.0))

        def increment() -> None:
            self.step_counter.assign_add(1)

        ops.cond(ops.equal(self.step_counter, self.dynamic_growth_steps - 1), upscale, increment)


def _values(gradient: Any) -> Any:
    """The values of a ``tf.IndexedSlices`` gradient, or the gradient itself."""
    return (
        getattr(gradient, "values", gradient)
        if type(gradient).__name__ == ("IndexedSlices")
        else gradient
    )
