"""Which blocks of a feature store a rating model may take as movie side features.

A block learned from ratings (``embedding``, ``pca``, or any block whose provenance
says so) comes from a rating model fitted on some split, which may hold the test
ratings of the split the new model is evaluated on. Such blocks are left out of the
default choice and refused when named.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from recsys.errors import DataError, InvalidParameterError

if TYPE_CHECKING:
    from recsys.features.store import FeatureBlock, FeatureStore

__all__ = ["SideFeatureChoice", "choose_side_features", "default_side_blocks"]


@dataclass(frozen=True)
class SideFeatureChoice:
    """The side-feature blocks chosen from a store.

    Attributes
    ----------
    store : the feature store's path, as given.
    blocks : the chosen blocks, in the order named (the store's order by default).
    left_out : names of the store's blocks not chosen.
    by_default : whether the blocks are the default choice (no names were given), so
        ``left_out`` are the blocks learned from ratings.
    """

    store: str
    blocks: list[FeatureBlock]
    left_out: list[str] = field(default_factory=list)
    by_default: bool = True


def default_side_blocks(store: FeatureStore) -> list[str]:
    """Names of the blocks of ``store`` usable as side features: every block not
    learned from ratings, in the store's order.

    Raises
    ------
    DataError
        If no block is usable (``parameter="blocks"``: naming blocks is the way out).
    """
    from recsys.features.lineage import learned_from_ratings

    infos = store.describe().get("blocks", {})
    names = [
        name
        for name in store.names
        if learned_from_ratings(name, infos.get(name, {}).get("provenance")) is None
    ]
    if not names:
        raise DataError(
            f"feature store {str(store.path)!r} has no block usable as side features "
            f"(it has {', '.join(store.names) or 'none'}, all learned from ratings); "
            "build a content block such as genres into it, or name the blocks to use.",
            parameter="blocks",
        )
    return names


def choose_side_features(
    store: str | os.PathLike[str], blocks: Sequence[str] | None = None
) -> SideFeatureChoice:
    """Read the side-feature blocks of a rating model from a feature store.

    Parameters
    ----------
    store : a feature store directory (see :class:`recsys.features.store.FeatureStore`).
    blocks : the block names to use; ``None`` takes :func:`default_side_blocks`.

    Returns
    -------
    SideFeatureChoice

    Raises
    ------
    DataError
        If ``blocks`` is empty, names a block the store lacks or a block learned from
        ratings, or the store has no usable block.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from recsys.features.store import FeatureBlock, FeatureStore
    >>> folder = tempfile.mkdtemp()
    >>> block = FeatureBlock.from_arrays("traits", [1, 2], np.eye(2, dtype="float32"))
    >>> _ = FeatureStore.write(folder, [block])
    >>> choice = choose_side_features(folder)
    >>> [b.name for b in choice.blocks], choice.left_out
    (['traits'], [])
    """
    from recsys.features.lineage import check_side_feature_block
    from recsys.features.store import FeatureStore

    opened = FeatureStore(store)
    if blocks is None:
        names = default_side_blocks(opened)
    else:
        names = list(blocks)
        if not names:
            raise InvalidParameterError(
                "blocks", "blocks is empty: name at least one block, e.g. genres,overview_w2v."
            )
        infos = opened.describe().get("blocks", {})
        for name in names:
            if name in infos:  # unknown names fail below, in FeatureStore.blocks
                check_side_feature_block(name, infos[name].get("provenance"))
    return SideFeatureChoice(
        store=str(store),
        blocks=opened.blocks(names),
        left_out=[n for n in opened.names if n not in names],
        by_default=blocks is None,
    )
