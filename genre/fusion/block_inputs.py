"""Feature blocks of the shared movie store, aligned on the movies of a labelled set.

A genre model reads named blocks of a :class:`recsys.features.FeatureStore` (see
``recsys features build``) for the movies of a labelled set (``genre dataset``), in the
set's movie order and split. Movies a block does not cover get a row of zeros and a
mask of False; the fused model uses the mask (see :mod:`genre.fusion.model`).

A block that holds the genre labels (``genres``), or was made from them, is never an
input: the ``embedding`` and ``pca`` blocks of a rating model fitted with ``genres`` as
side features contain the projected labels. The check follows each block's provenance
back through side features (:mod:`recsys.features.lineage`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError, InvalidParameterError
from recsys.features.lineage import made_from_genre_labels

__all__ = [
    "LABEL_BLOCKS",
    "BlockInputs",
    "choose_blocks",
    "label_lineage",
    "load_block_inputs",
    "parse_block_names",
]

#: Blocks that hold the genre labels themselves: never inputs of a genre model.
LABEL_BLOCKS = frozenset({"genres"})


def label_lineage(name: str, provenance: Mapping[str, Any] | None = None) -> tuple[str, ...] | None:
    """How block ``name`` comes from the genre labels, or ``None`` when it does not.

    Returns
    -------
    ``(name,)`` for a label block (in :data:`LABEL_BLOCKS`, or its provenance says
    ``genre_labels``); the chain down to the label block for a block made from one
    (``("embedding", "genres")``: a rating model fitted with genres as side features).

    Examples
    --------
    >>> side = {"side_features": [{"name": "genres", "provenance": {}}]}
    >>> label_lineage("genres"), label_lineage("pca", side), label_lineage("poster", {})
    (('genres',), ('pca', 'genres'), None)
    """
    if name in LABEL_BLOCKS:
        return (name,)
    return made_from_genre_labels(name, provenance)


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
        return BlockInputs(
            self.movie_ids[index],
            {n: v[index] for n, v in self.values.items()},
            {n: m[index] for n, m in self.masks.items()},
            self.provenance,
        )

    def select(self, names: Sequence[str]) -> BlockInputs:
        """Only the blocks ``names``, in that order."""
        missing = [n for n in names if n not in self.values]
        if missing:
            raise DataError(
                f"block {missing[0]!r} was not loaded; loaded: {', '.join(self.names)}."
            )
        return BlockInputs(
            self.movie_ids,
            {n: self.values[n] for n in names},
            {n: self.masks[n] for n in names},
            {n: self.provenance.get(n, {}) for n in names},
        )

    def coverage(self) -> dict[str, int]:
        """Number of movies that have each block."""
        return {n: int(m.sum()) for n, m in self.masks.items()}


def parse_block_names(
    blocks: str | Sequence[str],
    available: Sequence[str],
    *,
    provenance: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> list[str]:
    """Block names from ``"a,b"`` (or a list), checked against the store's blocks.

    Parameters
    ----------
    blocks : ``"a,b"`` or a list of names.
    available : the store's block names.
    provenance : block name -> its provenance in the store; with it, blocks made from
        the genre labels are refused too (see :func:`label_lineage`).

    Raises
    ------
    DataError
        Empty list, a block the store does not have, a label block (``genres``), or a
        block made from the labels.

    Examples
    --------
    >>> parse_block_names("poster, embedding", ["embedding", "poster"])
    ['poster', 'embedding']
    """
    parts = blocks.split(",") if isinstance(blocks, str) else blocks
    names = [n.strip() for n in parts if n.strip()]
    names = list(dict.fromkeys(names))
    if not names:
        raise InvalidParameterError(
            "blocks",
            "blocks is empty; name at least one block of the feature store "
            f"({', '.join(available) or 'none'}).",
        )
    for name in names:
        chain = label_lineage(name, (provenance or {}).get(name))
        if chain is not None and len(chain) == 1:
            raise InvalidParameterError(
                "blocks",
                f"block {name!r} holds the genre labels themselves; it cannot be "
                "an input of a genre model. Choose other blocks.",
            )
        if chain is not None:
            raise InvalidParameterError(
                "blocks",
                f"block {name!r} was made from the genre labels "
                f"({' <- '.join(chain)}, through the side features of a rating "
                "model), so it would leak them into a genre model; rebuild it "
                "from a rating model trained without genre side features, or "
                "choose other blocks.",
            )
        if name not in available:
            raise InvalidParameterError(
                "blocks",
                f"unknown block {name!r}: the feature store has "
                f"{', '.join(available) or 'no blocks'}; {_how_to_add(name)}.",
            )
    return names


def choose_blocks(store: Any, blocks: str | None) -> list[str]:
    """The input blocks a genre model takes from ``store``: those ``blocks`` names
    (checked by :func:`parse_block_names`), or by default every block not made from the
    genre labels.

    Raises
    ------
    DataError
        From :func:`parse_block_names`, or when the store has no usable block.
    """
    saved = {n: info.get("provenance") for n, info in store.describe().get("blocks", {}).items()}
    if blocks is not None:
        return parse_block_names(blocks, store.names, provenance=saved)
    chains = {n: label_lineage(n, saved.get(n)) for n in store.names}
    names = [n for n, chain in chains.items() if chain is None]
    if not names:
        derived = [n for n, chain in chains.items() if chain is not None and len(chain) > 1]
        if derived:  # raises, showing how the first of them comes from the labels
            parse_block_names(derived, store.names, provenance=saved)
        raise DataError(
            f"the feature store {str(store.path)!r} has no input block, only the "
            f"genre labels ({', '.join(store.names) or 'nothing'}); add input blocks "
            "to it (see recsys.features.blocks)."
        )
    return names


def _how_to_add(name: str) -> str:
    """How to get block ``name``: the feature-store builder only makes its known blocks."""
    from genre.fusion.split_blocks import SPLIT_BLOCKS
    from recsys.features.blocks import BLOCK_NAMES

    if name in BLOCK_NAMES:
        return f"add block {name!r} to the feature store"
    if name in SPLIT_BLOCKS:
        return (
            f"block {name!r} is fitted on a labelled set's training movies: add it "
            "with genre.fusion.split_blocks"
        )
    return (
        f"the feature-store builder cannot make a {name!r} block (it makes "
        f"{', '.join(BLOCK_NAMES)}); choose blocks the store has"
    )


def load_block_inputs(
    store: Any, names: Sequence[str], movie_ids: ArrayLike, *, require_coverage: bool = True
) -> BlockInputs:
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
        Not a feature store, an unknown block, a label block or a block made from the
        labels (by its provenance), or (``require_coverage``) a block that covers none
        of the movies.
    """
    from recsys.features import FeatureStore

    if isinstance(store, (str, os.PathLike)):
        store = FeatureStore(store)
    saved = {n: info.get("provenance") for n, info in store.describe().get("blocks", {}).items()}
    names = parse_block_names(list(names), store.names, provenance=saved)
    ids = np.asarray(movie_ids, dtype=np.int64).ravel()
    values: dict[str, NDArray[np.float32]] = {}
    masks: dict[str, NDArray[np.bool_]] = {}
    provenance: dict[str, dict[str, Any]] = {}
    for name in names:
        block = store[name]
        v, m = block.aligned(ids)
        if require_coverage and not m.any():
            raise DataError(
                f"block {name!r} of {str(store.path)!r} covers none of the "
                f"{len(ids)} movies of the labelled set; were they built from "
                "the same MovieLens ids?"
            )
        values[name], masks[name], provenance[name] = v, m, block.provenance
    return BlockInputs(ids, values, masks, provenance)
