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

__all__ = ["LazyAdam"]


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
