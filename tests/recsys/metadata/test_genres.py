from __future__ import annotations

import pytest

from recsys.errors import DataError
from recsys.metadata.genres import (
    FOREIGN_GENRE_ID,
    MOVIELENS_GENRES,
    TMDB_MOVIE_GENRES,
    TMDB_TO_MOVIELENS,
    genre_names,
    merge_genre_list,
    to_movielens_genres,
)


def test_foreign_is_added_when_tmdb_leaves_it_out():
    merged = merge_genre_list(
        {"genres": [{"id": 28, "name": "Action"}, {"id": 878, "name": "Science Fiction"}]}
    )
    assert merged == {28: "Action", 878: "Science Fiction", FOREIGN_GENRE_ID: "Foreign"}


def test_names_from_tmdb_win_over_builtin_ones():
    merged = merge_genre_list([{"id": 10769, "name": "Ausländisch"}, {"id": 28, "name": "Akcja"}])
    assert merged == {28: "Akcja", 10769: "Ausländisch"}


@pytest.mark.parametrize(
    "bad",
    [
        {"results": []},
        {"genres": [{"id": "x", "name": "A"}]},
        {"genres": [{"name": "A"}]},
        {"genres": "Action"},
    ],
)
def test_malformed_genre_list_is_one_clear_error(bad):
    with pytest.raises(DataError, match="genre"):
        merge_genre_list(bad)


def test_every_tmdb_genre_has_a_mapping_to_a_real_movielens_genre_or_none():
    assert set(TMDB_TO_MOVIELENS) == set(TMDB_MOVIE_GENRES.values())
    for name, mapped in TMDB_TO_MOVIELENS.items():
        assert mapped is None or mapped in MOVIELENS_GENRES, name


def test_mapping_of_the_renamed_genres():
    assert to_movielens_genres(["Science Fiction", "Family", "Music"]) == (
        "Sci-Fi",
        "Children",
        "Musical",
    )
    # No MovieLens counterpart: dropped, order and uniqueness kept.
    assert to_movielens_genres(["History", "Drama", "Foreign", "TV Movie", "Drama"]) == ("Drama",)
    assert to_movielens_genres([]) == ()


def test_genre_names_keeps_unknown_ids_visible():
    assert genre_names([10769, 12345]) == ("Foreign", "genre 12345")
    assert genre_names([28], {28: "Akcja"}) == ("Akcja",)
