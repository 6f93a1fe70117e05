"""Reading metadata CSV files (the store path is tested in test_cli)."""

from __future__ import annotations

import pytest

from genre.sources import read_metadata
from recsys.errors import DataError


def test_reads_enriched_layout(metadata_csv):
    meta = read_metadata(metadata_csv)
    assert meta.columns.tolist() == ["movie_id", "title", "overview", "tmdb_genres", "year"]
    assert meta["movie_id"].is_monotonic_increasing and meta["movie_id"].iloc[0] == 1


def test_tmdb_genres_from_names_or_ids(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("movie_id,overview,tmdb_genres,release_date\n"
                    "1,a,Science Fiction|Drama,1999-03-31\n2,b,,\n")
    meta = read_metadata(path)
    assert meta["tmdb_genres"].tolist() == [("Science Fiction", "Drama"), ()]
    assert meta["year"].tolist()[0] == 1999
    path.write_text("movieId,overview,genre_ids\n1,a,878|18\n")
    assert read_metadata(path)["tmdb_genres"].tolist() == [("Science Fiction", "Drama")]


@pytest.mark.parametrize(("text", "message"), [
    ("movieId,title\n1,a\n", "no 'overview' text column"),
    ("id,overview\n1,a\n", "no movie id column"),
    ("movieId,overview\nx,a\n", "not an integer"),
    ("movieId,overview\n1,a\n1,b\n", "more than once"),
    ("", "is empty"),
])
def test_bad_csv(tmp_path, text, message):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_metadata(path)
