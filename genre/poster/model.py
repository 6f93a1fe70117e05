"""The poster CNN genre classifier: trained end to end on poster images.

:class:`PosterCNNClassifier` trains a :mod:`genre.poster.network` network on the
posters of the training movies and chooses per-genre thresholds on the validation
movies, like every genre model (:class:`genre.estimator.GenreThresholdsMixin`).

Training (the usual Keras machinery)
    SGD with Nesterov momentum 0.9 or Adam; binary cross-entropy, optionally with
    per-genre ``balanced`` class weights (:func:`genre.fusion.model.balanced_class_weights`
    of the rows fed to the network); ``EarlyStopping`` on the validation loss with the
    best weights restored, ``ReduceLROnPlateau`` (halves the learning rate after
    ``max(1, patience // 3)`` epochs without a better validation loss), ``CSVLogger`` and
    ``ModelCheckpoint`` (the best epoch's weights) in the checkpoint folder. ``vgg16``
    trains its new top on the frozen base first, then unfreezes the base's last block
    and fine-tunes for ``fine_tune_epochs`` more at ``fine_tune_factor`` times the
    learning rate.

Batches (:class:`PosterBatches`)
    Images are read from the ``uint8`` image array (a memory map,
    :func:`genre.poster.images.load_poster_images`) one batch at a time, in a fresh order
    every epoch drawn by ``numpy.random.default_rng([seed, phase, epoch])``: the same on
    every backend and after a resume. Minority upsampling (``upsample``, see
    :func:`upsample_rows`) repeats training rows only, after the split: the validation
    and test posters are never in a training batch. Augmentation runs inside the network,
    in training only.

Resuming (``checkpoint_dir``)
    After every epoch the weights and optimizer state (``last.weights.h5``), the best
    weights (``best.weights.h5``) and ``state.json`` (epoch, phase, early-stopping and
    learning-rate state, history, and the run's settings and data) are written there
    atomically. A new ``fit`` with the same settings and data resumes after the last
    completed epoch; one with other settings is refused (:class:`~recsys.errors.DataError`
    naming what differs), so a stale checkpoint is never mixed in.
"""

from __future__ import annotations

import json
import math
import os
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator

from genre.data.labels import check_training_labels
from genre.estimator import GenreThresholdsMixin, genre_names
from genre.evaluation.metrics import Criterion
from genre.fusion.model import WeightedBinaryCrossentropy, balanced_class_weights
from genre.model_dir import MODEL_FILES, read_model_folder, write_model_folder
from genre.poster.network import build_poster_network, unfreeze_last_block
from genre.poster.spec import check_image_size
from recsys.backend import import_keras, import_tensorflow_quietly
from recsys.errors import DataError, InvalidParameterError, NotFittedError
from recsys.fileio import output_step, write_json_atomic

keras = import_keras()

__all__ = [
    "PosterBatches",
    "PosterCNNClassifier",
    "PosterEpoch",
    "PosterInput",
    "upsample_rows",
]

_PyDataset: Any = keras.utils.PyDataset
_Callback: Any = keras.callbacks.Callback
_ModelCheckpoint: Any = keras.callbacks.ModelCheckpoint
#: What the per-epoch lines and the learning curves show.
_LOG_KEYS = ("loss", "micro_f1", "val_loss", "val_micro_f1")


@dataclass(frozen=True)
class PosterInput:
    """Some rows of an image array: what the classifier scores.

    Attributes
    ----------
    images : ndarray of shape (n_images, size, size, 3), ``uint8`` (a memory map is fine).
    rows : ndarray of shape (n,), the rows of ``images`` to use, in order.
    """

    images: NDArray[np.uint8]
    rows: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def of(cls, images: ArrayLike) -> PosterInput:
        """All rows of ``images`` (shape (n, size, size, 3))."""
        array = np.asarray(images)
        return cls(array, np.arange(len(array), dtype=np.int64))


