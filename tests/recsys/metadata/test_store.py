from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from recsys.errors import DataError
from recsys.metadata import load_metadata, write_metadata_csv
from recsys.metadata.frame import METADATA_COLUMNS, join_movies
from recsys.metadata.store import MetadataStore


def fill(store: MetadataStore) -> None:
    store.upsert_movie(
        1,
        tmdb_id=862,
        imdb_id="tt0114709",
        title="Toy Story",
        overview="Toys.",
        genre_ids=[16, 35],
        tmdb_genres=["Animation", "Comedy"],
        runtime=81,
        vote_average=7.9,
        poster_path="/a.jpg",
        poster_file="/tmp/862_w185.jpg",
        poster_sha256="ab" * 32,
        poster_status="ok",
        status="ok",
    )
    store.upsert_movie(
        2,
        tmdb_id=8844,
        title="Jumanji",
        overview="  ",
        movielens_genres=["Adventure"],
        status="ok",
        source="import:x.csv",
    )
    store.upsert_movie(3, tmdb_id=999999, status="missing", detail="HTTP 404")
    store.upsert_movie(4, tmdb_id=5, status="failed", detail="HTTP 500", attempts_add=1)


def test_upserts_never_duplicate_and_keep_unchanged_fields(tmp_path):
    with MetadataStore(tmp_path / "m.sqlite") as store:
        fill(store)
        fill(store)
        store.upsert_movie(4, status="ok", title="Five", attempts_add=1)
        assert len(store) == 4
        row = store.get(4)
        assert (row["status"], row["title"], row["tmdb_id"], row["attempts"]) == (
            "ok",
            "Five",
            5,
            3,
        )
        store.upsert_movie(1, overview="New.")  # partial update: the rest stays
        assert store.get(1)["genre_ids"] == (16, 35)
        assert store.get(1)["overview"] == "New."


def test_partial_update_of_an_unknown_movie_and_bad_status_are_errors(tmp_path):
    with MetadataStore(tmp_path / "m.sqlite") as store:
        with pytest.raises(DataError, match="needs a status"):
            store.upsert_movie(7, overview="x")
        with pytest.raises(DataError, match="status must be"):
            store.upsert_movie(7, status="done")
        with pytest.raises(KeyError):
            store.upsert_movie(7, status="ok", colour="red")
        assert len(store) == 0


def test_coverage_counts(tmp_path):
    with MetadataStore(tmp_path / "m.sqlite") as store:
        fill(store)
        store.register_links(
            pd.DataFrame(
                {
                    "movie_id": [1, 2, 3, 4, 5, 6],
                    "tmdb_id": [862, 8844, 999999, 5, 6, None],
                    "imdb_id": [None] * 6,
                }
            )
        )
        assert store.coverage() == {
            "movies": 4,
            "ok": 2,
            "missing": 1,
            "failed": 1,
            "overview": 1,  # a blank overview does not count
            "genres": 2,
            "tmdb_genres": 1,
            "poster": 1,
            "poster_missing": 0,
            "poster_failed": 0,
            "links": 6,
            "pending": 2,
        }


def test_committed_rows_survive_reopen_in_wal_mode(tmp_path):
    path = tmp_path / "m.sqlite"
    store = MetadataStore(path)
    fill(store)
    # Another connection sees the rows at once: every upsert was committed.
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT COUNT(*) FROM movies").fetchone()[0] == 4
    store.close()
    with MetadataStore(path, readonly=True) as again:
        assert again.get(3)["detail"] == "HTTP 404"


def test_frame_has_the_canonical_columns_and_types(tmp_path):
    with MetadataStore(tmp_path / "m.sqlite") as store:
        fill(store)
        frame = store.to_frame()
    assert tuple(frame.columns) == METADATA_COLUMNS
    assert frame["movie_id"].tolist() == [1, 2, 3, 4]
    assert str(frame["tmdb_id"].dtype) == "Int64"
    assert frame.loc[0, "genre_ids"] == (16, 35)
    assert frame.loc[2, "genre_ids"] == () and frame.loc[2, "overview"] == ""
    assert frame.loc[1, "movielens_genres"] == ("Adventure",)
    assert frame.loc[2, "imdb_id"] is None
    assert frame["status"].tolist() == ["ok", "ok", "missing", "failed"]


def test_load_metadata_reads_a_store_and_its_csv_export_alike(tmp_path):
    path = tmp_path / "m.sqlite"
    with MetadataStore(path) as store:
        fill(store)
    from_store = load_metadata(path)
    write_metadata_csv(from_store, tmp_path / "meta.csv")
    from_csv = load_metadata(tmp_path / "meta.csv")
    pd.testing.assert_frame_equal(from_store, from_csv)


def test_join_movies_gives_one_row_per_movielens_movie(tmp_path):
    path = tmp_path / "m.sqlite"
    with MetadataStore(path) as store:
        fill(store)
    movies = pd.DataFrame(
        {
            "movie_id": [4, 1, 50],
            "title": ["Five (1990)", "T", "Fifty (2001)"],
            "genres": [("Drama",), ("Comedy",), ()],
            "imdb_id": [None, "tt0114709", "tt0000050"],
            "tmdb_id": pd.array([5, 862, 50], dtype="Int64"),
        }
    )
    joined = load_metadata(path, movies=movies)
    assert joined["movie_id"].tolist() == [4, 1, 50]
    assert joined["status"].tolist() == ["failed", "ok", "pending"]
    assert joined.loc[2, "tmdb_id"] == 50 and joined.loc[2, "imdb_id"] == "tt0000050"
    assert joined.loc[0, "movielens_genres"] == ("Drama",)
    assert tuple(join_movies(movies.iloc[:0], load_metadata(path)).columns) == METADATA_COLUMNS


def test_other_files_are_not_taken_for_a_store(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(DataError, match="not a metadata store"):
        MetadataStore(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(DataError, match="not a metadata store"):
        MetadataStore(other)
    with pytest.raises(DataError, match="no metadata store"):
        MetadataStore(tmp_path / "absent.sqlite", readonly=True)
    with pytest.raises(DataError, match="no metadata at"):
        load_metadata(tmp_path / "absent.sqlite")


def test_genres_and_popular_tables(tmp_path):
    with MetadataStore(tmp_path / "m.sqlite") as store:
        store.set_genres({878: "Science Fiction", 10769: "Foreign"})
        assert store.genres() == {878: "Science Fiction", 10769: "Foreign"}
        store.upsert_popular(
            [{"tmdb_id": 5, "rank": 1, "page": 1, "title": "A", "genre_ids": [18]}]
        )
        store.upsert_popular(
            [{"tmdb_id": 5, "rank": 3, "page": 1, "title": "A2", "genre_ids": [18, 35]}]
        )
        frame = store.popular_frame()
    assert len(frame) == 1 and frame.loc[0, "title"] == "A2"
    assert frame.loc[0, "genre_ids"] == (18, 35)
