"""Inputs of the feature blocks a feature store is built from: poster files, overview
texts, the tag corpus, and the defaults of each block's settings."""

from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["IMAGE_EXTENSIONS", "feature_defaults", "overview_texts", "poster_files", "tag_corpus"]

#: File extensions read as posters from a folder of ``<movieId>.<ext>`` files.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


def feature_defaults() -> dict[str, Any]:
    """The defaults of the block settings, read from the library: the CNN of
    :class:`~recsys.features.posters.CNNSpec` (``backbone``, ``weights``, ``pooling``,
    ``image_size``, ``seed``), ``batch_size`` of
    :func:`~recsys.features.blocks.poster_block`, ``n_components`` of
    :func:`~recsys.features.blocks.pca_block` and the Word2Vec settings of
    :func:`~recsys.features.blocks.overview_block` (``vector_size``, ``window``,
    ``min_count``, ``epochs``).

    Examples
    --------
    >>> feature_defaults()["backbone"]
    'vgg16'
    """
    from recsys.features.blocks import overview_block, pca_block, poster_block
    from recsys.features.posters import CNNSpec

    cnn = {f.name: f.default for f in dataclasses.fields(CNNSpec) if f.init}
    words = inspect.signature(overview_block).parameters
    return {
        **{k: cnn[k] for k in ("backbone", "weights", "pooling", "image_size", "seed")},
        "batch_size": inspect.signature(poster_block).parameters["batch_size"].default,
        "n_components": inspect.signature(pca_block).parameters["n_components"].default,
        **{k: words[k].default for k in ("vector_size", "window", "min_count", "epochs")},
    }


def poster_files(
    metadata: pd.DataFrame | None,
    posters_dir: str | os.PathLike[str] | None = None,
    *,
    source: str | os.PathLike[str] = "",
) -> tuple[list[int], list[str | None]]:
    """Movie ids and their poster files (``None`` where a movie has none).

    From ``posters_dir``, a folder of ``<movieId>.jpg`` (or ``.jpeg``, ``.png``, ``.webp``)
    files: for the movies of ``metadata`` when it is given, else for every file there.
    Without a folder, the ``poster_file`` column of ``metadata`` (``source`` names it in
    the messages).

    Raises
    ------
    DataError
        If no poster file is found.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "7.jpg").write_bytes(b"")
    >>> ids, files = poster_files(None, folder)
    >>> ids, [Path(f).name for f in files if f]
    ([7], ['7.jpg'])
    """
    ids: list[int]
    if posters_dir is not None:
        folder = Path(posters_dir).expanduser()
        found: dict[int, str] = {}
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in IMAGE_EXTENSIONS and file.stem.isdigit():
                found.setdefault(int(file.stem), str(file))
        if metadata is None:
            ids = sorted(found)
            files: list[str | None] = [found[i] for i in ids]
        else:
            ids = [int(m) for m in metadata["movie_id"]]
            files = [found.get(i) for i in ids]
        where = f"the folder {str(posters_dir)!r}"
    elif metadata is not None:
        ids = [int(m) for m in metadata["movie_id"]]
        column = metadata["poster_file"] if "poster_file" in metadata.columns else [None] * len(ids)
        files = [f if isinstance(f, str) and f else None for f in column]
        where = f"the metadata {str(source)!r}" if source else "the metadata"
    else:
        raise DataError("give metadata with poster files or a folder of posters.")
    if not any(f is not None for f in files):
        raise DataError(
            f"no poster files in {where}; import posters into the metadata store, or give "
            "a folder of <movieId>.jpg files."
        )
    return ids, files


def overview_texts(metadata: pd.DataFrame, source: str | os.PathLike[str] = "") -> list[str]:
    """The overview of each movie of ``metadata`` (``""`` where it has none).

    Raises
    ------
    DataError
        If no movie has an overview (``source`` names the metadata in the message).
    """
    texts = [t if isinstance(t, str) else "" for t in metadata["overview"]]
    if not any(t.strip() for t in texts):
        raise DataError(
            f"the metadata {str(source)!r} has no overviews; fetch or import them first."
        )
    return texts


def tag_corpus(dataset: str | os.PathLike[str] | None = None) -> list[list[str]]:
    """The MovieLens tags of each tagged movie of ``dataset`` as one token list per
    movie (in movie-id order): extra sentences for a Word2Vec trained on overviews."""
    from recsys.data import load_dataset
    from recsys.features.text import tokenize

    tags = load_dataset(dataset).read_tags()
    return [
        tokenize(" ".join(str(t) for t in group["tag"]))
        for _, group in tags.groupby("movie_id", sort=True)
    ]