def upsample_rows(Y: ArrayLike, *, max_factor: int = 3) -> NDArray[np.int64]:
    """Row positions of ``Y`` with the rows of minority genres repeated.

    Each row appears ``min(max_factor, round(n_top / n_g))`` times for the rarest genre
    ``g`` it has, where ``n_g`` counts the rows of genre ``g`` and ``n_top`` those of
    the most frequent genre; rows of no genre appear once. Call it on the training
    labels only: it returns positions among those rows.

    Parameters
    ----------
    Y : binary label matrix of shape (n_movies, n_genres).
    max_factor : the most copies of one row.

    Returns
    -------
    ndarray of shape (n_fed,), sorted positions in ``0 .. n_movies - 1``.

    >>> upsample_rows([[1, 0], [1, 0], [1, 0], [1, 1], [0, 0]]).tolist()
    [0, 1, 2, 3, 3, 3, 4]
    """
    y = np.asarray(Y, dtype=bool)
    counts = y.sum(axis=0)
    top = max(int(counts.max()) if counts.size else 0, 1)
    factors = np.where(counts > 0, np.rint(top / np.maximum(counts, 1)), 1).clip(1, max_factor)
    per_row = np.where(y, factors[None, :], 1).max(axis=1, initial=1).astype(np.int64)
    return np.repeat(np.arange(len(y), dtype=np.int64), per_row)


