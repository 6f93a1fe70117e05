"""Genre labels: a fixed, saved genre order and the binary label matrix it defines.

:class:`GenreVocabulary` plays the part of scikit-learn's ``MultiLabelBinarizer`` but its
order is fixed when the labelled set is built and saved beside every model, so a
column of ``Y`` means the same genre everywhere. :func:`rare_genres` finds the genres
below a minimum fraction of movies, and :func:`tmdb_labels` turns TMDB genre names
into MovieLens labels.

TMDB -> MovieLens
    The table and the rule are :mod:`recsys.metadata.genres`' (one rule for the whole
    package): ``Science Fiction`` -> ``Sci-Fi``, ``Family`` -> ``Children``, ``Music``
    -> ``Musical``; names MovieLens also uses map to themselves. ``TV Movie``,
    ``History``, ``Foreign`` and unknown names (``"genre <id>"`` in the store) have no
    MovieLens counterpart and are dropped -- :func:`tmdb_labels` counts them, and
    ``genre dataset`` records the counts in its manifest -- so a model trained on TMDB
    labels has the same vocabulary as one trained on MovieLens labels and the two can be
    compared.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError, InvalidParameterError
from recsys.metadata.genres import TMDB_TO_MOVIELENS, to_movielens_genres

__all__ = [
    "NO_GENRES",
    "GenreVocabulary",
    "check_training_labels",
    "genre_counts",
    "rare_genres",
    "tmdb_labels",
]

#: The MovieLens placeholder for a movie without genres; never a label.
NO_GENRES = "(no genres listed)"


def tmdb_labels(
    tmdb_genre_lists: Iterable[Iterable[str]],
) -> tuple[list[tuple[str, ...]], Counter[str]]:
    """MovieLens genre labels of movies from their TMDB genre names.

    Uses :func:`recsys.metadata.genres.to_movielens_genres`, the one TMDB -> MovieLens
    rule of the package: names without a MovieLens counterpart (``History``, ``TV
    Movie``, ``Foreign``, and names TMDB added later, which the metadata store keeps as
    ``"genre <id>"``) are dropped. The second result says how many movies lost each
    dropped name, so the caller can report it.

    Returns
    -------
    labels : one tuple of MovieLens genre names per movie.
    unmapped : dropped TMDB name -> number of movies that carried it.

    Examples
    --------
    >>> labels, unmapped = tmdb_labels([("Science Fiction", "History"), ("genre 1", "Drama")])
    >>> labels, dict(unmapped)
    ([('Sci-Fi',), ('Drama',)], {'History': 1, 'genre 1': 1})
    """
    labels: list[tuple[str, ...]] = []
    unmapped: Counter[str] = Counter()
    for names in tmdb_genre_lists:
        names = tuple(names)
        labels.append(to_movielens_genres(names))
        unmapped.update(n for n in set(names) if TMDB_TO_MOVIELENS.get(n) is None)
    return labels, unmapped


def genre_counts(genre_lists: Iterable[Iterable[str]]) -> Counter[str]:
    """How many movies carry each genre (``"(no genres listed)"`` ignored)."""
    counts: Counter[str] = Counter()
    for genres in genre_lists:
        counts.update(g for g in set(genres) if g and g != NO_GENRES)
    return counts


def rare_genres(
    genre_lists: Sequence[Iterable[str]], min_fraction: float
) -> tuple[list[str], list[str]]:
    """Split the genres into those on at least ``min_fraction`` of the movies and the rest.

    Parameters
    ----------
    genre_lists : one collection of genre names per movie.
    min_fraction : in ``[0, 1)``; a genre is kept when ``count / n_movies >= min_fraction``.

    Returns
    -------
    kept, dropped : sorted lists of genre names.

    Raises
    ------
    DataError
        If ``min_fraction`` is outside ``[0, 1)`` or no genre reaches it.

    Examples
    --------
    >>> rare_genres([("Drama",), ("Drama", "War"), ("Comedy",), ("Drama",)], 0.3)
    (['Drama'], ['Comedy', 'War'])
    """
    if not 0.0 <= min_fraction < 1.0:
        raise InvalidParameterError(
            "min_genre_fraction",
            f"min_genre_fraction must be in [0, 1), received {min_fraction}.",
        )
    counts = genre_counts(genre_lists)
    n = len(genre_lists)
    if n == 0 or not counts:
        raise DataError("no movie has a genre label: check the labels source.", parameter="labels")
    kept = sorted(g for g, c in counts.items() if c / n >= min_fraction)
    dropped = sorted(g for g in counts if g not in kept)
    if not kept:
        top, top_count = counts.most_common(1)[0]
        raise InvalidParameterError(
            "min_genre_fraction",
            f"min_genre_fraction={min_fraction} drops every genre (the most common, "
            f"{top!r}, is on {top_count / n:.3f} of {n} movies); use a smaller fraction.",
        )
    return kept, dropped


def check_training_labels(
    Y: ArrayLike,
    genres: Sequence[str] | None = None,
    *,
    fix: str = "use a labelled set built with more genres (a smaller min_genre_fraction)",
    parameter: str | None = None,
) -> NDArray[np.uint8]:
    """Check that a training label matrix gives a genre model something to learn.

    The one check every genre model runs in ``fit`` (and ``genre dataset`` before it
    writes a set): a 0/1 matrix with at least 2 genre columns, each genre on some but
    not all of the training movies. A genre on every (or no) training movie has one
    class only; scikit-learn's one-vs-rest then fits a constant and a single column
    becomes a binary problem with two score columns.

    Parameters
    ----------
    Y : array-like of shape (n_movies, n_genres), binary.
    genres : the genre names of the columns, for the messages.
    fix : how the user can fix it, appended to the message.
    parameter : the parameter the fix changes (the error's ``parameter``), if any.

    Returns
    -------
    ndarray of uint8, shape (n_movies, n_genres).

    Raises
    ------
    DataError
        Not a 2-d 0/1 matrix, fewer than 2 genres, or a genre on every or no movie.

    Examples
    --------
    >>> check_training_labels([[1, 0], [0, 1], [1, 1]], ["Drama", "War"]).shape
    (3, 2)
    >>> check_training_labels([[1, 0], [1, 1]], ["Drama", "War"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    recsys.errors.DataError: genre 'Drama' is on every one of the 2 training movies, ...
    """
    y = np.asarray(Y)
    if y.ndim != 2 or y.shape[0] == 0:
        raise DataError(
            f"expected training labels of shape (n_movies, n_genres) with at "
            f"least one movie, received shape {y.shape}."
        )
    if not np.isin(y, (0, 1)).all():
        raise DataError("labels must be 0/1; encode genres with GenreVocabulary.encode.")
    names = list(genres) if genres is not None else [f"column {j}" for j in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise DataError(f"expected {y.shape[1]} genre names, received {len(names)}.")
    if y.shape[1] < 2:
        raise DataError(
            f"a genre model needs at least 2 genres, received {y.shape[1]} "
            f"({', '.join(names) or 'none'}); {fix}.",
            parameter=parameter,
        )
    counts = y.sum(axis=0)
    n = y.shape[0]
    for j, count in enumerate(counts):
        if count == n or count == 0:
            which = "every one" if count == n else "none"
            raise DataError(
                f"genre {names[j]!r} is on {which} of the {n} training movies, "
                f"so there is nothing to learn for it; {fix}.",
                parameter=parameter,
            )
    return y.astype(np.uint8)


class GenreVocabulary:
    """An ordered, immutable list of genres; column ``j`` of ``Y`` is ``genres[j]``.

    Parameters
    ----------
    genres : the genre names in column order (unique, non-empty).

    Raises
    ------
    DataError
        If the names are empty, repeated or not strings.

    Examples
    --------
    >>> vocab = GenreVocabulary(["Comedy", "Drama", "War"])
    >>> vocab.encode([("Drama",), ("War", "Comedy", "Western")]).tolist()
    [[0, 1, 0], [1, 0, 1]]
    >>> vocab.decode(np.array([[1, 0, 1]]))
    [('Comedy', 'War')]
    """

    def __init__(self, genres: Iterable[str]) -> None:
        names = tuple(genres)
        if not names:
            raise DataError("a genre vocabulary needs at least one genre, received none.")
        if any(not isinstance(g, str) or not g for g in names):
            raise DataError(f"genre names must be non-empty strings, received {names!r}.")
        if len(set(names)) != len(names):
            repeated = sorted(g for g, c in Counter(names).items() if c > 1)
            raise DataError(f"genre names must be unique, repeated: {', '.join(repeated)}.")
        self.genres: tuple[str, ...] = names
        self._index = {g: i for i, g in enumerate(names)}

    def __len__(self) -> int:
        return len(self.genres)

    def __iter__(self) -> Iterator[str]:
        return iter(self.genres)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GenreVocabulary) and self.genres == other.genres

    def __hash__(self) -> int:
        return hash(self.genres)

    def __repr__(self) -> str:
        return f"GenreVocabulary({list(self.genres)!r})"

    def index(self, genre: str) -> int:
        """Column of ``genre``.

        Raises
        ------
        DataError
            If the genre is not in the vocabulary.
        """
        try:
            return self._index[genre]
        except KeyError:
            raise DataError(f"unknown genre {genre!r}; known: {', '.join(self.genres)}.") from None

    def encode(self, genre_lists: Iterable[Iterable[str]]) -> NDArray[np.uint8]:
        """Binary label matrix of shape ``(n_movies, n_genres)``; unknown genres are ignored."""
        rows = list(genre_lists)
        Y = np.zeros((len(rows), len(self.genres)), dtype=np.uint8)
        for i, genres in enumerate(rows):
            for g in genres:
                j = self._index.get(g)
                if j is not None:
                    Y[i, j] = 1
        return Y

    def decode(self, Y: NDArray[np.integer] | NDArray[np.bool_]) -> list[tuple[str, ...]]:
        """Genre tuples of the rows of a ``(n_movies, n_genres)`` binary matrix."""
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != len(self.genres):
            raise DataError(
                f"expected a label matrix with {len(self.genres)} columns, "
                f"received shape {Y.shape}."
            )
        return [tuple(self.genres[j] for j in np.flatnonzero(row)) for row in Y]

    def check_same(self, other: GenreVocabulary | Sequence[str], *, what: str) -> None:
        """Raise if ``other`` lists different genres or the same ones in another order.

        Raises
        ------
        DataError
            Saying which genres differ and how to fix it.
        """
        theirs = tuple(other.genres if isinstance(other, GenreVocabulary) else other)
        if theirs == self.genres:
            return
        missing = [g for g in self.genres if g not in theirs]
        extra = [g for g in theirs if g not in self.genres]
        detail = (
            f"missing {missing}, extra {extra}"
            if missing or extra
            else "same genres in another order"
        )
        raise DataError(
            f"genre vocabulary mismatch with {what}: expected {list(self.genres)}, received "
            f"{list(theirs)} ({detail}); use data built with the same genres or retrain."
        )

    def to_json(self, path: str | Path) -> None:
        """Write the order as ``{"genres": [...]}`` (atomically)."""
        from recsys.fileio import write_json_atomic

        write_json_atomic(path, {"genres": list(self.genres)})

    @classmethod
    def from_json(cls, path: str | Path) -> GenreVocabulary:
        """Read a vocabulary written by :meth:`to_json`.

        Raises
        ------
        DataError
            If the file is not valid JSON with a ``genres`` list.
        """
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(payload["genres"])
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(
                f"{str(path)!r} is not a genre list ({error}); expected "
                '{"genres": ["Action", ...]} as save_labelled writes it.'
            ) from None
