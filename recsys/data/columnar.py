"""A columnar cache of parsed ratings: parse a large CSV once, memory-map it afterwards.

Parsing ml-25m's 650 MB ``ratings.csv`` takes half a minute and a gigabyte of scratch
memory; loading four ``.npy`` columns with ``np.load(mmap_mode="r")`` takes
milliseconds and costs only the pages that are touched. :func:`cached_ratings` keeps one
directory per source under ``cache_dir("columnar", KEY)``:

``user_id.npy`` (int32), ``movie_id.npy`` (int32), ``rating.npy`` (float32),
``timestamp.npy`` (int64, when the source has timestamps), ``columns.json`` and, for
string ids (:mod:`recsys.ids`), ``user_labels.npy``/``movie_labels.npy`` (the
strings of the codes held in the id columns).

The cached frame is already free of duplicate (user, movie) pairs
(:func:`recsys.data.schema.drop_duplicate_pairs`), and ``columns.json`` keeps how many
rows that dropped: the duplicate search over 25M ratings costs 10-40 s, so it runs once,
when the file is parsed, not on every load.

``KEY`` is a hash of the source file's resolved path, size and modification time, the
reader options and, for downloads, the published checksum: editing or replacing the
file gives a new key, so a stale cache is never read. The directory is built in a
temporary sibling and renamed into place only when every column is written, so an
interrupted ingest leaves nothing that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from recsys.data.schema import drop_duplicate_pairs
from recsys.fileio import atomic_directory, write_json_atomic
from recsys.ids import IdMaps, encode_ids
from recsys.paths import cache_dir

__all__ = [
    "FORMAT",
    "MIN_BYTES",
    "CachedRatings",
    "cache_key",
    "cached_ratings",
    "file_fingerprint",
]

#: Version 2: the frame is deduplicated, ``columns.json`` records ``duplicates`` and
#: string ids are codes with their labels (a version-1 cache has another key, so it
#: is rebuilt, never misread).
FORMAT = "recsys-columnar/2"
_LABELS = ("user_labels", "movie_labels")


class CachedRatings(NamedTuple):
    """What :func:`cached_ratings` gives."""

    #: ``user_id, movie_id, rating[, timestamp]``, one row per (user, movie) pair
    frame: pd.DataFrame
    #: how many rows of the source the duplicate policy dropped
    duplicates: int
    #: the strings of string ids (empty for integer ids)
    ids: IdMaps


#: Sources smaller than this are parsed every time (the bundled 2.5 MB set parses in
#: 50 ms; caching it would only add files).
MIN_BYTES = 16 << 20
_COLUMNS = {"user_id": np.int32, "movie_id": np.int32, "rating": np.float32, "timestamp": np.int64}


def file_fingerprint(path: str | os.PathLike[str], **extra: Any) -> dict[str, Any]:
    """What identifies a source file's content: resolved path, size, mtime, ``extra``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    file = Path(path).expanduser().resolve()
    stat = file.stat()
    return {"path": str(file), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **extra}


def cache_key(fingerprint: dict[str, Any]) -> str:
    """A short stable hash of a fingerprint (and of the cache format).

    Examples
    --------
    >>> cache_key({"path": "/d/ratings.csv", "size": 1, "mtime_ns": 2})  # doctest: +ELLIPSIS
    '...'
    >>> len(cache_key({"path": "x"}))
    24
    """
    text = json.dumps({"format": FORMAT, **fingerprint}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cached_ratings(
    fingerprint: dict[str, Any], read: Callable[[], pd.DataFrame], *, enabled: bool | None = None
) -> CachedRatings:
    """Deduplicated ratings from the columnar cache, or ``read()`` them and fill it first.

    Parameters
    ----------
    fingerprint : from :func:`file_fingerprint`; must contain ``size``.
    read : parses the source into the canonical ratings frame (called on a miss).
    enabled : ``True`` always caches, ``False`` never, ``None`` caches sources of at
        least :data:`MIN_BYTES`. ``$RECSYS_COLUMNAR=0`` turns the cache off.

    Returns
    -------
    CachedRatings
        The frame has one row per (user, movie) pair
        (:func:`recsys.data.schema.drop_duplicate_pairs`) and int32 ids (string ids
        become codes, :func:`recsys.ids.encode_ids`); on a hit its columns are
        read-only memory maps of the cached ``.npy`` files (no copy is made).
    """
    if os.environ.get("RECSYS_COLUMNAR", "").strip() in ("0", "false", "no"):
        enabled = False
    if enabled is None:
        enabled = int(fingerprint.get("size", 0)) >= MIN_BYTES
    if not enabled:
        return _parse(read)
    directory = cache_dir("columnar", cache_key(fingerprint))
    hit = _load(directory)
    if hit is not None:
        return hit
    parsed = _parse(read)
    try:
        _store(directory, parsed, fingerprint)
    except OSError:  # a read-only or full cache must not stop the user's run
        return parsed
    loaded = _load(directory)
    return parsed if loaded is None else loaded


def _parse(read: Callable[[], pd.DataFrame]) -> CachedRatings:
    frame, ids = encode_ids(read())
    frame, duplicates = drop_duplicate_pairs(frame)
    return CachedRatings(frame, duplicates, ids)


def _load(directory: Path) -> CachedRatings | None:
    meta_file = directory / "columns.json"
    try:
        meta = json.loads(meta_file.read_text())
        # plain ndarray views of the maps: pages are read on first touch, nothing copied
        columns = {
            name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(
                np.ndarray
            )
            for name in meta["columns"]
        }
        labels = {
            name: np.load(directory / f"{name}.npy", allow_pickle=False)
            for name in meta.get("labels", [])
        }
    except (OSError, ValueError, KeyError, TypeError):
        if directory.exists():  # damaged (e.g. a file deleted by hand): rebuild it
            shutil.rmtree(directory, ignore_errors=True)
        return None
    lengths = {len(v) for v in columns.values()}
    duplicates = meta.get("duplicates")
    if (
        meta.get("format") != FORMAT
        or lengths != {meta.get("rows")}
        or not isinstance(duplicates, int)
    ):
        shutil.rmtree(directory, ignore_errors=True)
        return None
    return CachedRatings(pd.DataFrame(columns, copy=False), duplicates, IdMaps.from_arrays(labels))


def _store(directory: Path, parsed: CachedRatings, fingerprint: dict[str, Any]) -> None:
    frame = parsed.frame
    names = [c for c in _COLUMNS if c in frame.columns]
    labels = parsed.ids.arrays()
    with atomic_directory(directory, marker="columns.json", what="columnar cache") as tmp:
        for name, array in labels.items():
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        for name in names:
            np.save(
                tmp / f"{name}.npy",
                np.ascontiguousarray(frame[name].to_numpy(dtype=_COLUMNS[name])),
                allow_pickle=False,
            )
        write_json_atomic(
            tmp / "columns.json",
            {
                "format": FORMAT,
                "columns": names,
                "rows": len(frame),
                "duplicates": parsed.duplicates,
                "labels": sorted(labels),
                "source": fingerprint,
            },
        )
