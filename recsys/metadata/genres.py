"""TMDB movie genres: ids, names, the missing "Foreign" genre and MovieLens names.

TMDB tags movies with numeric genre ids (``genre_ids`` in list results, ``genres`` as
``{"id", "name"}`` objects in a movie's details). ``GET /genre/movie/list`` returns the
names, but not every id TMDB has used: 10769 "Foreign" was retired from the list while
older movies still carry it, so a lookup built from the list alone fails on them.
:func:`merge_genre_list` adds it back.

TMDB and MovieLens name genres differently ("Science Fiction" vs "Sci-Fi", "Family" vs
"Children"); :data:`TMDB_TO_MOVIELENS` maps one to the other, and TMDB genres with no
MovieLens counterpart ("History", "TV Movie", "Foreign") map to nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recsys.errors import DataError

__all__ = [
    "FOREIGN_GENRE_ID",
    "MOVIELENS_GENRES",
    "TMDB_MOVIE_GENRES",
    "TMDB_TO_MOVIELENS",
    "genre_names",
    "merge_genre_list",
    "to_movielens_genres",
]

#: The id TMDB uses for "Foreign" on older movies but leaves out of its genre list.
FOREIGN_GENRE_ID = 10769

#: TMDB's movie genres (``GET /genre/movie/list``, English) plus 10769 "Foreign".
TMDB_MOVIE_GENRES: Mapping[int, str] = {
    28: "Action",
    12: "Adventure",
    16: "Animation",
    35: "Comedy",
    80: "Crime",
    99: "Documentary",
    18: "Drama",
    10751: "Family",
    14: "Fantasy",
    36: "History",
    27: "Horror",
    10402: "Music",
    9648: "Mystery",
    10749: "Romance",
    878: "Science Fiction",
    10770: "TV Movie",
    53: "Thriller",
    10752: "War",
    37: "Western",
    FOREIGN_GENRE_ID: "Foreign",
}

#: The genres MovieLens uses (ml-latest-small and later releases).
MOVIELENS_GENRES: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

#: TMDB genre name -> MovieLens genre name, ``None`` where MovieLens has no such genre.
#: "Music" (concert films, music documentaries and musicals) is the nearest TMDB genre
#: to MovieLens' "Musical"; the match is approximate.
TMDB_TO_MOVIELENS: Mapping[str, str | None] = {
    "Action": "Action",
    "Adventure": "Adventure",
    "Animation": "Animation",
    "Comedy": "Comedy",
    "Crime": "Crime",
    "Documentary": "Documentary",
    "Drama": "Drama",
    "Family": "Children",
    "Fantasy": "Fantasy",
    "History": None,
    "Horror": "Horror",
    "Music": "Musical",
    "Mystery": "Mystery",
    "Romance": "Romance",
    "Science Fiction": "Sci-Fi",
    "TV Movie": None,
    "Thriller": "Thriller",
    "War": "War",
    "Western": "Western",
    "Foreign": None,
}


def merge_genre_list(response: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """Genre id -> name from a ``/genre/movie/list`` response, with 10769 "Foreign" added.

    Parameters
    ----------
    response : the JSON object (``{"genres": [{"id": 28, "name": "Action"}, ...]}``) or
        its ``genres`` list.

    Returns
    -------
    dict of int to str, sorted by id. Names from the response win over the built-in
    ones; ids the response leaves out that TMDB still uses (10769) are added.

    Raises
    ------
    DataError
        If the response has no list of ``{"id", "name"}`` objects.

    Examples
    --------
    >>> merge_genre_list({"genres": [{"id": 28, "name": "Action"}]})
    {28: 'Action', 10769: 'Foreign'}
    """
    items = response.get("genres") if isinstance(response, Mapping) else response
    if items is None or isinstance(items, (str, bytes)):
        raise DataError(
            "the genre list response has no 'genres' list; expected "
            "{'genres': [{'id': 28, 'name': 'Action'}, ...]}."
        )
    result: dict[int, str] = {}
    for item in items:
        try:
            result[int(item["id"])] = str(item["name"])
        except (KeyError, TypeError, ValueError):
            raise DataError(
                f"a genre in the genre list is not an {{'id', 'name'}} object: received {item!r}."
            ) from None
    result.setdefault(FOREIGN_GENRE_ID, TMDB_MOVIE_GENRES[FOREIGN_GENRE_ID])
    return dict(sorted(result.items()))


def genre_names(ids: Iterable[int], lookup: Mapping[int, str] | None = None) -> tuple[str, ...]:
    """TMDB genre names of ``ids``; unknown ids become ``"genre <id>"`` (never dropped).

    >>> genre_names([878, 10769, 1])
    ('Science Fiction', 'Foreign', 'genre 1')
    """
    table = TMDB_MOVIE_GENRES if lookup is None else lookup
    return tuple(table.get(int(i), f"genre {int(i)}") for i in ids)


def to_movielens_genres(names: Iterable[str]) -> tuple[str, ...]:
    """Map TMDB genre names to MovieLens names, in order, without duplicates.

    TMDB genres with no MovieLens counterpart (and unknown names) are left out.

    >>> to_movielens_genres(["Science Fiction", "Family", "History", "Action"])
    ('Sci-Fi', 'Children', 'Action')
    """
    out: list[str] = []
    for name in names:
        mapped = TMDB_TO_MOVIELENS.get(name)
        if mapped is not None and mapped not in out:
            out.append(mapped)
    return tuple(out)
