"""Genre vocabulary, rare-genre filtering and the TMDB -> MovieLens map."""

from __future__ import annotations

import numpy as np
import pytest

from genre.data.labels import GenreVocabulary, rare_genres, tmdb_labels
from recsys.errors import DataError
from recsys.metadata.genres import TMDB_MOVIE_GENRES, genre_names


def test_encode_decode_round_trip_in_the_fixed_order():
    vocab = GenreVocabulary(["War", "Comedy", "Drama"])  # order kept as given
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


def test_tmdb_labels_use_the_one_mapping_and_count_what_they_drop():
    labels, unmapped = tmdb_labels(
        [
            ("Science Fiction", "Family", "Music", "TV Movie", "Drama", "Drama"),
            ("History", "Foreign"),
            genre_names([878, 424242]),  # the store's name for an unknown id
            (),
        ]
    )
    assert labels == [("Sci-Fi", "Children", "Musical", "Drama"), (), ("Sci-Fi",), ()]
    assert unmapped == {"TV Movie": 1, "History": 1, "Foreign": 1, "genre 424242": 1}
    # Mapped names all exist in MovieLens' vocabulary.
    from recsys.data import load_dataset

    movielens_genres = {g for gs in load_dataset().movies["genres"] for g in gs}
    mapped = {g for lst in tmdb_labels([tuple(TMDB_MOVIE_GENRES.values())])[0] for g in lst}
    assert mapped <= movielens_genres and len(mapped) == len(TMDB_MOVIE_GENRES) - 3
    assert np.all([isinstance(g, str) for g in mapped])


def test_check_training_labels_refuses_what_no_model_can_learn():
    from genre.data.labels import check_training_labels

    good = np.array([[1, 0], [0, 1], [1, 1]])
    assert check_training_labels(good, ["A", "B"]).tolist() == good.tolist()
    with pytest.raises(DataError, match=r"at least 2 genres, received 1 \(Drama\); do X\."):
        check_training_labels([[1], [0]], ["Drama"], fix="do X")
    with pytest.raises(DataError, match="genre 'A' is on every one of the 3 training movies"):
        check_training_labels([[1, 0], [1, 1], [1, 0]], ["A", "B"])
    with pytest.raises(DataError, match="genre 'B' is on none of the 3 training movies"):
        check_training_labels([[1, 0], [0, 0], [1, 0]], ["A", "B"])
    with pytest.raises(DataError, match="0/1"):
        check_training_labels([[2, 0], [0, 1]])
