"""The fused genre model: one Keras branch per feature block, concatenated, sigmoid head.

Network (Keras functional API)::

    for each block b:   x_b (dim_b)          mask_b (1)
                          |                     |
                  Normalization (train stats)   |
                  Dense(units, relu) + Dropout  |   (one or more layers)
                          |                     |
                        h_b * mask_b  ----------+---- concatenated with mask_b
    concatenate all branches -> [Dense(units, relu) + Dropout]* -> Dense(n_genres, sigmoid)

A movie without a block (no poster, no known word) has ``mask_b = 0``: its branch
output is zeroed and the indicator tells the head the block is absent, so every movie
gets a prediction from the blocks it has. Each block is standardised with the mean and
variance of the *training* movies that have it (stored in the Normalization layer, so
the saved ``.keras`` file takes raw block values).

Loss: binary cross-entropy, optionally with per-genre class weights
(:class:`WeightedBinaryCrossentropy`, ``class_weight="balanced"``: positives and
negatives of each genre weighted ``n / (2 n_pos)`` and ``n / (2 n_neg)`` on the
training part). Adam; ``EarlyStopping`` (best weights restored) and
``ReduceLROnPlateau`` watch the loss on the validation part. Initialisers, dropout and
the shuffling are seeded, so the same data and seed give the same model on a given
backend.

Backends: the network is plain Keras 3 (``keras.ops``, no backend-specific API), so it
trains and predicts on TensorFlow, JAX or PyTorch (``KERAS_BACKEND`` or ``--backend``,
see :mod:`recsys.backend`). The training movies are fed as numpy arrays, reshuffled
before every epoch by a numpy generator seeded with ``seed`` (:class:`ShuffledBatches`),
so the batch order is the same on every backend and does not depend on any global
random state. The weights the seeded initialisers draw differ between backends (each
has its own random number generator), so the same seed gives the same model on one
backend, close but not identical models across backends.

What the blocks saw: the model's weights, block statistics, early stopping and
thresholds use the training and validation movies only, but the blocks themselves are
built by ``recsys features build`` for every movie. An ``overview_w2v`` block built with
``--word-vectors train`` comes from a Word2Vec fitted on all overviews, test movies
included (unsupervised, no labels: transductive, see :mod:`recsys.features.text`); one
built from a pretrained file did not see them.

A single-modality MLP (e.g. poster VGG16 features -> 1024-256-N, or mean word2vec ->
MLP) is the same model with one block and ``units=(1024, 256)``: :data:`DEFAULTS`
``["mlp"]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator

from genre.data.labels import check_training_labels
from genre.estimator import GenreThresholdsMixin, genre_names
from genre.evaluation.metrics import Criterion
from genre.fusion.block_inputs import BlockInputs
from genre.fusion.provenance import describe_differences, library_versions, provenance_differences
from genre.model_dir import (
    MODEL_FILES,
    read_model_folder,
    write_model_folder,
)
from recsys.backend import import_keras, import_tensorflow_quietly
from recsys.errors import DataError, InvalidParameterError, ModelDirError, NotFittedError

# Keras on the selected backend (TensorFlow, JAX or PyTorch: KERAS_BACKEND or --backend).
keras = import_keras()

__all__ = [
    "DEFAULTS",
    "MIN_DELTA",
    "FusionClassifier",
    "FusionEpoch",
    "ShuffledBatches",
    "WeightedBinaryCrossentropy",
    "balanced_class_weights",
    "block_statistics",
    "build_fusion_network",
    "network_inputs",
    "network_probabilities",
]

#: Smallest fall of the validation loss that counts as an improvement for early stopping.
MIN_DELTA = 1e-4

#: Default hyper-parameters of the ``fusion`` model and of the single-block ``mlp``.
DEFAULTS: dict[str, dict[str, Any]] = {
    "fusion": {"units": (256,), "head_units": (), "dropout": 0.5},
    "mlp": {"units": (1024, 256), "head_units": (), "dropout": 0.5},
}
_MIN_VARIANCE = 1e-8


_Loss: Any = keras.losses.Loss  # Keras base classes, on the selected backend
_PyDataset: Any = keras.utils.PyDataset


@keras.saving.register_keras_serializable(package="genre")
class WeightedBinaryCrossentropy(_Loss):
    """Binary cross-entropy with a weight for the positives and negatives of each genre.

    ``loss = -mean_j [w1_j y_j log p_j + w0_j (1 - y_j) log(1 - p_j)]``; with no weights
    it is the usual binary cross-entropy.

    Parameters
    ----------
    positive_weights, negative_weights : one number per genre (``None``: all 1).

    Examples
    --------
    >>> loss = WeightedBinaryCrossentropy([3.0], [1.0])
    >>> round(float(loss(np.array([[1.0]]), np.array([[0.5]]))), 4)
    2.0794
    """

    def __init__(
        self,
        positive_weights: Sequence[float] | None = None,
        negative_weights: Sequence[float] | None = None,
        name: str = "weighted_binary_crossentropy",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.positive_weights = (
            None if positive_weights is None else [float(w) for w in positive_weights]
        )
        self.negative_weights = (
            None if negative_weights is None else [float(w) for w in negative_weights]
        )

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        y_true = ops.cast(y_true, y_pred.dtype)
        eps = keras.backend.epsilon()
        p = ops.clip(y_pred, eps, 1.0 - eps)
        pos = y_true * ops.log(p)
        neg = (1.0 - y_true) * ops.log(1.0 - p)
        if self.positive_weights is not None:
            pos = pos * ops.convert_to_tensor(self.positive_weights, dtype=p.dtype)
        if self.negative_weights is not None:
            neg = neg * ops.convert_to_tensor(self.negative_weights, dtype=p.dtype)
        return -ops.mean(pos + neg, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "positive_weights": self.positive_weights,
            "negative_weights": self.negative_weights,
        }


def balanced_class_weights(Y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-genre weights ``n / (2 n_pos)`` for positives and ``n / (2 n_neg)`` for negatives.

    A genre with no positive (or no negative) example gets weight 1 for that class.

    >>> pos, neg = balanced_class_weights([[1, 0], [0, 0], [0, 0], [0, 1]])
    >>> pos.tolist(), neg.tolist()
    ([2.0, 2.0], [0.6666666666666666, 0.6666666666666666])
    """
    y = np.asarray(Y, dtype=float)
    n = len(y)
    n_pos = y.sum(axis=0)
    n_neg = n - n_pos
    pos = np.where(n_pos > 0, n / (2 * np.maximum(n_pos, 1)), 1.0)
    neg = np.where(n_neg > 0, n / (2 * np.maximum(n_neg, 1)), 1.0)
    return pos, neg


