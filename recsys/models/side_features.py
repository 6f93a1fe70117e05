"""Movie side features of a rating model: feature blocks, standardised, as one table.

A rating model with side features (cold start) looks up, for every movie of its
vocabulary, a fixed row made of the chosen feature blocks of a
:class:`~recsys.features.FeatureStore` (``genres``, ``overview_w2v``, ``poster`` ...).
Blocks learned from ratings (``embedding``, ``pca``) are refused: they may have seen
the test ratings (see :meth:`SideFeatures.check_sources`).
Each block contributes its values standardised with the mean and standard deviation
of the *training* movies that have the block, followed by one presence column (1 when
the movie has the block, else 0; absent values are 0, the training mean)::

    [ (genres - mean) / std, has_genres, (overview - mean) / std, has_overview, ... ]

:class:`SideFeatures` is the learned part (block layout, provenance, statistics). It is
fitted on the training movies and saved with the model, so the same standardisation
can be applied to the blocks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError, InvalidParameterError
from recsys.features.lineage import check_side_feature_block
from recsys.features.store import FeatureBlock

__all__ = ["SideFeatures"]


@dataclass(frozen=True, eq=False)
class SideFeatures:
    """The layout and standardisation of a rating model's movie side features.

    Attributes
    ----------
    names : block names, in table order.
    dims : feature dimension of each block (the table has ``dim + 1`` columns per
        block: the values and the presence flag).
    means, scales : ndarray of float32, shape (sum(dims),), the per-column mean and
        standard deviation (1 where constant) over the training movies with the block.
    provenance : per block, what made it (copied from the feature store).
    columns : per block, the names of its dimensions.
    n_train_present : per block, how many training movies had it.

    Examples
    --------
    >>> genres = FeatureBlock.from_arrays("genres", [1, 2, 3], [[1.0], [0.0], [1.0]])
    >>> side = SideFeatures.from_blocks([genres], train_movie_ids=[1, 2])
    >>> side.transform([genres], [1, 2, 3, 4]).tolist()
    [[1.0, 1.0], [-1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
    """

    names: tuple[str, ...]
    dims: tuple[int, ...]
    means: NDArray[np.float32]
    scales: NDArray[np.float32]
    provenance: tuple[dict[str, Any], ...] = ()
    columns: tuple[tuple[str, ...], ...] = ()
    n_train_present: tuple[int, ...] = field(default=())

    # ------------------------------------------------------------------ fitting
    @classmethod
    def from_blocks(
        cls, blocks: Sequence[FeatureBlock], train_movie_ids: ArrayLike
    ) -> SideFeatures:
        """The layout of ``blocks`` and their standardisation, learned from the training
        movies.

        Parameters
        ----------
        blocks : one or more feature blocks with distinct names.
        train_movie_ids : ids of the movies with training ratings (statistics use only
            these movies, and only those that have the block).

        Raises
        ------
        DataError
            No block, duplicate names, a block learned from ratings (see
            :meth:`check_sources`), or a block that covers none of the training movies
            (a store built for other movie ids).
        """
        blocks = list(blocks)
        if not blocks:
            raise InvalidParameterError(
                "blocks", "no side-feature block given; pass at least one feature block."
            )
        names = [b.name for b in blocks]
        if len(set(names)) != len(names):
            raise DataError(f"side-feature blocks {names} name a block twice; list each once.")
        cls.check_sources(blocks)
        train = np.unique(np.asarray(train_movie_ids, dtype=np.int64))
        means, scales, present_counts = [], [], []
        for block in blocks:
            values, mask = block.aligned(train)
            if not mask.any():
                raise DataError(
                    f"feature block {block.name!r} covers none of the {len(train):,} training "
                    "movies; was the store built for this dataset's movie ids?"
                )
            rows = values[mask].astype(np.float64)
            mean = rows.mean(axis=0)
            std = rows.std(axis=0)
            means.append(mean)
            scales.append(np.where(std > 1e-6, std, 1.0))
            present_counts.append(int(mask.sum()))
        return cls(
            names=tuple(names),
            dims=tuple(b.dim for b in blocks),
            means=np.concatenate(means).astype(np.float32),
            scales=np.concatenate(scales).astype(np.float32),
            provenance=tuple(dict(b.provenance) for b in blocks),
            columns=tuple(tuple(b.columns) for b in blocks),
            n_train_present=tuple(present_counts),
        )

    @staticmethod
    def check_sources(blocks: Sequence[FeatureBlock]) -> None:
        """Refuse blocks learned from ratings (``embedding``, ``pca``, or any block whose
        provenance, followed back through its own side features, says so).

        Such a block comes from a rating model fitted on some split, which can hold the
        test ratings of the split this model is evaluated on; with it, a cold-start
        result would not be honest. Content blocks (``genres``, ``overview_w2v``,
        ``poster`` ...) pass.

        Raises
        ------
        DataError
            Naming the first block learned from ratings.
        """
        for block in blocks:
            check_side_feature_block(block.name, block.provenance)

    # ------------------------------------------------------------------ applying
    @property
    def dim(self) -> int:
        """Width of the side-feature table: ``sum(dims) + len(names)``."""
        return int(sum(self.dims) + len(self.dims))

    def check_blocks(self, blocks: Sequence[FeatureBlock]) -> None:
        """Raise :class:`DataError` unless ``blocks`` match the fitted layout."""
        got = [(b.name, b.dim) for b in blocks]
        want = list(zip(self.names, self.dims, strict=True))
        if got != want:
            raise DataError(
                f"side-feature blocks {got} do not match the ones the model was "
                f"fitted with {want}; pass the same blocks in the same order."
            )

    def transform(
        self, blocks: Sequence[FeatureBlock], movie_ids: ArrayLike
    ) -> NDArray[np.float32]:
        """The side-feature table of ``movie_ids``.

        Returns
        -------
        ndarray of float32, shape (len(movie_ids), dim): per block the standardised
        values (0 where the movie lacks the block) and the presence flag.
        """
        self.check_blocks(blocks)
        ids = np.asarray(movie_ids, dtype=np.int64).ravel()
        parts = []
        start = 0
        for block, dim in zip(blocks, self.dims, strict=True):
            values, mask = block.aligned(ids)
            mean = self.means[start : start + dim]
            scale = self.scales[start : start + dim]
            z = np.where(mask[:, None], (values - mean) / scale, 0.0)
            parts += [z.astype(np.float32), mask[:, None].astype(np.float32)]
            start += dim
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(ids), 0), np.float32)

    @staticmethod
    def covered(blocks: Sequence[FeatureBlock]) -> NDArray[np.int64]:
        """Sorted ids of the movies that have at least one of ``blocks``."""
        ids = [b.movie_ids[b.mask] for b in blocks]
        return np.unique(np.concatenate(ids)) if ids else np.zeros(0, dtype=np.int64)

    # --------------------------------------------------------------- persistence
    def to_json(self) -> dict[str, Any]:
        """The JSON-able part (everything but ``means`` and ``scales``)."""
        return {
            "blocks": [
                {"name": n, "dim": d, "columns": list(c), "provenance": p, "n_train_present": k}
                for n, d, c, p, k in zip(
                    self.names,
                    self.dims,
                    self.columns,
                    self.provenance,
                    self.n_train_present,
                    strict=True,
                )
            ],
        }

    @classmethod
    def from_json(cls, meta: dict[str, Any], means: ArrayLike, scales: ArrayLike) -> SideFeatures:
        """Rebuild from :meth:`to_json` output and the two statistic arrays.

        Raises
        ------
        DataError
            When the arrays do not match the block dimensions.
        """
        blocks = meta["blocks"]
        side = cls(
            names=tuple(str(b["name"]) for b in blocks),
            dims=tuple(int(b["dim"]) for b in blocks),
            means=np.asarray(means, dtype=np.float32),
            scales=np.asarray(scales, dtype=np.float32),
            provenance=tuple(dict(b.get("provenance", {})) for b in blocks),
            columns=tuple(tuple(str(c) for c in b.get("columns", ())) for b in blocks),
            n_train_present=tuple(int(b.get("n_train_present", 0)) for b in blocks),
        )
        if side.means.shape != (sum(side.dims),) or side.scales.shape != side.means.shape:
            raise DataError("side-feature statistics do not match the block dimensions.")
        return side
