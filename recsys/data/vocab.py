"""Id vocabularies: raw user or movie ids <-> contiguous indices for embedding tables."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import UnknownIdError

__all__ = ["Vocabulary"]


class Vocabulary:
    """A sorted set of raw ids, each mapped to its position ``0 .. len-1``.

    Built from the training part only: ids first seen in test data are unknown and
    handled by the ``missing`` policy of :meth:`index`.

    Parameters
    ----------
    ids : array-like of int, the raw ids (duplicates are fine).
    entity : what the ids are (``"user"``, ``"movie"``), for messages.

    Examples
    --------
    >>> vocab = Vocabulary([30, 10, 20, 10], entity="movie")
    >>> vocab.index([20, 30]).tolist(), vocab.index([99], missing="negative").tolist()
    ([1, 2], [-1])
    """

    def __init__(self, ids: ArrayLike, *, entity: str = "id") -> None:
        self.ids: NDArray[np.int64] = np.unique(np.asarray(ids, dtype=np.int64))
        self.entity = entity

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw_id: object) -> bool:
        try:
            return bool(self.index(np.asarray([raw_id]), missing="negative")[0] >= 0)
        except (TypeError, ValueError):
            return False

    def index(
        self, raw_ids: ArrayLike, *, missing: Literal["error", "negative"] = "error"
    ) -> NDArray[np.int32]:
        """Indices of ``raw_ids``.

        Parameters
        ----------
        missing : ``"error"`` raises :class:`UnknownIdError` on the first unknown id;
            ``"negative"`` returns ``-1`` for it.

        Returns
        -------
        ndarray of int32, shape ``(n,)``.
        """
        raw = np.asarray(raw_ids, dtype=np.int64).ravel()
        pos = np.searchsorted(self.ids, raw)
        pos_clipped = np.minimum(pos, max(len(self.ids) - 1, 0))
        known = (
            (pos < len(self.ids)) & (self.ids[pos_clipped] == raw)
            if len(self.ids)
            else (np.zeros(len(raw), dtype=bool))
        )
        if missing == "error" and not known.all():
            first = int(raw[~known][0])
            raise UnknownIdError(
                f"unknown {self.entity} id {first}: it is not in the training data "
                f"({int((~known).sum())} unknown of {len(raw)})."
            )
        return np.where(known, pos_clipped, -1).astype(np.int32)

    def to_ids(self, indices: ArrayLike) -> NDArray[np.int64]:
        """Raw ids of ``indices``."""
        return self.ids[np.asarray(indices, dtype=np.int64)]

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} {self.entity} ids)"
