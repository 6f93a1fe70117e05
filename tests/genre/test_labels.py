"""Genre vocabulary, rare-genre filtering and the TMDB -> MovieLens map."""

from __future__ import annotations

import numpy as np
import pytest

from genre.labels import (
    GenreVocabulary,
    rare_genres,
    tmdb_ids_to_names,
    tmdb_to_movielens,
)
from recsys.errors import DataError


def test_encode_decode_round_trip_in_the_fixed_order():
    vocab = GenreVocabulary(["War", "Comedy", "Drama"])   # order kept as given
    Y = vocab.encode([("Drama",), ("Comedy", "War"), (), ("Western",)])
    assert Y.tolist() == [[0, 0, 1], [1, 1, 0], [0, 0, 0], [0, 0, 0]]
    assert vocab.decode(Y) == [("Drama",), ("War", "Comedy"), (), ()]
    assert vocab.index("Comedy") == 1


def test_json_round_trip_and_mismatch(tmp_path):
    vocab = GenreVocabulary(["Comedy", "Drama"])
    vocab.to_json(tmp_path / "genres.json")
    assert GenreVocabulary.from_json(tmp_path / "genres.json") == vocab
    vocab.check_same(["Comedy", "Drama"], what="x")
    with pytest.raises(DataError, match="another order"):
        vocab.check_same(["Drama", "Comedy"], what="x")
    with pytest.raises(DataError, match=r"missing \['Drama'\], extra \['War'\]"):
        vocab.check_same(GenreVocabulary(["Comedy", "War"]), what="x")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="not a genre list"):
        GenreVocabulary.from_json(tmp_path / "bad.json")


@pytest.mark.parametrize("names", [[], ["Drama", "Drama"], ["Drama", ""]])
def test_bad_vocabularies(names):
    with pytest.raises(DataError):
        GenreVocabulary(names)


def test_rare_genres_uses_the_fraction_of_movies():
    lists = [("Drama",)] * 6 + [("Comedy", "Drama")] * 3 + [("War",)] + [("(no genres listed)",)]
    kept, dropped = rare_genres(lists, 0.25)
    assert kept == ["Comedy", "Drama"] and dropped == ["War"]
    assert rare_genres(lists, 0.0)[1] == []
    with pytest.raises(DataError, match="drops every genre"):
        rare_genres(lists, 0.9)
    with pytest.raises(DataError, match=r"\[0, 1\)"):
        rare_genres(lists, 1.5)


def test_tmdb_mapping():
    assert tmdb_to_movielens(["Science Fiction", "Family", "Music", "TV Movie", "History",
                              "Foreign", "Drama", "Drama"]) == ("Sci-Fi", "Children",
                                                                "Musical", "Drama")
    assert tmdb_ids_to_names([878, 10751, 10769, 424242]) == ("Science Fiction", "Family",
                                                              "Foreign")
    # Mapped names all exist in MovieLens' vocabulary.
    from recsys.data import load_dataset

    movielens_genres = {g for gs in load_dataset().movies["genres"] for g in gs}
    mapped = set(tmdb_to_movielens(tmdb_ids_to_names(range(100000))))
    assert mapped <= movielens_genres
    assert np.all([isinstance(g, str) for g in mapped])
