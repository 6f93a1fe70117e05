"""Poster files of a labelled set's movies, decoded and resized once into a cache.

A posters folder holds ``<movieId>.jpg`` (or ``.jpeg``, ``.png``, ``.webp``) files, as
the shared posters' ``images/`` folder does, or a posters index ``posters_index.csv``
(columns ``movieId`` and ``path``, paths relative to the index's folder, as in the
shared ``posters/`` folder). :func:`find_posters` maps movie ids to files.

:func:`load_poster_images` decodes each poster once with Pillow (the decoder of the
frozen poster block, :mod:`recsys.features.posters`: RGB, alpha dropped, bilinear
resize to ``image_size`` x ``image_size``) into a ``uint8`` array of shape
``(n_posters, image_size, image_size, 3)`` stored as a ``.npy`` file and opened as a
memory map, so the images are never held in memory twice and the next run with the same
files and size only opens the file. The cache file is written to a temporary name and
renamed when complete, keyed by the image size, the resize method and the path, size and
modification time of every poster. A poster that is missing or does not decode is
skipped and counted (:class:`PosterImages` ``failures``), never a crash.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.errors import DataError, InvalidParameterError
from recsys.features.posters import RESIZE, _load_image
from recsys.paths import cache_dir

__all__ = ["INDEX_NAME", "PosterImages", "find_posters", "load_poster_images", "read_poster"]

#: The posters index file looked for in a posters folder.
INDEX_NAME = "posters_index.csv"
_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


def find_posters(folder: str | os.PathLike[str], movie_ids: Iterable[int]) -> dict[int, Path]:
    """The poster file of each movie of ``movie_ids`` that has one in ``folder``.

    ``folder`` holds ``<movieId>.<ext>`` files, or a :data:`INDEX_NAME` whose ``path``
    entries (relative to ``folder``) name the files; movies the index does not list are
    looked up by file name.

    Raises
    ------
    DataError
        If ``folder`` is not a directory or its index cannot be read
        (``parameter="posters"``).
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DataError(f"posters folder {str(root)!r} is not a directory.", parameter="posters")
    listed: dict[int, Path] = {}
    index = root / INDEX_NAME
    if index.is_file():
        try:
            table = pd.read_csv(index, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise DataError(
                f"cannot read the posters index {str(index)!r} ({type(error).__name__}); "
                "expected columns movieId and path.",
                parameter="posters",
            ) from None
        if not {"movieId", "path"} <= set(table.columns):
            raise DataError(
                f"{str(index)!r} is not a posters index: expected columns movieId and path.",
                parameter="posters",
            )
        for movie, path in zip(table["movieId"], table["path"], strict=True):
            if movie.strip().isdigit() and path:
                listed[int(movie)] = root / path
    names = {p.name for p in root.iterdir()} if not listed else None
    found: dict[int, Path] = {}
    for movie in (int(m) for m in movie_ids):
        if movie in listed:
            found[movie] = listed[movie]
            continue
        for ext in _EXTENSIONS:
            name = f"{movie}{ext}"
            if (names is not None and name in names) or (names is None and (root / name).is_file()):
                found[movie] = root / name
                break
    return found


@dataclass
class PosterImages:
    """Posters of some movies as one ``uint8`` image array (a memory map).

    Attributes
    ----------
    movie_ids : ndarray of shape (n_posters,), the movie of each image.
    images : ndarray of shape (n_posters, image_size, image_size, 3), ``uint8`` RGB.
    image_size : side of every image.
    failures : ``(movie_id, path, reason)`` of each poster skipped (missing file or not
        a decodable image).
    cache_file : the ``.npy`` file the images are mapped from (``None`` in memory).
    """

    movie_ids: NDArray[np.int64]
    images: NDArray[np.uint8]
    image_size: int
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    cache_file: Path | None = None

    def __len__(self) -> int:
        return len(self.movie_ids)

    def rows_of(self, movie_ids: Sequence[int]) -> NDArray[np.int64]:
        """Row of each movie of ``movie_ids`` in :attr:`images` (-1 when it has no image)."""
        position = {int(m): i for i, m in enumerate(self.movie_ids)}
        return np.array([position.get(int(m), -1) for m in movie_ids], dtype=np.int64)


def _cache_key(paths: Sequence[Path], image_size: int) -> str:
    digest = hashlib.sha256(f"{int(image_size)}|{RESIZE}".encode())
    for path in paths:
        try:
            stat = path.stat()
            digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}|missing\n".encode())
    return digest.hexdigest()[:24]


