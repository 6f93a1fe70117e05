"""Optimizers with sparse (row-wise) updates for embedding tables.

A batch of ratings touches a few hundred rows of tables that can hold millions. Keras'
``Adam`` turns the sparse gradient of an embedding lookup into a dense update of the
whole table and of both moment tables, on every step. :class:`LazyAdam` updates only
the rows the batch looked up (as TensorFlow Addons' ``LazyAdam`` did): their moments and
their values, with the usual bias correction from the global step. Dense variables
(dense layers, the global offset) get the ordinary Adam update.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

__all__ = ["LazyAdam", "SparseLossScaleOptimizer"]


@keras.saving.register_keras_serializable(package="recsys")
class LazyAdam(keras.optimizers.Adam):
    """Adam that updates only the embedding rows present in the batch.

    Identical to :class:`keras.optimizers.Adam` for dense gradients. For a sparse
    gradient (``tf.IndexedSlices``, what an embedding lookup produces) the first and
    second moments and the weights are updated for the looked-up rows only; rows not in
    the batch keep their moments instead of decaying them. Requires the TensorFlow
    backend.

    Examples
    --------
    >>> opt = LazyAdam(learning_rate=0.01)
    >>> opt.get_config()["learning_rate"]
    0.01
    """

    def update_step(self, gradient, variable, learning_rate):  # type: ignore[no-untyped-def]
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        alpha = lr * ops.sqrt(1 - ops.power(beta_2, step)) / (1 - ops.power(beta_1, step))

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

    def check_finite(self, grads):  # type: ignore[no-untyped-def]
        return super().check_finite(
            [g.values if isinstance(g, tf.IndexedSlices) else g for g in grads])

    def _stateful_handle_finite_grads(self, grads, trainable_variables):  # type: ignore[no-untyped-def]
        scale = self.dynamic_scale
        unscaled = []
        for g in grads:
            if isinstance(g, tf.IndexedSlices):
                g = tf.IndexedSlices(g.values / ops.cast(scale, g.values.dtype), g.indices,
                                     g.dense_shape)
            elif g is not None:
                g = ops.divide(g, ops.cast(scale, g.dtype))
            unscaled.append(g)
        self.inner_optimizer.apply(unscaled, trainable_variables=trainable_variables)

        def upscale() -> None:
            self.step_counter.assign(0)
            self.dynamic_scale.assign(ops.multiply(self.dynamic_scale, 2.0))

        def increment() -> None:
            self.step_counter.assign_add(1)

        ops.cond(ops.equal(self.step_counter, self.dynamic_growth_steps - 1), upscale,
                 increment)
