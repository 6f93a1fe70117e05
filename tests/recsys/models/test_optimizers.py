"""LazyAdam: Adam on the rows a batch touches, nothing on the others."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from recsys.models import LazyAdam


def sparse(indices: list[int], values: list[list[float]]) -> tf.IndexedSlices:
    return tf.IndexedSlices(
        tf.constant(values, tf.float32),
        tf.constant(indices, tf.int32),
        dense_shape=tf.constant([3, 2]),
    )


def dense_of(grad: tf.IndexedSlices) -> tf.Tensor:
    return tf.convert_to_tensor(grad)


def test_touched_rows_follow_adam_and_others_stay() -> None:
    start = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], dtype="float32")
    lazy_var, adam_var = keras.Variable(start), keras.Variable(start)
    lazy, adam = LazyAdam(0.1), keras.optimizers.Adam(0.1)
    steps = [sparse([0, 2], [[1.0, -1.0], [0.5, 0.5]]), sparse([0], [[1.0, 1.0]])]
    for grad in steps:
        lazy.apply([grad], [lazy_var])
        adam.apply([dense_of(grad)], [adam_var])
        np.testing.assert_allclose(np.asarray(lazy_var)[0], np.asarray(adam_var)[0], rtol=1e-5)
    # row 1 never had a gradient: both leave it alone
    np.testing.assert_allclose(np.asarray(lazy_var)[1], start[1])
    # row 2 was touched only in step 1: dense Adam keeps moving it with its momentum,
    # LazyAdam does not
    after_first = start[2] - 0.1 * np.sign([0.5, 0.5])
    np.testing.assert_allclose(np.asarray(lazy_var)[2], after_first, rtol=1e-5)
    assert not np.allclose(np.asarray(adam_var)[2], after_first)


def test_repeated_indices_are_summed() -> None:
    start = np.zeros((3, 2), dtype="float32")
    repeated, summed = keras.Variable(start), keras.Variable(start)
    LazyAdam(0.1).apply([sparse([1, 1], [[1.0, 0.0], [2.0, 0.0]])], [repeated])
    LazyAdam(0.1).apply([sparse([1], [[3.0, 0.0]])], [summed])
    np.testing.assert_allclose(np.asarray(repeated), np.asarray(summed))


def test_dense_gradients_are_plain_adam() -> None:
    start = np.ones((2, 2), dtype="float32")
    a, b = keras.Variable(start), keras.Variable(start)
    grad = tf.constant([[0.3, -0.2], [0.1, 0.0]])
    lazy, adam = LazyAdam(0.05), keras.optimizers.Adam(0.05)
    for _ in range(3):
        lazy.apply([grad], [a])
        adam.apply([grad], [b])
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_config_round_trip() -> None:
    opt = LazyAdam(learning_rate=0.02, beta_1=0.8)
    again = LazyAdam.from_config(opt.get_config())
    assert again.get_config()["beta_1"] == 0.8
    assert isinstance(keras.optimizers.deserialize(keras.optimizers.serialize(opt)), LazyAdam)
