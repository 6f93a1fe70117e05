"""What the training driver and every backend's loop share: the index arrays, their
packing into rows, the batch bounds of an epoch, the :class:`EpochLoop` protocol and the
per-epoch :class:`Checkpointer`.

:mod:`recsys.models.training` (the driver) and the loops of this package import it; it
imports neither of them, nor Keras.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from recsys.errors import DataError
from recsys.fileio import atomic_write, write_json_atomic
from recsys.jsonutil import jsonable

__all__ = [
    "PREDICT_BATCH",
    "Arrays",
    "Checkpointer",
    "EpochLoop",
    "NegativeSampler",
    "batch_edges",
    "packed_rows",
]

PREDICT_BATCH = 1 << 16

Arrays = tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]]


def packed_rows(arrays: Arrays) -> NDArray[np.int32]:
    """One ``(n, 3)`` int32 array: user, movie and the rating's float32 bits.

    A batch then gathers one 12-byte row per rating instead of reading three arrays at
    three random places: at 25M ratings those cache misses cost more than the packing.

    Examples
    --------
    >>> rows = packed_rows((np.array([1]), np.array([2]), np.array([4.5])))
    >>> rows[:, :2].tolist(), rows[:, 2].view(np.float32).tolist()
    ([[1, 2]], [4.5])
    """
    users, movies, ratings = arrays
    packed = np.empty((len(users), 3), dtype=np.int32)
    packed[:, 0] = users
    packed[:, 1] = movies
    packed[:, 2] = np.asarray(ratings, dtype=np.float32).view(np.int32)
    return packed


#: The training objectives: squared error on ratings, or Bayesian personalised ranking.
OBJECTIVES = ("rating", "bpr")


class NegativeSampler:
    """One negative movie per training rating and epoch, for the ``bpr`` objective.

    A negative is drawn uniformly from the movies its user did not rate in the training
    data (rejection sampling against ``seen_keys``, on the host with numpy, so every
    backend trains on the same negatives for the same seed and epoch).

    Parameters
    ----------
    users : int array of shape (n,), the user index of each training row.
    seen_keys : sorted int64 array of ``user * n_movies + movie`` for every training
        rating of the user (the early-stopping share included).
    n_movies : movie indices are drawn from ``0 .. n_movies - 1``.
    seed : with the epoch, seeds the draw.

    Examples
    --------
    >>> sampler = NegativeSampler(np.array([0, 0]), np.array([0, 1]), 3, seed=0)
    >>> sampler.draw(1).tolist()  # user 0 rated movies 0 and 1: only 2 is left
    [2, 2]
    """

    #: Redraw rounds before giving up on a user who rated (almost) every movie.
    MAX_ROUNDS = 64

    def __init__(
        self, users: NDArray[np.integer], seen_keys: NDArray[np.int64], n_movies: int, seed: int
    ) -> None:
        self.users = np.asarray(users, dtype=np.int64)
        self.seen_keys = np.asarray(seen_keys, dtype=np.int64)
        self.n_movies = int(n_movies)
        self.seed = int(seed)

    def _seen(self, users: NDArray[np.int64], movies: NDArray[np.int64]) -> NDArray[np.bool_]:
        keys = users * self.n_movies + movies
        if not len(self.seen_keys):
            return np.zeros(len(keys), dtype=bool)
        at = np.minimum(np.searchsorted(self.seen_keys, keys), len(self.seen_keys) - 1)
        return np.asarray(self.seen_keys[at] == keys)

    def draw(self, epoch: int) -> NDArray[np.int32]:
        """The negatives of ``epoch``: int32 array of shape (n,)."""
        rng = np.random.default_rng([self.seed, 104_729, int(epoch)])
        negatives = rng.integers(0, self.n_movies, size=len(self.users), dtype=np.int64)
        redo = np.flatnonzero(self._seen(self.users, negatives))
        for _ in range(self.MAX_ROUNDS):
            if not len(redo):
                break
            negatives[redo] = rng.integers(0, self.n_movies, size=len(redo), dtype=np.int64)
            redo = redo[self._seen(self.users[redo], negatives[redo])]
        return negatives.astype(np.int32)


class EpochLoop(Protocol):
    """What a backend's training loop does (one implementation per backend).

    Attributes
    ----------
    n : training ratings.
    steps : optimizer steps per epoch.
    """

    n: int
    steps: int

    def run_epoch(self, epoch: int) -> float:
        """Train one epoch (permutation drawn from the seed and ``epoch``); mean objective."""

    def validation_rmse(self) -> float | None:
        """RMSE on the validation arrays (predictions clipped), ``None`` without them."""

    def keep_best(self) -> None:
        """Remember the current weights as the best so far."""

    def restore_best(self) -> None:
        """Put the remembered weights back."""

    def finish(self) -> None:
        """Leave the trained weights in the Keras network's variables."""

    def sync_network(self) -> None:
        """Copy the current weights into the Keras network's variables (for a
        validation that reads them between epochs)."""

    def state_arrays(self) -> list[NDArray[Any]]:
        """Every array a checkpoint holds: weights, optimizer state, best weights."""

    def load_state_arrays(self, arrays: list[NDArray[Any]]) -> None:
        """Restore what :meth:`state_arrays` returned."""