class PosterBatches(_PyDataset):
    """Batches of images (float32, 0..255) and labels read from a ``uint8`` image array.

    With ``shuffle`` (training) the sequence is endless: step ``i`` of the fit is batch
    ``b = i % n_batches`` of epoch ``e = epoch_offset + i // n_batches`` in the order
    ``numpy.random.default_rng([seed, phase, e]).permutation(n)``, so a backend that reads
    ahead, and a resumed run, see the same batches. Without it (validation, scoring) the
    rows come once, in order.

    Examples
    --------
    >>> images = np.zeros((6, 4, 4, 3), np.uint8)
    >>> batches = PosterBatches(images, np.array([0, 2, 4]), None, 2, shuffle=False)
    >>> len(batches), batches[1][0].shape
    (2, (1, 4, 4, 3))
    """

    def __init__(
        self,
        images: NDArray[np.uint8],
        rows: NDArray[np.int64],
        y: NDArray[np.float32] | None,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        phase: int = 0,
        epoch_offset: int = 0,
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.images, self.rows, self.y = images, np.asarray(rows, dtype=np.int64), y
        self.batch_size = int(batch_size)
        self.shuffle, self.seed, self.phase = shuffle, int(seed), int(phase)
        self.epoch_offset = int(epoch_offset)
        self._order: tuple[int, NDArray[np.int64]] | None = None

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    @property
    def num_batches(self) -> int | None:
        return None if self.shuffle else len(self)

    def positions(self, step: int) -> NDArray[np.int64]:
        """Positions in :attr:`rows` of batch ``step``."""
        if not self.shuffle:
            return np.arange(
                step * self.batch_size, min((step + 1) * self.batch_size, len(self.rows))
            )
        epoch, batch = divmod(int(step), len(self))
        epoch += self.epoch_offset
        if self._order is None or self._order[0] != epoch:
            rng = np.random.default_rng([self.seed, self.phase, epoch])
            self._order = (epoch, rng.permutation(len(self.rows)))
        return self._order[1][batch * self.batch_size : (batch + 1) * self.batch_size]

    def image_rows(self, step: int) -> NDArray[np.int64]:
        """Rows of the image array in batch ``step``."""
        return self.rows[self.positions(step)]

    def __getitem__(self, step: int) -> Any:
        positions = self.positions(step)
        rows = self.rows[positions]
        order = np.argsort(rows, kind="stable")  # memory maps read faster in order
        batch = np.empty((len(rows), *self.images.shape[1:]), dtype=np.float32)
        batch[order] = self.images[rows[order]]
        if self.y is None:
            return (batch,)
        return batch, self.y[positions]


@dataclass(frozen=True)
class PosterEpoch:
    """One epoch of training (``phase`` ``"top"`` or ``"fine_tune"``)."""

    epoch: int
    phase: str
    loss: float
    micro_f1: float
    val_loss: float
    val_micro_f1: float
    learning_rate: float
    seconds: float


class _Resume(_Callback):
    """Saves the training state after every epoch; restores the callbacks' state."""

    def __init__(
        self,
        directory: Path | None,
        state: dict[str, Any],
        early: Any,
        plateau: Any,
        best: Any,
        on_epoch: Callable[[PosterEpoch], None] | None,
        restored: dict[str, Any] | None,
        best_weights: list[Any] | None,
    ) -> None:
        super().__init__()
        self.directory, self.state = directory, state
        self.early, self.plateau, self.best = early, plateau, best
        self.on_epoch, self.restored, self.best_weights = on_epoch, restored, best_weights
        self._tick = time.perf_counter()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        saved = self.restored
        if not saved:
            return
        early, plateau = saved["early_stopping"], saved["plateau"]
        self.early.wait, self.early.best = early["wait"], early["best"]
        self.early.best_epoch = early["best_epoch"]
        self.early.best_weights = self.best_weights
        self.plateau.wait, self.plateau.best = plateau["wait"], plateau["best"]
        self.plateau.cooldown_counter = plateau["cooldown"]
        if early["best"] is not None:
            self.best.best = early["best"]

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._tick = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        values = {k: float(logs.get(k, math.nan)) for k in _LOG_KEYS}
        record = PosterEpoch(
            epoch=epoch + 1,
            phase=str(self.state["phase"]),
            learning_rate=float(logs.get("learning_rate", math.nan)),
            seconds=time.perf_counter() - self._tick,
            **values,
        )
        self.state["history"].append(asdict(record))
        self.state["epoch"] = epoch + 1
        self.state["early_stopping"] = {
            "wait": int(self.early.wait),
            "best": None if self.early.best is None else float(self.early.best),
            "best_epoch": int(self.early.best_epoch),
        }
        self.state["plateau"] = {
            "wait": int(self.plateau.wait),
            "best": None if self.plateau.best is None else float(self.plateau.best),
            "cooldown": int(self.plateau.cooldown_counter),
        }
        if self.directory is not None:
            _save_weights(self.model, self.directory / "last.weights.h5")
            write_json_atomic(self.directory / "state.json", self.state)
            output_step("checkpoint", self.directory / "state.json")
        if self.on_epoch is not None:
            self.on_epoch(record)


def _save_weights(network: Any, path: Path) -> None:
    """``network.save_weights`` (weights and optimizer state) to a temporary file, renamed."""
    tmp = path.with_name(f".{os.getpid()}.tmp.{path.name}")
    network.save_weights(tmp)
    os.replace(tmp, path)


class _AtomicCheckpoint(_ModelCheckpoint):
    """``ModelCheckpoint`` of the best weights, written to a temporary file and renamed."""

    filepath: str

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> None:
        final = self.filepath
        self.filepath = str(Path(final).with_name(f".{os.getpid()}.tmp.{Path(final).name}"))
        try:
            super()._save_model(epoch, batch, logs)
        finally:
            self.filepath = final
        tmp = Path(final).with_name(f".{os.getpid()}.tmp.{Path(final).name}")
        if tmp.exists():
            os.replace(tmp, final)


class PosterCNNClassifier(GenreThresholdsMixin, BaseEstimator):
    """Multi-label genre classifier on poster images (see the module docstring).

    Parameters
    ----------
    architecture : ``"scratch"`` or ``"vgg16"``.
    image_size : posters are resized to ``image_size`` x ``image_size`` (scratch >= 16,
        vgg16 >= 32).
    weights : vgg16's base: ``"imagenet"``, ``"none"`` (seeded random) or a weights file
        (``None``: ``"imagenet"`` for vgg16, none for scratch).
    optimizer : ``"sgd"`` (Nesterov momentum 0.9) or ``"adam"``.
    learning_rate : initial learning rate.
    batch_size : posters per step.
    epochs : most epochs of the first phase (early stopping on validation).
    patience : epochs without a better validation loss before stopping.
    fine_tune_epochs : vgg16: most epochs with the base's last block unfrozen (0: none).
    fine_tune_factor : the fine-tuning learning rate as a fraction of ``learning_rate``.
    class_weight : ``None`` or ``"balanced"``.
    upsample : repeat training rows of minority genres (:func:`upsample_rows`).
    dropout : rate before the output layer.
    augment : zoom and shift fraction of the augmentation (flips always).
    seed : seeds initialisers, dropout, augmentation and batch order.
    verbose : print one line per epoch.

    Attributes
    ----------
    network_ : keras.Model from images (size, size, 3) to (n_genres,) probabilities.
    history_ : list of PosterEpoch, one per epoch run (both phases).
    best_epoch_ : int, the epoch (1-based) whose weights were kept.
    n_fed_ : int, training rows per epoch after upsampling.
    genres_, n_genres_, thresholds_, threshold_by_ : as every genre classifier.
    """

    def __init__(
        self,
        *,
        architecture: str = "scratch",
        image_size: int = 128,
        weights: str | None = None,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 32,
        epochs: int = 50,
        patience: int = 5,
        fine_tune_epochs: int = 10,
        fine_tune_factor: float = 0.1,
        class_weight: str | None = None,
        upsample: bool = False,
        dropout: float = 0.5,
        augment: float = 0.1,
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        self.architecture = architecture
        self.image_size = image_size
        self.weights = weights
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_factor = fine_tune_factor
        self.class_weight = class_weight
        self.upsample = upsample
        self.dropout = dropout
        self.augment = augment
        self.seed = seed
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        check_image_size(self.architecture, int(self.image_size))
        if self.architecture == "scratch" and self.weights not in (None, "none"):
            raise InvalidParameterError(
                "weights",
                f"weights={self.weights!r} do not fit the scratch network, which starts from "
                "random weights; pass weights for architecture vgg16, or none.",
            )
        if self.optimizer not in ("sgd", "adam"):
            raise InvalidParameterError(
                "optimizer", f"optimizer must be 'sgd' or 'adam', received {self.optimizer!r}."
            )
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
        for name in ("patience", "fine_tune_epochs"):
            if int(getattr(self, name)) < 0:
                raise InvalidParameterError(
                    name, f"{name} must be >= 0, received {getattr(self, name)}."
                )
        if not self.learning_rate > 0 or not 0 < self.fine_tune_factor <= 1:
            raise InvalidParameterError(
                "learning_rate",
                f"learning_rate must be > 0 and fine_tune_factor in (0, 1], received "
                f"{self.learning_rate} and {self.fine_tune_factor}.",
            )
        if not 0 <= self.dropout < 1 or not 0 <= self.augment < 1:
            raise InvalidParameterError(
                "dropout",
                f"dropout and augment must be in [0, 1), received {self.dropout}, {self.augment}.",
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("this PosterCNNClassifier is not fitted yet; call fit first.")

    def _check_images(self, X: PosterInput) -> None:
        shape = tuple(X.images.shape[1:])
        size = int(self.image_size)
        if shape != (size, size, 3):
            raise DataError(
                f"expected poster images of shape ({size}, {size}, 3), received {shape}; "
                "load them at the model's image size."
            )

    def json_params(self) -> dict[str, Any]:
        """The hyper-parameters as JSON values, ``verbose`` aside."""
        params = self.get_params()
        params.pop("verbose", None)
        return params

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: PosterInput,
        Y: ArrayLike,
        *,
        validation: tuple[PosterInput, ArrayLike],
        genres: Sequence[str] | None = None,
        threshold_by: Criterion = "f1",
        checkpoint_dir: str | os.PathLike[str] | None = None,
        on_epoch: Callable[[PosterEpoch], None] | None = None,
    ) -> PosterCNNClassifier:
        """Train on the posters ``X`` with labels ``Y``; stop early, lower the learning
        rate and choose the thresholds on ``validation``.

        Parameters
        ----------
        X : the training posters.
        Y : binary labels of shape (len(X), n_genres).
        validation : ``(X_val, Y_val)``.
        genres : the genre of each column of ``Y``.
        threshold_by : what the per-genre thresholds maximise on validation.
        checkpoint_dir : save the state after every epoch here and resume from it (see
            the module docstring); ``None``: no checkpoints.
        on_epoch : called after every epoch (also when ``verbose`` is off).

        Returns
        -------
        self

        Raises
        ------
        DataError
            Mismatched shapes, too few genres, a checkpoint of other settings, weights
            that do not fit the architecture.
        InvalidParameterError
            Bad hyper-parameters (an image size below the architecture's minimum...).
        """
        self._check_params()
        X_val, Y_val = validation
        y = np.asarray(Y, dtype=np.float32)
        y_val = np.asarray(Y_val, dtype=np.float32)
        if y.ndim != 2 or len(y) != len(X) or y_val.shape != (len(X_val), y.shape[1]):
            raise DataError(
                f"labels must be (n_posters, n_genres) matrices matching the posters; got "
                f"{y.shape} for {len(X)} training and {y_val.shape} for {len(X_val)} "
                "validation posters."
            )
        if len(y) == 0 or len(y_val) == 0:
            raise DataError("the training and the validation parts must both have posters.")
        self._check_images(X)
        self._check_images(X_val)
        check_training_labels(y)
        self.n_genres_ = int(y.shape[1])
        self.genres_ = genre_names(genres, self.n_genres_)
        fed = upsample_rows(y) if self.upsample else np.arange(len(y), dtype=np.int64)
        self.n_fed_ = len(fed)
        y_fed = y[fed]
        params = {
            "image_size": int(self.image_size),
            "dropout": float(self.dropout),
            "augment": float(self.augment),
            "seed": int(self.seed),
        }
        self.network_ = build_poster_network(
            self.architecture, self.n_genres_, weights=self.weights, **params
        )
        if self.class_weight == "balanced":
            pos, neg = balanced_class_weights(y_fed)
            self._loss = WeightedBinaryCrossentropy(pos.tolist(), neg.tolist())
        else:
            self._loss = WeightedBinaryCrossentropy()
        folder = None if checkpoint_dir is None else Path(checkpoint_dir).expanduser()
        run = {
            "params": self.json_params(),
            "backend": keras.backend.backend(),
            "n_train": len(y),
            "n_val": len(y_val),
            "labels_crc32": zlib.crc32(np.ascontiguousarray(y).tobytes() + y_val.tobytes()),
            "images_crc32": _images_crc(X, X_val),
        }
        state = self._restore(folder, run)
        train_rows, val_rows = X.rows[fed], X_val.rows
        phases = [("top", 0, float(self.learning_rate), int(self.epochs))]
        if self.architecture == "vgg16" and int(self.fine_tune_epochs) > 0:
            phases.append(
                (
                    "fine_tune",
                    1,
                    float(self.learning_rate) * float(self.fine_tune_factor),
                    int(self.fine_tune_epochs),
                )
            )
        for name, number, rate, epochs in phases:
            if name in state["done"]:
                continue
            if name == "fine_tune":
                unfreeze_last_block(self.network_)
            self._compile(rate)
            restored = None
            best_weights = None
            if state["phase"] == name and state["epoch"] > state["phase_start"]:
                restored = state
                self.network_.optimizer.build(self.network_.trainable_variables)
                if folder is not None and (folder / "best.weights.h5").is_file():
                    self.network_.load_weights(folder / "best.weights.h5")
                    best_weights = self.network_.get_weights()
                self.network_.load_weights(folder / "last.weights.h5")  # type: ignore[operator]
            else:
                state.update(phase=name, phase_start=state["epoch"])
            start = int(state["phase_start"])
            self._fit_phase(
                X.images, train_rows, y_fed, X_val.images, val_rows, y_val,
                number=number, start=start, epochs=epochs, state=state, folder=folder,
                on_epoch=on_epoch, restored=restored, best_weights=best_weights,
            )  # fmt: skip
            state["done"].append(name)
            if folder is not None:
                _save_weights(self.network_, folder / "last.weights.h5")
                write_json_atomic(folder / "state.json", state)
                output_step("checkpoint", folder / "state.json")
        self.history_ = [PosterEpoch(**h) for h in state["history"]]
        self.best_epoch_ = int(state.get("best_epoch", len(self.history_)))
        return self.fit_thresholds(X_val, y_val, by=threshold_by)

    def _compile(self, rate: float) -> None:
        if self.optimizer == "sgd":
            optimizer = keras.optimizers.SGD(rate, momentum=0.9, nesterov=True)
        else:
            optimizer = keras.optimizers.Adam(rate)
        self.network_.compile(
            optimizer=optimizer,
            loss=self._loss,
            metrics=[keras.metrics.F1Score(average="micro", threshold=0.5, name="micro_f1")],
        )

    def _restore(self, folder: Path | None, run: dict[str, Any]) -> dict[str, Any]:
        fresh = {"run": run, "phase": "top", "phase_start": 0, "epoch": 0, "done": [],
                 "history": []}  # fmt: skip
        if folder is None:
            return fresh
        file = folder / "state.json"
        if not file.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            return fresh
        try:
            state = json.loads(file.read_text(encoding="utf-8"))
            saved = state["run"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(
                f"the checkpoint {str(file)!r} is damaged ({type(error).__name__}); delete "
                f"{str(folder)!r} to start afresh.",
                parameter="checkpoint_dir",
            ) from None
        wanted = json.loads(json.dumps(run))
        if saved != wanted:
            differ = sorted(
                [
                    f"{k}"
                    for k in set(saved) | set(wanted)
                    if k != "params" and saved.get(k) != wanted.get(k)
                ]
                + [
                    k
                    for k in set(saved.get("params", {})) | set(wanted["params"])
                    if saved.get("params", {}).get(k) != wanted["params"].get(k)
                ]
            )
            raise DataError(
                f"the checkpoint folder {str(folder)!r} holds a training run with other "
                f"settings or data (different {', '.join(differ[:5]) or 'settings'}); rerun "
                f"with the same settings to resume it, or delete {str(folder)!r} to start "
                "afresh.",
                parameter="checkpoint_dir",
            )
        if (
            state.get("epoch", 0) > state.get("phase_start", 0)
            and not (folder / "last.weights.h5").is_file()
        ):
            return {**state, "epoch": state["phase_start"],
                    "history": state["history"][: state["phase_start"]]}  # fmt: skip
        return state

    def _fit_phase(
        self,
        images: NDArray[np.uint8],
        train_rows: NDArray[np.int64],
        y_fed: NDArray[np.float32],
        val_images: NDArray[np.uint8],
        val_rows: NDArray[np.int64],
        y_val: NDArray[np.float32],
        *,
        number: int,
        start: int,
        epochs: int,
        state: dict[str, Any],
        folder: Path | None,
        on_epoch: Callable[[PosterEpoch], None] | None,
        restored: dict[str, Any] | None,
        best_weights: list[Any] | None,
    ) -> None:
        done = int(state["epoch"])
        train = PosterBatches(
            images, train_rows, y_fed, int(self.batch_size), seed=int(self.seed),
            phase=number, epoch_offset=done - start,
        )  # fmt: skip
        val = PosterBatches(val_images, val_rows, y_val, int(self.batch_size), shuffle=False)
        early = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=int(self.patience), restore_best_weights=True
        )
        plateau = keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=max(1, int(self.patience) // 3),
            min_lr=1e-6,
        )  # fmt: skip
        callbacks: list[Any] = [early, plateau]
        best = None
        if folder is not None:
            best = _AtomicCheckpoint(
                str(folder / "best.weights.h5"), monitor="val_loss", save_best_only=True,
                save_weights_only=True,
            )  # fmt: skip
            callbacks += [
                best,
                keras.callbacks.CSVLogger(str(folder / "training_log.csv"), append=True),
            ]
        printer = on_epoch
        if self.verbose:

            def printer(record: PosterEpoch) -> None:
                print(
                    f"  epoch {record.epoch} ({record.phase}): loss {record.loss:.4f} "
                    f"micro_f1 {record.micro_f1:.4f}  val_loss {record.val_loss:.4f} "
                    f"val_micro_f1 {record.val_micro_f1:.4f}  learning rate "
                    f"{record.learning_rate:.2g}  {record.seconds:.1f}s",
                    flush=True,
                )
                if on_epoch is not None:
                    on_epoch(record)

        resume = _Resume(
            folder, state, early, plateau,
            best if best is not None else keras.callbacks.Callback(),
            printer, restored, best_weights,
        )  # fmt: skip
        callbacks.append(resume)
        if done < start + epochs:
            self.network_.fit(
                train,
                steps_per_epoch=len(train),
                initial_epoch=done,
                epochs=start + epochs,
                validation_data=val,
                callbacks=callbacks,
                shuffle=False,  # the batches come in their own seeded order
                verbose=0,
            )
        elif best_weights is not None:
            self.network_.set_weights(best_weights)
        if early.best_weights is not None or early.best is not None:
            state["best_epoch"] = int(early.best_epoch) + 1

    # ------------------------------------------------------------------ scoring
    def scores(self, X: PosterInput | ArrayLike, batch_size: int = 64) -> NDArray[np.float64]:
        """Genre probabilities of shape ``(n_posters, n_genres)``.

        ``X`` is a :class:`PosterInput` or an image array of shape (n, size, size, 3).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataError
            Images of another size than the model's.
        """
        self._check_fitted()
        inputs = X if isinstance(X, PosterInput) else PosterInput.of(X)
        self._check_images(inputs)
        if len(inputs) == 0:
            return np.zeros((0, self.n_genres_))
        batches = PosterBatches(inputs.images, inputs.rows, None, batch_size, shuffle=False)
        out = self.network_.predict(batches, verbose=0)
        return np.asarray(out, dtype=np.float64)

    def predict_proba(self, X: PosterInput | ArrayLike) -> NDArray[np.float64]:
        """Same as :meth:`scores`."""
        return self.scores(X)

    # ------------------------------------------------------------------ saving
    def save(
        self,
        path: str | os.PathLike[str],
        *,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        files: dict[str, Callable[[Path], Any]] | None = None,
    ) -> Path:
        """Write this fitted classifier to a model folder (:mod:`genre.model_dir`, kind
        ``"poster"``); ``files`` maps more file names to functions writing them.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        from genre.fusion.provenance import library_versions

        full_config = {
            **(config or {}),
            "architecture": self.architecture,
            "image_size": int(self.image_size),
            "params": self.json_params(),
            "versions": library_versions(),
        }
        import_tensorflow_quietly()  # Keras' serializer imports it on every backend

        def write(tmp: Path) -> None:
            self.network_.save(tmp / MODEL_FILES["poster"])
            for name, writer in (files or {}).items():
                writer(tmp / name)

        return write_model_folder(
            path,
            kind="poster",
            write_model_file=write,
            genres=self.genres_,
            thresholds=self.thresholds_,
            threshold_by=self.threshold_by_,
            score_kind="probability",
            config=full_config,
            metrics=metrics,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PosterCNNClassifier:
        """Read a classifier written by :meth:`save`.

        Raises
        ------
        ModelDirError
            Not a poster genre model folder, damaged files.
        """
        from recsys.errors import ModelDirError

        folder = read_model_folder(
            path,
            kind="poster",
            load_model_file=lambda f: keras.saving.load_model(f, compile=False),
        )
        config, network = folder.config, folder.model
        if int(network.output_shape[-1]) != len(folder.vocabulary):
            raise ModelDirError(
                f"{str(folder.path)!r}: genres.json and the network disagree on the genres; "
                "retrain the model."
            )
        try:
            model = cls(**dict(config.get("params") or {}))
        except TypeError as error:
            raise ModelDirError(
                f"{str(folder.path / 'config.json')!r} has unknown parameters ({error}); "
                "retrain the model."
            ) from None
        model.network_ = network
        model.n_genres_ = len(folder.vocabulary)
        model.genres_ = folder.vocabulary.genres
        model.thresholds_ = folder.thresholds
        model.threshold_by_ = folder.threshold_by or "f1"
        training = folder.metrics.get("training") or {}
        model.history_ = [PosterEpoch(**r) for r in training.get("history", [])]
        model.best_epoch_ = int(training.get("best_epoch", len(model.history_)))
        model.n_fed_ = int(training.get("n_fed", 0))
        return model


def _images_crc(*inputs: PosterInput) -> int:
    """A checksum of the rows and of a sample of pixels of each input (a cheap data id)."""
    crc = 0
    for X in inputs:
        crc = zlib.crc32(np.ascontiguousarray(X.rows).tobytes(), crc)
        step = max(1, len(X.rows) // 64)
        sample = np.asarray(X.images[np.sort(X.rows[::step])])
        crc = zlib.crc32(np.ascontiguousarray(sample).tobytes(), crc)
    return crc
