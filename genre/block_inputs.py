"""Feature blocks of the shared movie store, aligned on the movies of a labelled set.

A genre model reads named blocks of a :class:`recsys.features.FeatureStore` (see
``recsys features build``) for the movies of a labelled set (``genre dataset``), in the
set's movie order and split. Movies a block does not cover get a row of zeros and a
mask of False; the fused model uses the mask (see :mod:`genre.fusion`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError

__all__ = ["LABEL_BLOCKS", "BlockInputs", "load_block_inputs", "parse_block_names"]

#: Blocks that hold the genre labels themselves: never inputs of a genre model.
LABEL_BLOCKS = frozenset({"genres"})


@dataclass(frozen=True, eq=False)
class BlockInputs:
    """Values and masks of named blocks for a list of movies.

    Attributes
    ----------
    movie_ids : ndarray of int64, shape (n,)
    values : block name -> ndarray of float32, shape (n, dim)
    masks : block name -> ndarray of bool, shape (n,)
    provenance : block name -> the block's provenance in the store

    Examples
    --------
    >>> inputs = BlockInputs(np.array([1, 2]), {"a": np.ones((2, 3), "float32")},
    ...                      {"a": np.array([True, False])})
    >>> inputs.names, inputs.dims, inputs.take([1]).coverage()
    (['a'], {'a': 3}, {'a': 0})
    """

    movie_ids: NDArray[np.int64]
    values: dict[str, NDArray[np.float32]]
    masks: dict[str, NDArray[np.bool_]]
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Block names, in input order."""
        return list(self.values)

    @property
    def dims(self) -> dict[str, int]:
        """Dimension of each block."""
        return {n: int(v.shape[1]) for n, v in self.values.items()}

    def __len__(self) -> int:
        return len(self.movie_ids)

    def take(self, rows: ArrayLike | slice) -> BlockInputs:
        """The rows ``rows`` (indices, a boolean mask or a slice) of every block."""
        index = rows if isinstance(rows, slice) else np.asarray(rows)
        return BlockInputs(self.movie_ids[index],
                           {n: v[index] for n, v in self.values.items()},
                           {n: m[index] for n, m in self.masks.items()}, self.provenance)

    def select(self, names: Sequence[str]) -> BlockInputs:
        """Only the blocks ``names``, in that order."""
        missing = [n for n in names if n not in self.values]
        if missing:
            raise DataError(f"block {missing[0]!r} was not loaded; loaded: "
                            f"{', '.join(self.names)}.")
        return BlockInputs(self.movie_ids, {n: self.values[n] for n in names},
                           {n: self.masks[n] for n in names},
                           {n: self.provenance.get(n, {}) for n in names})

    def coverage(self) -> dict[str, int]:
        """Number of movies that have each block."""
        return {n: int(m.sum()) for n, m in self.masks.items()}


def parse_block_names(text: str | Sequence[str], available: Sequence[str]) -> list[str]:
    """Block names from ``"a,b"`` (or a list), checked against the store's blocks.

    Raises
    ------
    DataError
        Empty list, a block the store does not have, or a label block (``genres``).

    Examples
    --------
    >>> parse_block_names("poster, embedding", ["embedding", "poster"])
    ['poster', 'embedding']
    """
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)
             if n.strip()]
    names = list(dict.fromkeys(names))
    if not names:
        raise DataError("--blocks is empty; name at least one block of the feature store "
                        f"({', '.join(available) or 'none'}).")
    for name in names:
        if name in LABEL_BLOCKS:
            raise DataError(f"block {name!r} holds the genre labels themselves; it cannot be "
                            "an input of a genre model. Choose other blocks.")
        if name not in available:
            raise DataError(f"unknown block {name!r}: the feature store has "
                            f"{', '.join(available) or 'no blocks'}; add it with `recsys "
                            f"features build --blocks {name}`.")
    return names


def load_block_inputs(store: Any, names: Sequence[str], movie_ids: ArrayLike, *,
                      require_coverage: bool = True) -> BlockInputs:
    """Read blocks ``names`` of ``store`` aligned on ``movie_ids``.

    Parameters
    ----------
    store : a :class:`recsys.features.FeatureStore` or its path.
    names : block names (see :func:`parse_block_names`).
    movie_ids : shape (n,), e.g. every movie of the labelled set.
    require_coverage : fail when a block covers none of ``movie_ids`` (a sign that the
        store and the labelled set disagree on the ids).

    Raises
    ------
    DataError
        Not a feature store, an unknown or label block, or (``require_coverage``) a block
        that covers none of the movies.
    """
    from recsys.features import FeatureStore

    if isinstance(store, (str, os.PathLike)):
        store = FeatureStore(store)
    names = parse_block_names(list(names), store.names)
    ids = np.asarray(movie_ids, dtype=np.int64).ravel()
    values: dict[str, NDArray[np.float32]] = {}
    masks: dict[str, NDArray[np.bool_]] = {}
    provenance: dict[str, dict[str, Any]] = {}
    for name in names:
        block = store[name]
        v, m = block.aligned(ids)
        if require_coverage and not m.any():
            raise DataError(f"block {name!r} of {str(store.path)!r} covers none of the "
                            f"{len(ids)} movies of the labelled set; were they built from "
                            "the same MovieLens ids?")
        values[name], masks[name], provenance[name] = v, m, block.provenance
    return BlockInputs(ids, values, masks, provenance)
