"""The labelled movie set: movie id, text and genres, split into train / val / test.

Built once by ``genre dataset`` (:func:`build_labelled` + :func:`save_labelled`) and read
by every genre model with :func:`load_labelled`, so all of them use the same movies, the
same genre order and the same split.

Directory format
----------------
``movies.parquet``
    One row per movie: ``movie_id`` (int64, in the id space the manifest names:
    MovieLens movie ids, or TMDB ids for a set built from TMDB's export layout),
    ``title`` (str), ``year`` (Int64, may be
    null), ``overview`` (str, non-empty), ``tags`` (list of str: the distinct MovieLens
    tags of the movie, sorted; empty for most movies), ``genres`` (list of str, in
    vocabulary order, at least one) and ``split`` (``train``, ``val`` or ``test``).
    Sorted by ``movie_id``.
``genres.json``
    ``{"genres": [...]}``: the fixed genre order; column ``j`` of every label matrix
    and model output is ``genres[j]``.
``manifest.json``
    How the set was made: the id space of ``movie_id`` (``id_space``: ``movielens`` or
    ``tmdb``; for ``tmdb``, how many movies a links table tied to MovieLens movies),
    sources, label source, seed, split fractions, minimum genre
    fraction, the genres dropped (with their counts over all labelled movies), the
    genre counts of the training part the filter used, the TMDB genre names without a
    MovieLens counterpart (``labels="tmdb-mapped"``; with the number of movies carrying
    each),
    how many movies were dropped and why, and the number of movies per split and per
    genre and split.

Choices
-------
- Movies are split (never ratings), with iterative stratification on every genre so
  rare genres appear in every part; the same seed and inputs give the same split.
- The split comes *before* the genre-frequency filter: a genre is kept when it is on at
  least ``min_genre_fraction`` of the *training* movies, so the label vocabulary uses
  training data only (validation and test labels are never counted).
- Id spaces are never mixed: a set built from a TMDB export is keyed by TMDB id, keeps
  the file's titles, and uses MovieLens data (genres for ``labels="movielens"``, tags)
  only for movies a links table ties to a MovieLens movie -- never a MovieLens movie
  whose id equals the TMDB id. Unlinked movies take part with their TMDB genres.
- Movies whose only genres are dropped ones (in any part) are dropped too;
  ``dropped_movies.only_dropped_genres`` in the manifest counts them, next to the
  movies without overview (``no_overview``), without any genre (``no_genre``;
  ``(no genres listed)`` is no genre) and, for MovieLens labels, not in MovieLens
  (``not_in_movielens``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from genre.data.labels import (
    NO_GENRES,
    GenreVocabulary,
    check_training_labels,
    genre_counts,
    rare_genres,
    tmdb_labels,
)
from genre.data.stratify import iterative_stratification
from recsys.errors import DataError, InvalidParameterError
from recsys.fileio import atomic_directory, write_json_atomic

__all__ = [
    "COLUMNS",
    "MARKER",
    "SPLITS",
    "LabelledSet",
    "build_labelled",
    "load_labelled",
    "movie_tags",
    "save_labelled",
]

#: The parts of the labelled set, in order.
Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
#: Columns of ``movies.parquet``.
COLUMNS = ("movie_id", "title", "year", "overview", "tags", "genres", "split")
FORMAT_VERSION = 1
#: The files that mark a directory as a labelled set ``save_labelled`` may replace
#: (all three: a feature store also has a manifest.json, a model a genres.json).
MARKER = ("manifest.json", "movies.parquet", "genres.json")


@dataclass(frozen=True, eq=False)
class LabelledSet:
    """Movies with text and genres, their genre order and their split.

    Attributes
    ----------
    frame : DataFrame with :data:`COLUMNS` (``genres`` and ``tags`` as tuples).
    vocabulary : the fixed genre order.
    manifest : how the set was made (see the module docstring).
    """

    frame: pd.DataFrame
    vocabulary: GenreVocabulary
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def id_space(self) -> str:
        """What ``movie_id`` holds: ``"movielens"`` (movie ids) or ``"tmdb"`` (TMDB ids)."""
        return str(self.manifest.get("id_space", "movielens"))

    @property
    def genres(self) -> tuple[str, ...]:
        """The genre names in column order."""
        return self.vocabulary.genres

    def part(self, split: Split | None = None) -> pd.DataFrame:
        """The rows of one split (all rows for ``None``), in movie id order."""
        if split is None:
            return self.frame
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}.")
        return self.frame[self.frame["split"] == split].reset_index(drop=True)

    def Y(self, split: Split | None = None) -> NDArray[np.uint8]:
        """Label matrix of shape ``(n_movies_in_split, n_genres)``."""
        return self.vocabulary.encode(self.part(split)["genres"])

    def counts(self) -> dict[str, int]:
        """Number of movies per split."""
        return {s: int((self.frame["split"] == s).sum()) for s in SPLITS}


def movie_tags(tags: pd.DataFrame) -> dict[int, tuple[str, ...]]:
    """The distinct tags of each movie (sorted, whitespace-normalised, case kept).

    Parameters
    ----------
    tags : DataFrame with ``movie_id`` and ``tag`` (``Dataset.read_tags()``).

    >>> movie_tags(pd.DataFrame({"movie_id": [1, 1, 2], "tag": ["funny", " pixar", "funny"]}))
    {1: ('funny', 'pixar'), 2: ('funny',)}
    """
    out: dict[int, tuple[str, ...]] = {}
    if len(tags) == 0:
        return out
    clean = tags.assign(tag=tags["tag"].astype(str).str.split().str.join(" "))
    clean = clean[clean["tag"] != ""]
    for movie_id, group in clean.groupby("movie_id", sort=True):
        out[int(movie_id)] = tuple(sorted(set(group["tag"])))
    return out


def build_labelled(
    metadata: pd.DataFrame,
    movies: pd.DataFrame | None,
    *,
    tags: pd.DataFrame | None = None,
    labels: Literal["movielens", "tmdb", "tmdb-mapped"] = "movielens",
    min_genre_fraction: float = 0.05,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    sources: dict[str, Any] | None = None,
    id_space: Literal["movielens", "tmdb"] = "movielens",
) -> LabelledSet:
    """Build the labelled set from metadata (overviews) and MovieLens movies (genres).

    Parameters
    ----------
    metadata : frame from :func:`genre.data.sources.read_metadata` (``movie_id, title,
        overview, tmdb_genres, year``, and ``movielens_id``: the MovieLens movie of each
        row, ``movie_id`` when absent in the ``movielens`` id space; other columns are
        ignored).
    movies : the MovieLens movies frame (``movie_id, title, year, genres``), joined on
        ``movielens_id``; needed for ``labels="movielens"``, used for titles and years
        otherwise (in the ``movielens`` id space only: a TMDB export keeps its own).
    tags : MovieLens tags (``movie_id, tag``, MovieLens ids), or ``None`` for no tags.
    labels : ``"movielens"`` (genres of the MovieLens movies frame), ``"tmdb"`` (the
        TMDB genre names as TMDB gives them: ``Science Fiction``, ``Family``,
        ``History``, ``TV Movie``, ``Foreign`` ...) or ``"tmdb-mapped"`` (TMDB genres
        mapped to MovieLens names to compare with MovieLens labels, see
        :func:`genre.data.labels.tmdb_labels`; names without a MovieLens counterpart are
        dropped and counted in the manifest).
    min_genre_fraction : genres on fewer than this fraction of the *training* movies are
        dropped (and listed in the manifest); movies left without a genre are dropped.
    fractions : train, validation and test fractions of the movies.
    seed : seed of the stratified split.
    sources : where the inputs came from, recorded in the manifest.
    id_space : what ``metadata["movie_id"]`` holds: ``"movielens"`` movie ids or
        ``"tmdb"`` ids (a TMDB export; then ``movielens_id`` is the only tie to MovieLens
        and the file's titles are kept). Recorded in the manifest.

    Returns
    -------
    LabelledSet

    Raises
    ------
    DataError
        No overview at all, no movie with labels, bad fractions, every genre dropped,
        a split part that would be empty, or a set no genre model can learn from:
        fewer than 2 genres kept, or a kept genre on every training movie (see
        :func:`genre.data.labels.check_training_labels`).

    Examples
    --------
    >>> meta = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": "", "year": pd.NA,
    ...                      "overview": ["a toy", "a game", "a heist", "a ghost"],
    ...                      "tmdb_genres": [()] * 4})
    >>> ml = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": ["A", "B", "C", "D"],
    ...                    "year": [1995] * 4, "genres": [("Comedy",)] * 2 + [("Crime",)] * 2})
    >>> data = build_labelled(meta, ml, fractions=(0.5, 0.25, 0.25), min_genre_fraction=0.0)
    >>> data.genres, data.counts()
    (('Comedy', 'Crime'), {'train': 2, 'val': 1, 'test': 1})
    """
    if labels not in ("movielens", "tmdb", "tmdb-mapped"):
        raise InvalidParameterError(
            "labels", f"unknown label source {labels!r}; expected movielens, tmdb or tmdb-mapped."
        )
    if id_space not in ("movielens", "tmdb"):
        raise InvalidParameterError(
            "id_space", f"unknown id space {id_space!r}; expected movielens or tmdb."
        )
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or not np.isclose(sum(fractions), 1):
        raise DataError(
            f"split fractions must be three positive numbers summing to 1 "
            f"(train, val, test), received {list(fractions)}."
        )
    meta = metadata.copy()
    n_in = len(meta)
    has_text = meta["overview"].fillna("").astype(str).str.strip() != ""
    if not has_text.any():
        raise DataError(
            "no movie has an overview (every text is empty); fetch the TMDB "
            "overviews first or pass a metadata file that has them."
        )
    meta = meta[has_text].reset_index(drop=True)
    dropped: dict[str, int] = {"no_overview": int(n_in - len(meta))}
    if "movielens_id" in meta.columns:
        ml_ids = pd.Series(pd.array(meta["movielens_id"], dtype="Int64"), index=meta.index)
    elif id_space == "movielens":
        ml_ids = pd.Series(pd.array(meta["movie_id"], dtype="Int64"), index=meta.index)
    else:  # TMDB ids and no link: no movie is a MovieLens movie
        ml_ids = pd.Series(pd.array([None] * len(meta), dtype="Int64"), index=meta.index)
    meta = meta.assign(movielens_id=ml_ids)

    if movies is not None:
        ml = movies.set_index("movie_id")
        in_ml = meta["movielens_id"].notna() & meta["movielens_id"].isin(ml.index)
    else:
        ml, in_ml = None, pd.Series(False, index=meta.index)
    if labels == "movielens":
        if ml is None:
            raise InvalidParameterError(
                "labels", "labels='movielens' needs the MovieLens movies frame (movies)."
            )
        unmapped: Counter[str] = Counter()
        dropped["not_in_movielens"] = int((~in_ml).sum())
        meta = meta[in_ml].reset_index(drop=True)
        in_ml = pd.Series(True, index=meta.index)
        genre_lists = [tuple(ml.at[int(m), "genres"]) for m in meta["movielens_id"]]
    elif labels == "tmdb":
        unmapped = Counter()
        genre_lists = [tuple(dict.fromkeys(str(g) for g in lst)) for lst in meta["tmdb_genres"]]
    else:
        genre_lists, unmapped = tmdb_labels(meta["tmdb_genres"])
    if labels != "movielens" and not any(genre_lists):
        raise DataError(
            f"labels={labels!r}: no movie has TMDB genres in the metadata; use a "
            "metadata store with TMDB genres or labels='movielens'.",
            parameter="labels",
        )
    # A TMDB export keeps its own titles and years (the file's); MovieLens-keyed
    # metadata takes the MovieLens ones, as before.
    own = id_space == "tmdb"
    titles = [
        str(ml.at[int(m), "title"])
        if ok and ml is not None and not (own and str(t or "").strip())
        else str(t or "")
        for m, t, ok in zip(meta["movielens_id"], meta["title"], in_ml, strict=True)
    ]
    years = [
        ml.at[int(m), "year"]
        if ok and ml is not None and pd.notna(ml.at[int(m), "year"]) and not (own and pd.notna(y))
        else y
        for m, y, ok in zip(meta["movielens_id"], meta["year"], in_ml, strict=True)
    ]

    labelled = [any(g != NO_GENRES for g in lst) for lst in genre_lists]
    dropped["no_genre"] = int(len(labelled) - sum(labelled))
    keep_rows = np.flatnonzero(labelled)
    genre_lists = [tuple(g for g in genre_lists[i] if g != NO_GENRES) for i in keep_rows]
    if not genre_lists:
        raise DataError(
            f"no movie has a genre label: check the labels source ({labels!r}).",
            parameter="labels",
        )
    if len(genre_lists) < 3:
        raise DataError(
            f"only {len(genre_lists)} labelled movies; at least 3 are needed to "
            "make train, validation and test parts."
        )
    all_counts = genre_counts(genre_lists)
    # Split first, stratified on every genre, so that the frequency filter below sees
    # the training part only.
    parts = iterative_stratification(
        GenreVocabulary(sorted(all_counts)).encode(genre_lists), fractions, seed=seed
    )
    _check_parts(parts, len(parts), fractions)
    train_lists = [g for g, p in zip(genre_lists, parts, strict=True) if p == 0]
    train_counts = genre_counts(train_lists)
    kept, _ = rare_genres(train_lists, min_genre_fraction)
    vocab = GenreVocabulary(kept)
    kept_set = set(kept)
    filtered = [tuple(g for g in kept if g in set(lst)) for lst in genre_lists]
    has_kept = np.array([bool(g) for g in filtered])
    dropped["only_dropped_genres"] = int((~has_kept).sum())
    rows = keep_rows[has_kept]
    parts = parts[has_kept]
    filtered = [g for g, ok in zip(filtered, has_kept, strict=True) if ok]
    _check_parts(parts, len(rows), fractions)
    # Movies left with dropped genres only are gone, so a kept genre may now be on every
    # training movie (or be the only one): a set a genre model cannot learn from.
    check_training_labels(
        vocab.encode([g for g, p in zip(filtered, parts, strict=True) if p == 0]),
        kept,
        fix=f"min_genre_fraction={min_genre_fraction:g} keeps too few genres; use a "
        "smaller fraction",
        parameter="min_genre_fraction",
    )

    tag_map = movie_tags(tags) if tags is not None else {}
    frame = pd.DataFrame(
        {
            "movie_id": meta["movie_id"].to_numpy()[rows].astype(np.int64),
            "title": [titles[i] for i in rows],
            "year": pd.array([years[i] for i in rows], dtype="Int64"),
            "overview": meta["overview"].astype(str).str.strip().to_numpy()[rows],
            "tags": [
                tag_map.get(int(m), ()) if pd.notna(m) else ()
                for m in meta["movielens_id"].to_numpy()[rows]
            ],
            "genres": filtered,
        }
    )
    frame["split"] = np.asarray(SPLITS, dtype=object)[parts]
    frame = frame.sort_values("movie_id", kind="stable").reset_index(drop=True)
    manifest = {
        "format_version": FORMAT_VERSION,
        "id_space": id_space,
        "n_linked_to_movielens": int(in_ml.to_numpy()[rows].sum()),
        "sources": dict(sources or {}),
        "labels": labels,
        "seed": int(seed),
        "fractions": dict(zip(SPLITS, map(float, fractions), strict=True)),
        "min_genre_fraction": float(min_genre_fraction),
        "genres": list(vocab.genres),
        "dropped_genres": {g: int(c) for g, c in sorted(all_counts.items()) if g not in kept_set},
        "genre_counts_before_filter": {g: int(c) for g, c in sorted(all_counts.items())},
        "train_genre_counts_before_filter": {g: int(c) for g, c in sorted(train_counts.items())},
        "n_train_before_filter": len(train_lists),
        "unmapped_tmdb_genres": {g: int(c) for g, c in sorted(unmapped.items())},
        "n_input_movies": int(n_in),
        "dropped_movies": dropped,
        "n_movies": len(frame),
        "n_with_tags": int(sum(bool(t) for t in frame["tags"])),
        "counts": {s: int((frame["split"] == s).sum()) for s in SPLITS},
        "genre_counts": {
            s: dict(
                zip(
                    vocab.genres,
                    map(int, vocab.encode(frame.loc[frame["split"] == s, "genres"]).sum(axis=0)),
                    strict=True,
                )
            )
            for s in SPLITS
        },
    }
    return LabelledSet(frame, vocab, manifest)


def _check_parts(parts: NDArray[np.int_], n: int, fractions: Sequence[float]) -> None:
    for index, name in enumerate(SPLITS):
        if not (parts == index).any():
            raise DataError(
                f"the {name} part is empty with {n} movies and fractions "
                f"{list(fractions)}; use more movies or larger fractions."
            )


def save_labelled(data: LabelledSet, out: str | os.PathLike[str]) -> Path:
    """Write the set as ``movies.parquet``, ``genres.json`` and ``manifest.json`` atomically.

    Returns the directory path. An existing directory is replaced only once the new
    one is complete, and only if it is a labelled set (it has the :data:`MARKER` files)
    or empty.

    Raises
    ------
    DataError
        If ``out`` is a non-empty directory that is not a labelled set, or the current
        directory.
    """
    target = Path(out).expanduser()
    with atomic_directory(target, marker=MARKER, what="labelled set") as tmp:
        frame = data.frame.copy()
        frame["genres"] = [list(g) for g in frame["genres"]]
        frame["tags"] = [list(t) for t in frame["tags"]]
        frame.to_parquet(tmp / "movies.parquet", index=False)
        data.vocabulary.to_json(tmp / "genres.json")
        write_json_atomic(tmp / "manifest.json", data.manifest)
    return target


def load_labelled(path: str | os.PathLike[str]) -> LabelledSet:
    """Read a directory written by :func:`save_labelled` (the ``genre dataset`` command).

    Raises
    ------
    DataError
        If the directory is not a labelled set, or its files disagree with each other
        (a genre outside ``genres.json``, an unknown split, missing columns).

    Examples
    --------
    >>> import tempfile
    >>> meta = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": "", "year": pd.NA,
    ...                      "overview": ["a toy", "a game", "a heist", "a ghost"],
    ...                      "tmdb_genres": [()] * 4})
    >>> ml = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": ["A", "B", "C", "D"],
    ...                    "year": [1995] * 4, "genres": [("Comedy",)] * 2 + [("Crime",)] * 2})
    >>> built = build_labelled(meta, ml, fractions=(0.5, 0.25, 0.25), min_genre_fraction=0.0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     data = load_labelled(save_labelled(built, Path(folder) / "genres"))
    >>> data.genres, data.Y("train").shape
    (('Comedy', 'Crime'), (2, 2))
    """
    root = Path(path).expanduser()
    hint = "build one with build_labelled and save_labelled"
    if not root.is_dir():
        raise DataError(f"{str(root)!r} is not a labelled-set directory; {hint}.")
    missing = [
        n for n in ("movies.parquet", "genres.json", "manifest.json") if not (root / n).is_file()
    ]
    if missing:
        raise DataError(
            f"{str(root)!r} is not a labelled-set directory (missing {', '.join(missing)}); {hint}."
        )
    vocab = GenreVocabulary.from_json(root / "genres.json")
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        frame = pd.read_parquet(root / "movies.parquet")
    except (ValueError, OSError) as error:
        raise DataError(
            f"{str(root)!r}: a labelled-set file is damaged ({error}); rebuild the labelled set."
        ) from None
    absent = [c for c in COLUMNS if c not in frame.columns]
    if absent:
        raise DataError(
            f"{str(root / 'movies.parquet')!r} lacks column(s) {', '.join(absent)}; "
            "rebuild the labelled set."
        )
    frame = frame[list(COLUMNS)].copy()
    frame["genres"] = [tuple(str(g) for g in v) for v in frame["genres"]]
    frame["tags"] = [tuple(str(t) for t in v) for v in frame["tags"]]
    frame["overview"] = frame["overview"].fillna("").astype(str)
    known = set(vocab.genres)
    strange = sorted({g for lst in frame["genres"] for g in lst} - known)
    if strange:
        raise DataError(
            f"{str(root)!r}: movies carry genres not in genres.json "
            f"({', '.join(strange)}); rebuild the labelled set."
        )
    bad_split = sorted(set(frame["split"]) - set(SPLITS))
    if bad_split:
        raise DataError(
            f"{str(root)!r}: unknown split value(s) {bad_split}; expected {', '.join(SPLITS)}."
        )
    return LabelledSet(frame.reset_index(drop=True), vocab, manifest)
