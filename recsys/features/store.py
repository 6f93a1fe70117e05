"""The shared movie representation: named feature blocks aligned on movie id.

A feature store is a directory::

    FEATURES_DIR/
      manifest.json            format, and per block: its file, that file's size and
                               SHA-256, dimension, coverage, provenance
      <block>.<sha256:16>.npz  movie_ids (n,) int64 sorted, values (n, d) float32,
                               mask (n,) bool, columns (d,) str

Block files are named after their content and never rewritten: a write adds the new
files, then renames the new manifest into place (the one step that changes what a
reader sees), then removes the files no manifest names any more. Killed at any moment,
the store is the old one or the new one, never a mix, and opening it checks every
block file against its manifest entry (size and SHA-256), naming the block that does
not match.

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

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.checksum import sha256_file
from recsys.errors import DataError
from recsys.fileio import check_writable_dir, locked_output, output_step, write_json_atomic

__all__ = ["BLOCK_NAMES", "FORMAT", "FeatureBlock", "FeatureStore"]

FORMAT = "recsys-features/2"
#: Block files: ``<block>.<first 16 hex digits of their SHA-256>.npz``.
_BLOCK_FILE = re.compile(r"(?P<block>.+)\.(?P<digest>[0-9a-f]{16})\.npz")
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

    Opening checks every block file against the manifest (its size and SHA-256), so a
    store that was altered, damaged or written by a run that did not finish is refused
    with the block named, never read as a mix of old and new blocks.

    Raises
    ------
    DataError
        If ``path`` is not a feature store, its manifest is damaged, or a block file is
        missing or does not match its manifest entry.
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
            self.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
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
                f"expected {FORMAT!r}; remove the folder and build the store again with "
                "this version.",
                parameter="path",
            )
        blocks = self.manifest.get("blocks")
        if not isinstance(blocks, dict) or not all(
            isinstance(e, dict)
            and isinstance(e.get("file"), str)
            and isinstance(e.get("sha256"), str)
            and isinstance(e.get("bytes"), int)
            for e in blocks.values()
        ):
            raise DataError(
                f"{str(manifest)!r} is damaged (a block entry lacks its file, bytes or "
                "sha256); rebuild the store."
            )
        for name in blocks:
            self._verify(name)

    def _verify(self, name: str, data: bytes | None = None) -> None:
        """Check block ``name``'s file (or the bytes read from it) against the manifest."""
        info = self.manifest["blocks"][name]
        file = self.path / info["file"]
        if Path(info["file"]).name != info["file"]:
            raise DataError(
                f"{str(self.path / 'manifest.json')!r} is damaged (block {name!r} names the "
                f"file {info['file']!r} outside the store); rebuild the store."
            )
        if data is None:
            try:
                size = file.stat().st_size
            except FileNotFoundError:
                raise DataError(
                    f"feature store {str(self.path)!r}: block {name!r} is missing its file "
                    f"{info['file']!r}; the store was altered. Rebuild the block."
                ) from None
        else:
            size = len(data)
        fix = (
            "the store was altered or damaged after it was written. Rebuild the block "
            "(recsys.features.blocks, FeatureStore.write) or remove the store."
        )
        if size != info["bytes"]:
            raise DataError(
                f"feature store {str(self.path)!r}: block {name!r} does not match its "
                f"manifest: {info['file']!r} has {size} bytes, the manifest says "
                f"{info['bytes']}; {fix}"
            )
        digest = hashlib.sha256(data).hexdigest() if data is not None else sha256_file(file)
        if digest != info["sha256"]:
            raise DataError(
                f"feature store {str(self.path)!r}: block {name!r} does not match its "
                f"manifest: the SHA-256 of {info['file']!r} is {digest[:16]}..., the "
                f"manifest says {info['sha256'][:16]}...; {fix}"
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
            data = (self.path / info["file"]).read_bytes()
        except FileNotFoundError:
            data = None
        if data is None:
            self._verify(name)  # names the missing file
            raise AssertionError("unreachable")  # pragma: no cover
        self._verify(name, data)  # the bytes loaded are the bytes verified
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                block = FeatureBlock(
                    name,
                    arrays["movie_ids"],
                    arrays["values"],
                    arrays["mask"],
                    dict(info.get("provenance", {})),
                    tuple(str(c) for c in arrays["columns"]),
                )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise DataError(
                f"block {name!r} of {str(self.path)!r} is damaged ({error}); rebuild it."
            ) from None
        n = len(block.movie_ids)
        if block.values.ndim != 2 or len(block.values) != n or len(block.mask) != n:
            raise DataError(
                f"block {name!r} of {str(self.path)!r} is damaged (values {block.values.shape}, "
                f"mask {block.mask.shape} for {n} movies); rebuild it."
            )
        return block

    def blocks(self, names: Iterable[str] | None = None) -> list[FeatureBlock]:
        """The named blocks (all when ``names`` is None)."""
        return [self[n] for n in (self.names if names is None else names)]

    def describe(self) -> dict[str, Any]:
        """The manifest: per block its file, size, SHA-256, dimension, coverage and
        provenance."""
        return dict(self.manifest)

    @staticmethod
    def write(path: str | os.PathLike[str], blocks: Iterable[FeatureBlock]) -> FeatureStore:
        """Add ``blocks`` to the store at ``path`` (created if needed), replacing blocks
        of the same name.

        New block files are written beside the old ones (named after their content),
        then the manifest is renamed into place, then the files it no longer names are
        removed: a reader, or a run killed at any point, sees the complete old store
        or the complete new one. The store is locked meanwhile
        (:func:`recsys.fileio.locked_output`): a second writer is refused.

        Raises
        ------
        DataError
            If ``path`` cannot be written, is not a feature store of this version, or
            another process is writing it.
        """
        target = check_writable_dir(path, what="feature store")
        target.parent.mkdir(parents=True, exist_ok=True)
        with locked_output(target, what="feature store", parameter="path"):
            target.mkdir(parents=True, exist_ok=True)
            manifest_path = target / "manifest.json"
            manifest: dict[str, Any] = {"format": FORMAT, "blocks": {}}
            if manifest_path.is_file():
                manifest = FeatureStore(target).manifest
            for block in blocks:
                manifest["blocks"][block.name] = {
                    **_write_block(target, block),
                    "dim": block.dim,
                    "n_movies": int(len(block.movie_ids)),
                    "n_present": block.coverage,
                    "provenance": block.provenance,
                }
            write_json_atomic(manifest_path, manifest)  # the switch to the new store
            _remove_unlisted(target, manifest)
        return FeatureStore(target)


def _write_block(folder: Path, block: FeatureBlock) -> dict[str, Any]:
    """Write ``block`` to ``<name>.<sha256:16>.npz`` in ``folder``; its manifest fields."""
    if not block.name or "/" in block.name or block.name.startswith("."):
        raise DataError(f"block name {block.name!r} cannot name a file; give a plain name.")
    fd, tmp = tempfile.mkstemp(prefix=f".{block.name}.", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                movie_ids=block.movie_ids,
                values=block.values,
                mask=block.mask,
                columns=np.array(block.columns, dtype=str),
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        digest = sha256_file(tmp)
        file = f"{block.name}.{digest[:16]}.npz"
        size = os.path.getsize(tmp)
        os.replace(tmp, folder / file)  # same name, same bytes: replacing changes nothing
        output_step("replace", folder / file)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return {"file": file, "bytes": size, "sha256": digest}


def _remove_unlisted(folder: Path, manifest: dict[str, Any]) -> None:
    """Remove the block files no manifest entry names and temporaries of killed writes."""
    listed = {e["file"] for e in manifest["blocks"].values()}
    for entry in sorted(os.listdir(folder)):
        stale = (_BLOCK_FILE.fullmatch(entry) and entry not in listed) or (
            entry.startswith(".") and entry.endswith(".npz.tmp")
        )
        if stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / entry)
            output_step("remove", folder / entry)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