def load_poster_images(
    posters: dict[int, Path],
    image_size: int,
    *,
    cache: str | os.PathLike[str] | bool | None = True,
) -> PosterImages:
    """Decode and resize the posters of ``posters`` (movie id -> file) once.

    Parameters
    ----------
    posters : movie id -> poster file (:func:`find_posters`).
    image_size : images are resized to ``image_size`` x ``image_size``.
    cache : ``True`` (default): under ``recsys.paths.cache_dir("genre", "posters")``; a
        folder: there; ``False`` or ``None``: in memory, nothing written.

    Returns
    -------
    PosterImages
        The movies whose poster decoded, in the order of ``posters``; the others in
        ``failures``.

    Raises
    ------
    InvalidParameterError
        If ``image_size`` is below 1.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> folder = Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (20, 30), (255, 0, 0)).save(folder / "7.png")
    >>> _ = (folder / "8.jpg").write_bytes(b"not an image")
    >>> images = load_poster_images(find_posters(folder, [7, 8, 9]), 4, cache=False)
    >>> images.movie_ids.tolist(), images.images.shape, images.images[0, 0, 0].tolist()
    ([7], (1, 4, 4, 3), [255, 0, 0])
    >>> [(m, reason) for m, _, reason in images.failures]
    [(8, 'not a decodable image')]
    """
    size = int(image_size)
    if size < 1:
        raise InvalidParameterError(
            "image_size", f"image_size must be a positive number of pixels, received {size}."
        )
    movies = [int(m) for m in posters]
    paths = [Path(posters[m]) for m in movies]
    folder: Path | None = None
    if cache is True:
        folder = cache_dir("genre", "posters")
    elif cache:
        folder = Path(cache).expanduser()
    if folder is not None:
        key = _cache_key(paths, size)
        data_file, meta_file = folder / f"{key}.npy", folder / f"{key}.json"
        if data_file.is_file() and meta_file.is_file():
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
                images = np.load(data_file, mmap_mode="r")
                kept = np.asarray(meta["movie_ids"], dtype=np.int64)
                if images.shape == (len(kept), size, size, 3):
                    cached = [(int(m), str(f), str(r)) for m, f, r in meta["failures"]]
                    return PosterImages(kept, images, size, cached, data_file)
            except (OSError, ValueError, KeyError, TypeError):
                pass  # damaged: decode again
    decoded: list[NDArray[np.uint8]] = []
    kept_ids: list[int] = []
    failures: list[tuple[int, str, str]] = []
    for movie, path in zip(movies, paths, strict=True):
        if not path.is_file():
            failures.append((movie, str(path), "missing file"))
            continue
        image = _load_image(str(path), size)
        if image is None:
            failures.append((movie, str(path), "not a decodable image"))
            continue
        decoded.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
        kept_ids.append(movie)
    array = np.stack(decoded) if decoded else np.zeros((0, size, size, 3), np.uint8)
    ids = np.asarray(kept_ids, dtype=np.int64)
    if folder is None or not len(ids):
        return PosterImages(ids, array, size, failures)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.{os.getpid()}.tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, data_file)
    tmp_meta = folder / f".{key}.{os.getpid()}.tmp.json"
    tmp_meta.write_text(
        json.dumps({"movie_ids": ids.tolist(), "failures": failures, "image_size": size}),
        encoding="utf-8",
    )
    os.replace(tmp_meta, meta_file)
    del array
    return PosterImages(ids, np.load(data_file, mmap_mode="r"), size, failures, data_file)


def read_poster(path: str | os.PathLike[str], image_size: int) -> NDArray[np.uint8]:
    """One poster file as ``uint8`` RGB of shape ``(image_size, image_size, 3)``.

    Raises
    ------
    DataError
        If the file is missing or not a decodable image (``parameter="poster"``).
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"no such poster file: {str(file)!r}.", parameter="poster")
    image = _load_image(str(file), int(image_size))
    if image is None:
        raise DataError(
            f"{str(file)!r} is not a decodable image (JPEG, PNG, WebP...).", parameter="poster"
        )
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
