"""The shared movie representation: named feature blocks aligned on movie id.

A feature store is a directory::

    FEATURES_DIR/
      manifest.json     format, and per block: dimension, coverage, provenance
      <block>.npz       movie_ids (n,) int64 sorted, values (n, d) float32,
                        mask (n,) bool, columns (d,) str

Each block covers its own set of movies; ``mask[i]`` says whether movie
``movie_ids[i]`` really has the feature (a movie without a poster has a row of zeros
with ``mask`` False, never a silent zero vector). ``provenance`` records what made the
block (model, weights, corpus, settings) so a result can be traced back. Blocks are
read by the genre models and by the rating models (side features for cold start).

Well-known block names: ``embedding`` (movie embeddings and bias of a rating model),
``pca`` (their PCA factors), ``poster`` (CNN features of the poster),
``overview_w2v`` (mean word vectors of the overview), ``genres`` (0/1 genre labels);
any other name is allowed (``tfidf``, ``tags`` ...).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError
from recsys.fileio import atomic_write, check_writable_dir, write_json_atomic

__all__ = ["BLOCK_NAMES", "FORMAT", "FeatureBlock", "FeatureStore"]

FORMAT = "recsys-features/1"
#: The blocks :mod:`recsys.features.blocks` knows how to make (``recsys features build``).
BLOCK_NAMES = ("embedding", "pca", "poster", "overview_w2v", "genres")


@dataclass(frozen=True, eq=False)
class FeatureBlock:
    """One named block of movie features.

    Attributes
    ----------
    name : block name, e.g. ``"poster"``.
    movie_ids : ndarray of int64, shape (n,), sorted and unique.
    values : ndarray of float32, shape (n, d); rows with ``mask`` False are zeros.
    mask : ndarray of bool, shape (n,); whether each movie has the feature.
    provenance : JSON-able dict saying what produced the block.
    columns : names of the d dimensions (e.g. genre names), or ``f0 .. f{d-1}``.

    Examples
    --------
    >>> block = FeatureBlock.from_arrays("x", [3, 1], [[1.0, 2.0], [3.0, 4.0]])
    >>> block.movie_ids.tolist(), block.dim
    ([1, 3], 2)
    >>> values, mask = block.aligned([3, 7])
    >>> values.tolist(), mask.tolist()
    ([[1.0, 2.0], [0.0, 0.0]], [True, False])
    """

    name: str
    movie_ids: NDArray[np.int64]
    values: NDArray[np.float32]
    mask: NDArray[np.bool_]
    provenance: dict[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] = ()

    @classmethod
    def from_arrays(
        cls,
        name: str,
        movie_ids: ArrayLike,
        values: ArrayLike,
        mask: ArrayLike | None = None,
        provenance: dict[str, Any] | None = None,
        columns: Sequence[str] | None = None,
    ) -> FeatureBlock:
        """Build a block from unsorted arrays; rows are sorted by movie id.

        Raises
        ------
        DataError
            On duplicate ids, mismatched lengths, non-finite values where present.
        """
        ids = np.asarray(movie_ids, dtype=np.int64).ravel()
        vals = np.asarray(values, dtype=np.float32)
        if vals.ndim != 2 or len(vals) != len(ids):
            raise DataError(
                f"block {name!r}: values must have shape (n_movies, dim) with one "
                f"row per movie id; got {vals.shape} for {len(ids)} ids."
            )
        present = (
            np.ones(len(ids), dtype=bool) if mask is None else np.asarray(mask, dtype=bool).ravel()
        )
        if len(present) != len(ids):
            raise DataError(
                f"block {name!r}: mask has {len(present)} entries for {len(ids)} movies."
            )
        if len(np.unique(ids)) != len(ids):
            raise DataError(f"block {name!r}: a movie id appears twice.")
        if not np.isfinite(vals[present]).all():
            raise DataError(f"block {name!r}: some present values are NaN or infinite.")
        order = np.argsort(ids, kind="stable")
        vals = vals[order].copy()
        present = present[order]
        vals[~present] = 0.0
        names = (
            tuple(columns) if columns is not None else tuple(f"f{i}" for i in range(vals.shape[1]))
        )
        if len(names) != vals.shape[1]:
            raise DataError(
                f"block {name!r}: {len(names)} column names for {vals.shape[1]} dimensions."
            )
        return cls(name, ids[order], vals, present, dict(provenance or {}), names)

    @property
    def dim(self) -> int:
        """Number of feature dimensions."""
        return int(self.values.shape[1])

    @property
    def coverage(self) -> int:
        """Number of movies that have the feature."""
        return int(self.mask.sum())

    def aligned(self, movie_ids: ArrayLike) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        """Values and mask for ``movie_ids`` in that order; unknown movies are masked.

        Returns
        -------
        values : ndarray of shape (len(movie_ids), dim)
        mask : ndarray of bool, shape (len(movie_ids),)
        """
        wanted = np.asarray(movie_ids, dtype=np.int64).ravel()
        pos = np.searchsorted(self.movie_ids, wanted)
        pos_c = np.minimum(pos, max(len(self.movie_ids) - 1, 0))
        found = (
            (pos < len(self.movie_ids)) & (self.movie_ids[pos_c] == wanted)
            if len(self.movie_ids)
            else np.zeros(len(wanted), dtype=bool)
        )
        present = found & self.mask[pos_c] if len(self.movie_ids) else found
        values = np.zeros((len(wanted), self.dim), dtype=np.float32)
        values[present] = self.values[pos_c[present]]
        return values, present


class FeatureStore:
    """A directory of :class:`FeatureBlock` s (see the module docstring).

    Raises
    ------
    DataError
        If ``path`` is not a feature store.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        manifest = self.path / "manifest.json"
        if not manifest.is_file():
            raise DataError(
                f"{str(self.path)!r} is not a feature store (no manifest.json); "
                "give a folder written by FeatureStore.write.",
                parameter="path",
            )
        try:
            self.manifest = json.loads(manifest.read_text())
        except json.JSONDecodeError as error:
            raise DataError(f"{str(manifest)!r} is damaged ({error}); rebuild the store.") from None
        found = self.manifest.get("format") if isinstance(self.manifest, dict) else None
        if not (isinstance(found, str) and found.startswith(FORMAT.split("/")[0] + "/")):
            raise DataError(
                f"{str(self.path)!r} is not a feature store (its manifest.json "
                "was written by something else); give a folder written by "
                "FeatureStore.write.",
                parameter="path",
            )
        if found != FORMAT:
            raise DataError(
                f"{str(self.path)!r} has format {self.manifest.get('format')!r}, "
                f"expected {FORMAT!r}; rebuild it with this version."
            )

    @property
    def names(self) -> list[str]:
        """Block names, in the order they were added."""
        return list(self.manifest.get("blocks", {}))

    def __contains__(self, name: object) -> bool:
        return name in self.manifest.get("blocks", {})

    def __getitem__(self, name: str) -> FeatureBlock:
        if name not in self:
            fix = (
                f"Build the {name!r} block (recsys.features.blocks) and add it with "
                "FeatureStore.write."
                if name in BLOCK_NAMES
                else f"The blocks recsys.features.blocks makes are {', '.join(BLOCK_NAMES)}."
            )
            raise DataError(
                f"feature store {str(self.path)!r} has no block {name!r}; it has "
                f"{', '.join(self.names) or 'none'}. {fix}"
            )
        info = self.manifest["blocks"][name]
        try:
            with np.load(self.path / info["file"], allow_pickle=False) as data:
                return FeatureBlock(
                    name,
                    data["movie_ids"],
                    data["values"],
                    data["mask"],
                    dict(info.get("provenance", {})),
                    tuple(str(c) for c in data["columns"]),
                )
        except (OSError, KeyError, ValueError) as error:
            raise DataError(
                f"block {name!r} of {str(self.path)!r} is damaged ({error}); rebuild it."
            ) from None

    def blocks(self, names: Iterable[str] | None = None) -> list[FeatureBlock]:
        """The named blocks (all when ``names`` is None)."""
        return [self[n] for n in (self.names if names is None else names)]

    def describe(self) -> dict[str, Any]:
        """The manifest: per block its dimension, coverage and provenance."""
        return dict(self.manifest)

    @staticmethod
    def write(path: str | os.PathLike[str], blocks: Iterable[FeatureBlock]) -> FeatureStore:
        """Add ``blocks`` to the store at ``path`` (created if needed), replacing blocks
        of the same name. Each block file and then the manifest are written atomically,
        so a reader sees either the old or the new version of a block.
        """
        target = check_writable_dir(path, what="feature store")
        target.mkdir(parents=True, exist_ok=True)
        manifest_path = target / "manifest.json"
        manifest: dict[str, Any] = {"format": FORMAT, "blocks": {}}
        if manifest_path.is_file():
            manifest = FeatureStore(target).manifest
        for block in blocks:
            file = f"{block.name}.npz"
            with atomic_write(target / file, "wb") as handle:
                np.savez(
                    handle,
                    movie_ids=block.movie_ids,
                    values=block.values,
                    mask=block.mask,
                    columns=np.array(block.columns, dtype=str),
                )
            manifest["blocks"][block.name] = {
                "file": file,
                "dim": block.dim,
                "n_movies": int(len(block.movie_ids)),
                "n_present": block.coverage,
                "provenance": block.provenance,
            }
        write_json_atomic(manifest_path, manifest)
        return FeatureStore(target)
