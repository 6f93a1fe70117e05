"""Infrastructure options of a training run: backend, devices, checkpoints, precision.

They change where and how a network trains, never what it learns (the hyper-parameters
of :class:`~recsys.models.rating_model.RatingModel` do that), so they travel in one
object instead of a growing list of ``fit`` arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from recsys.errors import DataError

__all__ = ["DISTRIBUTE", "UPDATES", "TrainingOptions"]

#: The values of ``distribute``: one device, or data parallel over all local devices.
DISTRIBUTE = ("mirrored", "multiworker")
#: The values of ``updates``: row-wise Adam on embedding tables, or Keras' dense Adam.
UPDATES = ("lazy", "dense")


@dataclass(frozen=True)
class TrainingOptions:
    """Where and how to train (not what).

    Attributes
    ----------
    distribute : ``None`` (one device), ``"mirrored"`` (data parallel over every local
        device: ``tf.distribute.MirroredStrategy`` on TensorFlow, a JAX mesh over
        ``jax.local_devices()`` on JAX) or ``"multiworker"`` (several machines,
        TensorFlow only, see :mod:`recsys.models.distribute`).
    strategy : a ``tf.distribute`` strategy already made for ``distribute`` (the
        multi-worker one must exist before any other TensorFlow work); ``None`` makes
        one when needed.
    checkpoint_dir : save a checkpoint every epoch here and resume from the last one.
    precision : a Keras dtype policy: ``"float32"``, ``"mixed_float16"`` or
        ``"mixed_bfloat16"`` (see :mod:`recsys.models.precision`).
    updates : ``"lazy"`` (row-wise Adam on embedding tables, see
        :class:`~recsys.models.optimizers.LazyAdam`) or ``"dense"`` (Keras' Adam).

    Examples
    --------
    >>> TrainingOptions(precision="mixed_bfloat16").precision
    'mixed_bfloat16'
    """

    distribute: str | None = None
    strategy: Any = None
    checkpoint_dir: str | os.PathLike[str] | None = None
    precision: str = "float32"
    updates: str = "lazy"

    def __post_init__(self) -> None:
        if self.distribute is not None and self.distribute not in DISTRIBUTE:
            raise DataError(
                f"unknown distribute={self.distribute!r}; use one of "
                f"{', '.join(DISTRIBUTE)} or None."
            )
        if self.precision not in ("float32", "mixed_float16", "mixed_bfloat16"):
            raise DataError(
                f"unknown precision={self.precision!r}; use float32, "
                "mixed_float16 or mixed_bfloat16."
            )
        if self.updates not in UPDATES:
            raise DataError(f"unknown updates={self.updates!r}; use one of {', '.join(UPDATES)}.")

    def check_backend(self, backend: str) -> None:
        """Refuse options the Keras ``backend`` cannot honour.

        Raises
        ------
        DataError
            ``multiworker`` off TensorFlow, or any ``distribute`` on PyTorch.
        """
        if self.distribute == "multiworker" and backend != "tensorflow":
            raise DataError(
                f"distribute='multiworker' needs the tensorflow backend (it uses "
                f"tf.distribute and TF_CONFIG), not {backend}; use 'mirrored' "
                "for all local devices."
            )
        if self.distribute is not None and backend == "torch":
            raise DataError(
                "distribute needs the tensorflow or jax backend; the torch "
                "backend trains on one device."
            )
