"""What a training run did: one :class:`EpochLog` per epoch and the :class:`TrainingResult`.

Plain data (no Keras): a model loaded to answer queries reads its history without the
training stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EpochLog", "TrainingResult"]


@dataclass(frozen=True)
class EpochLog:
    """What one epoch did: mean training loss (MSE, or the BPR loss, plus penalties),
    validation RMSE (rating objective) or validation NDCG@k (ranking objective)."""

    epoch: int
    loss: float
    val_rmse: float | None
    seconds: float
    ratings_per_second: float
    val_ndcg: float | None = None


@dataclass
class TrainingResult:
    """The history of a training run and the epoch whose weights were kept."""

    history: list[EpochLog] = field(default_factory=list)
    best_epoch: int = 0
    train_seconds: float = 0.0
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        """Number of epochs trained."""
        return len(self.history)