def batch_edges(n: int, batch_size: int, replicas: int = 1) -> NDArray[np.int64]:
    """Bounds of the batches of an epoch: batch ``i`` is ``order[edges[i]:edges[i + 1]]``.

    Full batches, then the remainder (merged into the last full batch when too small to
    give every replica a row).

    Examples
    --------
    >>> batch_edges(10, 4).tolist(), batch_edges(9, 4, replicas=2).tolist()
    ([0, 4, 8, 10], [0, 4, 9])
    """
    edges = np.append(np.arange(0, n, batch_size, dtype=np.int64), n)
    if len(edges) > 2 and edges[-1] - edges[-2] < replicas:
        edges = np.delete(edges, -2)
    return edges


class Checkpointer:
    """Per-epoch checkpoints of one process: the loop's arrays and the driver's state.

    ``state.json`` (written atomically, after the arrays) names the last complete epoch;
    the arrays of epoch ``k`` are ``epoch-k.npz``, also written atomically, so a kill at
    any instant leaves the previous complete checkpoint usable. The TensorFlow loop
    overrides the array part with ``tf.train.Checkpoint`` (see its module).
    """

    def __init__(self, directory: Path, loop: EpochLoop, run: dict[str, Any]) -> None:
        self.directory = directory
        self.loop = loop
        self.run = run
        self.state_file = directory / "state.json"
        #: the advice of every error about the directory (``parameter="checkpoint_dir"``)
        self.fix = "delete it or choose another checkpoint directory"

    def restore(self) -> dict[str, Any] | None:
        """The saved state (and the loop's arrays restored), or ``None`` to start afresh."""
        if not self.state_file.is_file():
            return None
        try:
            state = json.loads(self.state_file.read_text())
            epoch = int(state["epoch"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(
                f"{str(self.state_file)!r} is damaged ({type(error).__name__}); "
                f"{self.fix} to start afresh.",
                parameter="checkpoint_dir",
            ) from None
        saved, wanted = state.get("run"), jsonable(self.run)
        if saved != wanted:
            differ = _differences(saved, wanted)
            raise DataError(
                f"the checkpoint directory {str(self.directory)!r} holds another training "
                f"run (different {', '.join(differ[:4]) or 'settings'}); {self.fix}, or run "
                "the same training run as before to resume it.",
                parameter="checkpoint_dir",
            )
        if not self.restore_arrays(epoch):
            return None
        return state

    def save(self, epoch: int, state: dict[str, Any]) -> None:
        """Save the loop's arrays for ``epoch``, then the driver's state."""
        self.save_arrays(epoch)
        write_json_atomic(self.state_file, {"run": jsonable(self.run), "epoch": epoch, **state})

    def save_arrays(self, epoch: int) -> None:
        arrays = self.loop.state_arrays()
        with atomic_write(
            self.directory / f"epoch-{epoch}.npz", mode="wb", encoding=None
        ) as handle:
            np.savez(handle, *arrays)
        for old in self.directory.glob("epoch-*.npz"):
            if old.name not in (f"epoch-{epoch}.npz", f"epoch-{epoch - 1}.npz"):
                old.unlink(missing_ok=True)

    def restore_arrays(self, epoch: int) -> bool:
        path = self.directory / f"epoch-{epoch}.npz"
        if not path.is_file():
            return False
        try:
            with np.load(path, allow_pickle=False) as saved:
                arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
            self.loop.load_state_arrays(arrays)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
            raise DataError(
                f"the checkpoint {str(path)!r} is damaged ({detail}); {self.fix} to start afresh.",
                parameter="checkpoint_dir",
            ) from None
        return True


def _differences(saved: Any, wanted: Any, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two run descriptions."""
    if isinstance(saved, dict) and isinstance(wanted, dict):
        names: list[str] = []
        for key in sorted(set(saved) | set(wanted), key=str):
            names += _differences(saved.get(key), wanted.get(key), f"{prefix}{key}.")
        return names
    return [] if saved == wanted else [prefix.rstrip(".") or "run"]
