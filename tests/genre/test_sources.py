"""Reading metadata for genre prediction: a CSV and the store made from it agree."""

from __future__ import annotations

import pandas as pd
import pytest

from genre.data.dataset import build_labelled
from genre.data.sources import METADATA_COLUMNS, read_metadata
from recsys.errors import DataError
from recsys.metadata import MetadataStore, import_metadata


def test_reads_enriched_layout(metadata_csv):
    meta = read_metadata(metadata_csv)
    assert meta.columns.tolist() == list(METADATA_COLUMNS)
    assert meta["movie_id"].is_monotonic_increasing and meta["movie_id"].iloc[0] == 1
    toy_story = meta.iloc[0]
    # movies_enriched.csv: MovieLens genres, no TMDB ones, the year from the title.
    assert toy_story["movielens_genres"] == (
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Fantasy",
    )
    assert toy_story["tmdb_genres"] == () and toy_story["year"] == 1995


def test_tmdb_genres_from_names_or_ids(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(
        "movie_id,overview,tmdb_genres,release_date\n1,a,Science Fiction|Drama,1999-03-31\n2,b,,\n"
    )
    meta = read_metadata(path)
    assert meta["tmdb_genres"].tolist() == [("Science Fiction", "Drama"), ()]
    assert meta["year"].tolist()[0] == 1999 and pd.isna(meta["year"].iloc[1])
    # Ids only: names from recsys.metadata.genres, unknown ids as the store writes them.
    path.write_text("movieId,overview,genre_ids\n1,a,878|18|424242\n")
    assert read_metadata(path)["tmdb_genres"].tolist() == [
        ("Science Fiction", "Drama", "genre 424242")
    ]


def test_genres_column_with_tmdb_names_gives_tmdb_labels(tmp_path):
    """A movies_enriched-like CSV whose ``genres`` are TMDB names works with --labels tmdb."""
    path = tmp_path / "tmdbgenres.csv"
    path.write_text(
        "movieId,title,genres,tmdbId,overview\n"
        "1,Toy Story,Animation|Family,862,toys\n"
        "2,Heat,Crime|Thriller,949,heist\n"
    )
    meta = read_metadata(path)
    assert meta["tmdb_genres"].tolist() == [("Animation", "Family"), ("Crime", "Thriller")]
    assert meta["movielens_genres"].tolist() == [(), ()]


def _csv_with_tmdb_genres(path, movielens, n=60):
    """TMDB genre names (one unknown to MovieLens: History) and a few blank overviews."""
    movies = movielens.movies.head(n)
    tmdb = ["Science Fiction|History", "Romance|Drama", "Comedy|Family", "Crime|Thriller"]
    pd.DataFrame(
        {
            "movieId": movies["movie_id"],
            "title": movies["title"],
            "genres": [tmdb[i % len(tmdb)] for i in range(n)],
            "tmdbId": movies["tmdb_id"],
            "overview": ["" if i % 17 == 5 else f"story number {i}" for i in range(n)],
        }
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("labels", ["tmdb", "tmdb-mapped", "movielens"])
def test_csv_and_store_give_the_same_labelled_set(tmp_path, movielens, labels):
    csv = _csv_with_tmdb_genres(tmp_path / "tmdbgenres.csv", movielens)
    with MetadataStore(tmp_path / "store.sqlite") as store:
        import_metadata(store, csv, progress=False)
    built = [
        build_labelled(
            read_metadata(path),
            movielens.movies,
            labels=labels,
            min_genre_fraction=0.1,
            fractions=(0.6, 0.2, 0.2),
            seed=1,
        )
        for path in (csv, tmp_path / "store.sqlite")
    ]
    pd.testing.assert_frame_equal(built[0].frame, built[1].frame)
    assert built[0].genres == built[1].genres
    assert built[0].manifest == built[1].manifest
    assert built[0].manifest["dropped_movies"]["no_overview"] == 4
    if labels == "tmdb":  # TMDB's names, History included
        assert built[0].genres == (
            "Comedy",
            "Crime",
            "Drama",
            "Family",
            "History",
            "Romance",
            "Science Fiction",
            "Thriller",
        )
        assert built[0].manifest["unmapped_tmdb_genres"] == {}
    if labels == "tmdb-mapped":
        assert built[0].genres == (
            "Children",
            "Comedy",
            "Crime",
            "Drama",
            "Romance",
            "Sci-Fi",
            "Thriller",
        )
        # History has no MovieLens name: dropped, and counted.
        assert built[0].manifest["unmapped_tmdb_genres"] == {"History": 14}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("movieId,title\n1,a\n", "no 'overview' text column"),
        ("title,overview\nA,a\n", "no movieId"),
        ("id,overview\n1,a\n", "lacks the title column"),
        ("movieId,overview\nx,a\n", "not a number"),
        ("movieId,overview\n1,a\n1,b\n", "more than once"),
        ("movieId,overview\n1,\n2,\n", "has no overviews"),
        ("", "cannot read"),
    ],
)
def test_bad_csv(tmp_path, text, message):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_metadata(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "nowhere.csv")
