"""Where a feature block came from: its provenance, followed back through side features.

A block's ``provenance`` (see :mod:`recsys.features.store`) may name the blocks it was
made from: the ``embedding`` and ``pca`` blocks of a rating model fitted with side
features record them under ``"side_features"`` (a list of ``{"name", "dim",
"provenance"}``), so the embeddings of a model that saw the genre labels say so. Two
questions matter for honest evaluation:

* was the block (or anything it was made from) **learned from ratings**? Such a block
  can have seen the test ratings of a later split, so a rating model must not take it
  as a side feature (:func:`check_side_feature_block`);
* was it made from the **genre labels**? A genre model must not take it as input
  (``genre.block_inputs``).

Examples
--------
>>> genres = {"content": "MovieLens genre labels", "genre_labels": True}
>>> emb = {"model": "RatingModel", "learned_from_ratings": True,
...        "side_features": [{"name": "genres", "dim": 3, "provenance": genres}]}
>>> [chain for chain, _ in lineage("embedding", emb)]
[('embedding',), ('embedding', 'genres')]
>>> made_from_genre_labels("embedding", emb), learned_from_ratings("genres", genres)
(('embedding', 'genres'), None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from recsys.errors import DataError

__all__ = [
    "RATING_BLOCK_NAMES",
    "check_side_feature_block",
    "is_genre_labels",
    "is_learned_from_ratings",
    "learned_from_ratings",
    "lineage",
    "made_from_genre_labels",
]

#: Well-known blocks learned from ratings (made from a rating model).
RATING_BLOCK_NAMES = frozenset({"embedding", "pca"})
#: The well-known block of 0/1 MovieLens genre labels.
GENRE_LABEL_BLOCK = "genres"


def lineage(
    name: str, provenance: Mapping[str, Any] | None
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The block and every block it was made from, depth first, itself first.

    Returns
    -------
    list of ``(chain, provenance)``: ``chain`` is the names from this block down to the
    ancestor (``("embedding", "genres")``), ``provenance`` the ancestor's.
    """
    found: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def walk(chain: tuple[str, ...], info: Mapping[str, Any] | None) -> None:
        info = dict(info or {})
        found.append((chain, info))
        parents = info.get("side_features")
        if len(chain) > 20 or not isinstance(parents, list):  # malformed or absurdly deep
            return
        for parent in parents:
            if isinstance(parent, Mapping):
                walk((*chain, str(parent.get("name", "?"))), parent.get("provenance"))

    walk((str(name),), provenance)
    return found


def is_learned_from_ratings(name: str, provenance: Mapping[str, Any] | None) -> bool:
    """Whether this block itself was learned from ratings (not looking at its parents)."""
    info = provenance or {}
    return (
        name in RATING_BLOCK_NAMES
        or bool(info.get("learned_from_ratings"))
        or info.get("model") == "RatingModel"
    )


def is_genre_labels(name: str, provenance: Mapping[str, Any] | None) -> bool:
    """Whether this block itself holds genre labels (not looking at its parents)."""
    return name == GENRE_LABEL_BLOCK or bool((provenance or {}).get("genre_labels"))


def _first(
    name: str, provenance: Mapping[str, Any] | None, test: Callable[[str, Mapping[str, Any]], bool]
) -> tuple[str, ...] | None:
    for chain, info in lineage(name, provenance):
        if test(chain[-1], info):
            return chain
    return None


def learned_from_ratings(name: str, provenance: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The chain to the first block of the lineage learned from ratings, else ``None``."""
    return _first(name, provenance, is_learned_from_ratings)


def made_from_genre_labels(
    name: str, provenance: Mapping[str, Any] | None
) -> tuple[str, ...] | None:
    """The chain to the first block of the lineage holding genre labels, else ``None``."""
    return _first(name, provenance, is_genre_labels)


def check_side_feature_block(name: str, provenance: Mapping[str, Any] | None) -> None:
    """Refuse a block learned from ratings as a side feature of a rating model.

    A rating-derived block (``embedding``, ``pca``, or any block whose provenance says it
    was learned from ratings) comes from a rating model fitted on some split, which can
    include the test ratings of the split the new model is evaluated on: its cold-start
    result would not be honest.

    Raises
    ------
    DataError
        If the block or anything it was made from was learned from ratings.

    Examples
    --------
    >>> check_side_feature_block("genres", {"genre_labels": True})
    >>> check_side_feature_block("embedding", {})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.DataError: block 'embedding' was learned from ratings, ...
    """
    chain = learned_from_ratings(name, provenance)
    if chain is None:
        return
    via = f" (through {' <- '.join(chain)})" if len(chain) > 1 else ""
    raise DataError(
        f"block {name!r} was learned from ratings{via}, which can include this "
        "split's test ratings, so it cannot be a side feature of a rating "
        "model; use content blocks such as genres, overview_w2v, poster."
    )