def block_statistics(
    inputs: BlockInputs,
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Mean and variance of each block over the rows that have it (call on training rows).

    Raises
    ------
    DataError
        If a block is absent from every row.

    >>> inputs = BlockInputs(np.arange(3), {"a": np.array([[1.], [3.], [0.]], "float32")},
    ...                      {"a": np.array([True, True, False])})
    >>> mean, var = block_statistics(inputs)["a"]
    >>> mean.tolist(), var.tolist()
    ([2.0], [1.0])
    """
    stats = {}
    for name in inputs.names:
        present = inputs.values[name][inputs.masks[name]].astype(np.float64)
        if len(present) == 0:
            raise DataError(
                f"no training movie has block {name!r}; it cannot be learned "
                "from. Drop it from the blocks or rebuild it."
            )
        var = present.var(axis=0)
        stats[name] = (present.mean(axis=0), np.where(var < _MIN_VARIANCE, 1.0, var))
    return stats


def build_fusion_network(
    dims: dict[str, int],
    n_outputs: int,
    *,
    units: Sequence[int] = (256,),
    head_units: Sequence[int] = (),
    dropout: float = 0.5,
    l2: float = 0.0,
    statistics: Mapping[str, tuple[ArrayLike, ArrayLike]] | None = None,
    seed: int = 0,
    second_stage: bool = False,
) -> Any:
    """The Keras functional network of the module docstring.

    Parameters
    ----------
    dims : block name -> dimension, in input order.
    n_outputs : number of genres.
    units : widths of each branch's Dense layers.
    head_units : widths of Dense layers after the concatenation (may be empty).
    dropout : rate after every hidden Dense layer.
    l2 : L2 penalty on the Dense kernels.
    statistics : block name -> (mean, variance) for the Normalization layers
        (``None``: no standardisation).
    seed : seeds the initialisers and dropout.
    second_stage : add the label-structure stage: the first stage's genre
        probabilities ``p1 = sigmoid(z1)`` go through a ``Dense(n_outputs)`` layer whose
        output is added to the logits, ``p = sigmoid(z1 + W p1 + b)`` (``W``, ``b``
        start at zero, so training starts from the one-stage model): each genre's final
        score sees the first-stage scores of every genre.

    Returns
    -------
    keras.Model with inputs ``{name: (dim,), name + "_mask": (1,)}`` and output
    ``(n_outputs,)`` probabilities.

    Examples
    --------
    >>> net = build_fusion_network({"poster": 8, "overview_w2v": 4}, 3, units=(5,))
    >>> sorted(net.input), net.output_shape
    (['overview_w2v', 'overview_w2v_mask', 'poster', 'poster_mask'], (None, 3))
    """
    layers = keras.layers
    if not dims:
        raise DataError("the fused model needs at least one block.")
    if not units or any(int(u) < 1 for u in (*units, *head_units)):
        raise DataError(
            f"layer widths must be positive integers, received units={units} "
            f"head_units={head_units}."
        )
    if not 0.0 <= dropout < 1.0:
        raise DataError(f"dropout must be in [0, 1), received {dropout}.")
    counter = iter(range(1, 10_000))
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None

    def dense(width: int, name: str, activation: str = "relu") -> Any:
        return layers.Dense(
            int(width),
            activation=activation,
            name=name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1000 + next(counter)),
            kernel_regularizer=regularizer,
        )

    inputs: dict[str, Any] = {}
    branches = []
    for name, dim in dims.items():
        x_in = keras.Input(shape=(int(dim),), name=name)
        m_in = keras.Input(shape=(1,), name=f"{name}_mask")
        inputs[name], inputs[f"{name}_mask"] = x_in, m_in
        h = x_in
        if statistics is not None:
            mean, var = statistics[name]
            h = layers.Normalization(
                mean=np.asarray(mean, dtype="float32"),
                variance=np.asarray(var, dtype="float32"),
                name=f"{name}_standardise",
            )(h)
        for depth, width in enumerate(units):
            h = dense(width, f"{name}_dense{depth + 1}")(h)
            if dropout > 0:
                h = layers.Dropout(
                    dropout, seed=seed * 1000 + next(counter), name=f"{name}_dropout{depth + 1}"
                )(h)
        h = layers.Multiply(name=f"{name}_masked")([h, m_in])
        branches.append(layers.Concatenate(name=f"{name}_branch")([h, m_in]))
    h = branches[0] if len(branches) == 1 else layers.Concatenate(name="fused")(branches)
    for depth, width in enumerate(head_units):
        h = dense(width, f"head_dense{depth + 1}")(h)
        if dropout > 0:
            h = layers.Dropout(
                dropout, seed=seed * 1000 + next(counter), name=f"head_dropout{depth + 1}"
            )(h)
    if not second_stage:
        out = dense(n_outputs, "genres", activation="sigmoid")(h)
        return keras.Model(inputs, out, name="genre_fusion")
    logits = dense(n_outputs, "first_stage_logits", activation="linear")(h)
    first = layers.Activation("sigmoid", name="first_stage")(logits)
    interactions = layers.Dense(
        n_outputs,
        kernel_initializer="zeros",
        bias_initializer="zeros",
        kernel_regularizer=regularizer,
        name="genre_interactions",
    )(first)
    logits = layers.Add(name="second_stage_logits")([logits, interactions])
    out = layers.Activation("sigmoid", name="genres")(logits)
    return keras.Model(inputs, out, name="genre_fusion")


def network_inputs(inputs: BlockInputs) -> dict[str, NDArray[np.float32]]:
    """The dict a fusion network takes: block values and ``<name>_mask`` columns."""
    out: dict[str, NDArray[np.float32]] = {}
    for name in inputs.names:
        out[name] = np.asarray(inputs.values[name], dtype=np.float32)
        out[f"{name}_mask"] = inputs.masks[name].astype(np.float32)[:, None]
    return out


class ShuffledBatches(_PyDataset):
    """Training batches in a fresh seeded order every epoch, the same on every backend.

    Batch ``i`` (counted from the start of training, over all epochs) is rows
    ``order_e[b * batch_size:(b + 1) * batch_size]`` of epoch ``e = i // n_batches``, batch
    ``b = i % n_batches``, where ``order_e`` is the permutation drawn by
    ``numpy.random.default_rng([seed, e])``. The order is a function of the step number
    alone (no state changed between epochs, no global random state), so a backend that
    reads batches ahead (TensorFlow prefetches) still sees the same order. The sequence is
    endless: pass ``steps_per_epoch=len(batches)`` to ``fit``.

    Examples
    --------
    >>> batches = ShuffledBatches({"a": np.arange(5.0)[:, None]}, np.arange(5.0), 2, seed=0)
    >>> len(batches), [len(batches[i][1]) for i in range(4)]
    (3, [2, 2, 1, 2])
    >>> sorted(np.concatenate([batches[i][1] for i in range(3)]).tolist())
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """

    def __init__(
        self,
        x: dict[str, NDArray[np.float32]],
        y: NDArray[np.float32],
        batch_size: int,
        *,
        seed: int = 0,
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self._n = len(y)
        self._orders: dict[int, NDArray[np.int64]] = {}

    def __len__(self) -> int:
        return -(-self._n // self.batch_size)

    @property
    def num_batches(self) -> None:
        """Endless (Keras then counts epochs by ``steps_per_epoch``)."""
        return None

    def order(self, epoch: int) -> NDArray[np.int64]:
        """The row order of ``epoch`` (0-based)."""
        if epoch not in self._orders:
            self._orders = {
                epoch: np.random.default_rng([self.seed, epoch]).permutation(self._n)
            }  # only the current epoch is kept
        return self._orders[epoch]

    def __getitem__(self, step: int) -> tuple[dict[str, NDArray[np.float32]], NDArray[np.float32]]:
        epoch, batch = divmod(int(step), len(self))
        rows = self.order(epoch)[batch * self.batch_size : (batch + 1) * self.batch_size]
        return {name: values[rows] for name, values in self.x.items()}, self.y[rows]


@dataclass(frozen=True)
class FusionEpoch:
    """Training loss, validation loss and learning rate of one epoch of the fused model."""

    epoch: int
    loss: float
    val_loss: float
    learning_rate: float


class FusionClassifier(GenreThresholdsMixin, BaseEstimator):
    """Multi-label genre classifier on feature blocks (see the module docstring).

    Parameters
    ----------
    units : widths of each branch's Dense layers (``(256,)``; the single-block MLP of
        :data:`DEFAULTS` ``["mlp"]``: ``(1024, 256)``).
    head_units : widths of Dense layers after the concatenation.
    second_stage : a second stage that sees the first stage's scores of every genre
        (see :func:`build_fusion_network`).
    dropout : rate after each hidden layer.
    l2 : L2 penalty on the kernels.
    class_weight : ``None`` or ``"balanced"`` (per-genre positive / negative weights
        from the training labels).
    learning_rate : of Adam.
    batch_size : movies per step.
    epochs : maximum epochs.
    patience : epochs without a validation loss better by 1e-4 before stopping (the
        learning rate is halved after ``max(1, patience // 3)`` such epochs).
    seed : seeds initialisers, dropout and shuffling.
    verbose : print one line per epoch.

    Attributes
    ----------
    network_ : keras.Model
        Inputs ``{block: (dim,), block + "_mask": (1,)}``, output
        ``(n_genres,)`` probabilities.
    blocks_ : list of str, length n_blocks
        Block names, in input order.
    dims_ : dict of str to int
        Block name -> dimension.
    statistics_ : dict of str to (ndarray of shape (dim,), ndarray of shape (dim,))
        Block name -> (mean, variance) of the training rows that have the block.
    provenance_ : dict of str to dict
        Block name -> how the block was made, as the training inputs recorded it
        (empty for blocks without a record); :meth:`scores` refuses blocks made
        differently (:mod:`genre.fusion.provenance`).
    history_ : list of FusionEpoch, length epochs run
        Loss, validation loss and learning rate of each epoch.
    best_epoch_ : int
        Epoch (1-based) whose weights EarlyStopping restored: the last epoch whose
        validation loss fell more than :data:`MIN_DELTA` below the best before it.
    n_genres_ : int
        Number of label columns.
    genres_ : tuple of str, length n_genres
        The genre of each label column (``"0"``, ``"1"``, ... when none were given).
    thresholds_ : ndarray of shape (n_genres,)
        Per-genre thresholds on the probabilities, chosen on the validation part to
        maximise ``threshold_by`` (:func:`genre.evaluation.metrics.select_thresholds`).
    threshold_by_ : str
        The metric the thresholds maximise.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Y = (rng.random((60, 2)) < 0.5).astype(int)
    >>> X = BlockInputs(np.arange(60), {"a": (Y + rng.normal(0, .3, (60, 2))).astype("float32")},
    ...                 {"a": np.ones(60, bool)})
    >>> clf = FusionClassifier(units=(8,), epochs=3, batch_size=16)
    >>> clf.fit(X.take(slice(0, 40)), Y[:40], validation=(X.take(slice(40, 60)), Y[40:])) is clf
    True
    >>> clf.predict_proba(X.take(slice(40, 60))).shape, clf.predict(X.take([0])).shape
    ((20, 2), (1, 2))
    """

    def __init__(
        self,
        *,
        units: Sequence[int] = (256,),
        head_units: Sequence[int] = (),
        second_stage: bool = False,
        dropout: float = 0.5,
        l2: float = 0.0,
        class_weight: str | None = None,
        learning_rate: float = 1e-3,
        batch_size: int = 64,
        epochs: int = 200,
        patience: int = 10,
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        self.units = units
        self.head_units = head_units
        self.second_stage = second_stage
        self.dropout = dropout
        self.l2 = l2
        self.class_weight = class_weight
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.seed = seed
        self.verbose = verbose

    def _check_params(self) -> None:
        if self.class_weight not in (None, "balanced"):
            raise InvalidParameterError(
                "class_weight",
                f"class_weight must be None or 'balanced', received {self.class_weight!r}.",
            )
        for name in ("batch_size", "epochs"):
            if int(getattr(self, name)) < 1:
                raise InvalidParameterError(
                    name, f"{name} must be at least 1, received {getattr(self, name)}."
                )
        if int(self.patience) < 0:
            raise InvalidParameterError(
                "patience", f"patience must be >= 0, received {self.patience}."
            )
        if self.l2 < 0:
            raise InvalidParameterError("l2", f"l2 must be >= 0, received {self.l2}.")
        if not self.learning_rate > 0:
            raise InvalidParameterError(
                "learning_rate", f"learning_rate must be > 0, received {self.learning_rate}."
            )

    def fit(
        self,
        X: BlockInputs,
        Y: ArrayLike,
        *,
        validation: tuple[BlockInputs, ArrayLike],
        genres: Sequence[str] | None = None,
        threshold_by: Criterion = "f1",
    ) -> FusionClassifier:
        """Train on ``X, Y``; early stopping, learning-rate decay and the per-genre
        thresholds use the ``validation`` part.

        Parameters
        ----------
        X : block inputs of the training movies.
        Y : binary label matrix of shape (n_movies, n_genres).
        validation : ``(X_val, Y_val)``, the validation movies (same blocks).
        genres : the genre of each column of ``Y`` (default ``"0"``, ``"1"``, ...).
        threshold_by : ``"f1"`` or ``"accuracy"``: what the thresholds maximise.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Bad hyper-parameters, mismatched shapes or blocks, a block absent from
            every training movie, fewer than 2 genres or a genre on every (or no)
            training movie (:func:`genre.data.labels.check_training_labels`).
        """
        self._check_params()
        X_val, Y_val = validation
        y = np.asarray(Y, dtype=np.float32)
        y_val = np.asarray(Y_val, dtype=np.float32)
        if y.ndim != 2 or len(y) != len(X) or y_val.shape != (len(X_val), y.shape[1]):
            raise DataError(
                f"labels must be (n_movies, n_genres) matrices matching the "
                f"inputs; got {y.shape} for {len(X)} training movies and "
                f"{y_val.shape} for {len(X_val)} validation movies."
            )
        if X.names != X_val.names:
            raise DataError(f"training and validation blocks differ: {X.names} vs {X_val.names}.")
        if len(y) == 0 or len(y_val) == 0:
            raise DataError("the training and the validation parts must both have movies.")
        check_training_labels(y)
        names = genre_names(genres, int(y.shape[1]))
        self.blocks_ = X.names
        self.dims_ = X.dims
        self.n_genres_ = int(y.shape[1])
        self.genres_ = names
        self.provenance_ = {n: dict(X.provenance[n]) for n in X.names if n in X.provenance}
        self.statistics_ = block_statistics(X)
        self.network_ = build_fusion_network(
            self.dims_,
            self.n_genres_,
            units=self.units,
            head_units=self.head_units,
            dropout=self.dropout,
            l2=self.l2,
            statistics=self.statistics_,
            seed=self.seed,
            second_stage=bool(self.second_stage),
        )
        if self.class_weight == "balanced":
            pos, neg = balanced_class_weights(y)
            loss = WeightedBinaryCrossentropy(pos.tolist(), neg.tolist())
        else:
            loss = WeightedBinaryCrossentropy()
        self.network_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=loss)
        train = ShuffledBatches(network_inputs(X), y, int(self.batch_size), seed=self.seed)
        early_stopping = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=int(self.patience),
            min_delta=MIN_DELTA,
            restore_best_weights=True,
        )
        callbacks = [
            early_stopping,
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=0.5,
                patience=max(1, int(self.patience) // 3),
                min_lr=1e-5,
            ),
        ]
        if self.verbose:
            callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=_print_epoch))
        history = self.network_.fit(
            train,
            steps_per_epoch=len(train),
            epochs=int(self.epochs),
            validation_data=(network_inputs(X_val), y_val),
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
        logs = history.history
        self.history_ = [
            FusionEpoch(
                i + 1,
                float(logs["loss"][i]),
                float(logs["val_loss"][i]),
                float(logs.get("learning_rate", [self.learning_rate] * len(logs["loss"]))[i]),
            )
            for i in range(len(logs["loss"]))
        ]
        # The epoch whose weights EarlyStopping restored: the last one whose validation
        # loss fell by more than MIN_DELTA below the best so far (not the argmin).
        self.best_epoch_ = int(early_stopping.best_epoch) + 1
        return self.fit_thresholds(X_val, y_val, by=threshold_by)

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("this FusionClassifier is not fitted yet; call fit first.")

    def scores(self, X: BlockInputs, batch_size: int = 1024) -> NDArray[np.float64]:
        """Genre probabilities of shape ``(n_movies, n_genres)``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataError
            If ``X`` lacks a block of the model, has a block of another dimension than
            at training time, or a block made differently (its provenance differs from
            :attr:`provenance_`; see :mod:`genre.fusion.provenance`).
        """
        self._check_fitted()
        self.check_provenance(X)
        chosen = X.select(self.blocks_)
        for name, dim in chosen.dims.items():
            if dim != int(self.dims_[name]):
                raise DataError(
                    f"block {name!r} has {dim} dimensions but the model was "
                    f"trained on {self.dims_[name]}; use the feature "
                    "store it was trained with."
                )
        return network_probabilities(self.network_, chosen, batch_size)

    def predict_proba(self, X: BlockInputs, batch_size: int = 1024) -> NDArray[np.float64]:
        """Genre probabilities of shape ``(n_movies, n_genres)`` (same as :meth:`scores`)."""
        return self.scores(X, batch_size)

    def check_provenance(self, X: BlockInputs) -> None:
        """Refuse blocks of ``X`` made differently from those the model learned from.

        Blocks whose provenance ``X`` or :attr:`provenance_` does not carry are not
        checked.

        Raises
        ------
        DataError
            Naming the block and the provenance keys that differ.
        """
        self._check_fitted()
        for name in self.blocks_:
            if name not in X.provenance or name not in self.provenance_:
                continue
            diff = provenance_differences(self.provenance_[name], X.provenance[name])
            if diff:
                raise DataError(
                    f"block {name!r} was made differently from the one the model was "
                    f"trained on ({describe_differences(diff)}); use the feature store "
                    "the model was trained with, or retrain on this one."
                )

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> Path:
        """Write this fitted classifier to a model folder (:mod:`genre.model_dir`).

        ``config.json`` records ``config`` (what else to keep: model name, data used...),
        then the blocks, their dimensions and provenance, the hyper-parameters
        (``params``) and the versions of Keras, its backend and numpy. The ``.keras``
        file is backend-neutral: a model trained on one Keras backend loads and scores
        on any other.

        Returns
        -------
        The folder's path.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataError
            If ``path`` is a non-empty folder that is not a genre model folder.
        """
        self._check_fitted()
        full_config = {
            **(config or {}),
            "blocks": list(self.blocks_),
            "dims": dict(self.dims_),
            "params": self.json_params(),
            "provenance": self.provenance_,
            "versions": library_versions(),
        }
        import_tensorflow_quietly()  # Keras' serializer imports it on every backend
        return write_model_folder(
            path,
            kind="fused",
            write_model_file=lambda tmp: self.network_.save(tmp / MODEL_FILES["fused"]),
            genres=self.genres_,
            thresholds=self.thresholds_,
            threshold_by=self.threshold_by_,
            score_kind="probability",
            config=full_config,
            metrics=metrics,
        )

    def json_params(self) -> dict[str, Any]:
        """The hyper-parameters as JSON values (layer widths as lists), ``verbose`` aside."""
        params = self.get_params()
        params.pop("verbose", None)
        params["units"] = [int(u) for u in self.units]
        params["head_units"] = [int(u) for u in self.head_units]
        params["second_stage"] = bool(self.second_stage)
        return params

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FusionClassifier:
        """Read a classifier written by :meth:`save` (or a fused folder of format 1).

        Training history comes from ``metrics.json`` (empty when it has none).

        Raises
        ------
        ModelDirError
            Not a fused genre model folder, damaged files, or files that disagree
            (genres, blocks).
        """
        folder = read_model_folder(
            path,
            kind="fused",
            load_model_file=lambda f: keras.saving.load_model(f, compile=False),
        )
        root, config, network = folder.path, folder.config, folder.model
        blocks, dims = config.get("blocks"), config.get("dims")
        if not blocks or not isinstance(dims, dict) or set(dims) != set(blocks):
            raise ModelDirError(
                f"{str(root / 'config.json')!r} does not describe a fused model "
                "(blocks and their dimensions); retrain the model."
            )
        if int(network.output_shape[-1]) != len(folder.vocabulary):
            raise ModelDirError(
                f"{str(root)!r}: genres.json and the network disagree on the genres; "
                "retrain the model."
            )
        inputs = set(network.input) if isinstance(network.input, dict) else set()
        if inputs and inputs != {n for b in blocks for n in (b, f"{b}_mask")}:
            raise ModelDirError(
                f"{str(root)!r}: config.json and the network disagree on the blocks; "
                "retrain the model."
            )
        params = dict(config.get("params") or {})
        try:
            kwargs: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in params.items()
            }
            model = cls(**kwargs)
        except TypeError as error:
            raise ModelDirError(
                f"{str(root / 'config.json')!r} has unknown parameters ({error}); "
                "retrain the model."
            ) from None
        model.network_ = network
        model.blocks_ = [str(b) for b in blocks]
        model.dims_ = {str(b): int(dims[b]) for b in blocks}
        model.n_genres_ = len(folder.vocabulary)
        model.genres_ = folder.vocabulary.genres
        model.thresholds_ = folder.thresholds
        model.threshold_by_ = folder.threshold_by or "f1"
        provenance = config.get("provenance")
        model.provenance_ = dict(provenance) if isinstance(provenance, dict) else {}
        model.statistics_ = {}
        for name in model.blocks_:
            try:
                layer = network.get_layer(f"{name}_standardise")
            except ValueError:
                continue
            model.statistics_[name] = (
                np.ravel(np.asarray(layer.mean, dtype=np.float64)),
                np.ravel(np.asarray(layer.variance, dtype=np.float64)),
            )
        training = folder.metrics.get("training") or {}
        model.history_ = [FusionEpoch(**r) for r in training.get("history", [])]
        model.best_epoch_ = int(training.get("best_epoch", len(model.history_)))
        return model


def _print_epoch(epoch: int, logs: dict[str, float]) -> None:
    print(
        f"  epoch {epoch + 1}: loss {logs['loss']:.4f}  val_loss {logs['val_loss']:.4f}  "
        f"learning rate {float(logs.get('learning_rate', float('nan'))):.2g}",
        flush=True,
    )


def network_probabilities(
    network: Any, X: BlockInputs, batch_size: int = 1024
) -> NDArray[np.float64]:
    """Probabilities of a fusion network for block inputs (in the network's block order)."""
    if len(X) == 0:
        return np.zeros((0, int(network.output_shape[-1])))
    out = network.predict(network_inputs(X), batch_size=batch_size, verbose=0)
    return np.asarray(out, dtype=np.float64)
