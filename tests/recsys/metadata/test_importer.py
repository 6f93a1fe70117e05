"""Import of a metadata CSV and a posters folder, on tiny fixtures and on the shared data."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from recsys.errors import DataError
from recsys.metadata import import_metadata, load_metadata, read_metadata_csv
from recsys.metadata.store import MetadataStore
from tests.recsys.metadata.fake_tmdb import make_jpeg

CSV = """movieId,title,genres,imdbId,tmdbId,overview,tagline,runtime,tmdb_rating
1,Toy Story (1995),Adventure|Animation|Children,114709,862.0,"Toys, alive.",Fun!,81.0,7.97
2,Jumanji (1995),Adventure|Children|Fantasy,113497,8844.0,,,104.0,7.2
3,Nothing Known (1990),(no genres listed),100003,5000.0,,,,
4,No Link (1991),Drama,100004,,,,,
"""


def make_folder(tmp_path):
    """Posters 1 (good), 2 (checksum wrong in the index), 3 (truncated, no index entry), 9."""
    folder = tmp_path / "posters" / "images"
    folder.mkdir(parents=True)
    good = make_jpeg(1)
    (folder / "1.jpg").write_bytes(good)
    (folder / "2.jpg").write_bytes(make_jpeg(2))
    (folder / "3.jpg").write_bytes(make_jpeg(3)[:300])
    (folder / "9.jpg").write_bytes(make_jpeg(9))
    index = [
        "movieId,imdbId,tmdbId,path,width,height,bytes,sha256,title,genres",
        f"1,0114709,862,images/1.jpg,46,68,{len(good)},"
        f"{hashlib.sha256(good).hexdigest()},Toy Story (1995),Adventure",
        f"2,0113497,8844,images/2.jpg,46,68,1,{'0' * 64},Jumanji (1995),Adventure",
        f"9,0100009,9009,images/9.jpg,46,68,1,"
        f"{hashlib.sha256(make_jpeg(9)).hexdigest()},Only A Poster (2001),Comedy|Drama",
    ]
    (folder.parent / "posters_index.csv").write_text("\n".join(index) + "\n", encoding="utf-8")
    return folder


def test_csv_columns_map_to_the_canonical_frame(tmp_path):
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    frame = read_metadata_csv(tmp_path / "m.csv").set_index("movie_id")
    assert frame.loc[1, "movielens_genres"] == ("Adventure", "Animation", "Children")
    assert frame.loc[1, "tmdb_genres"] == () and frame.loc[1, "genre_ids"] == ()
    assert frame.loc[1, "imdb_id"] == "tt0114709" and frame.loc[1, "tmdb_id"] == 862
    assert frame.loc[1, "vote_average"] == pytest.approx(7.97)
    assert frame.loc[1, "runtime"] == 81 and frame.loc[1, "overview"] == "Toys, alive."
    assert frame.loc[2, "overview"] == "" and frame.loc[2, "status"] == "ok"
    assert frame.loc[3, "movielens_genres"] == ()
    assert frame.loc[3, "status"] == "missing" and "no TMDB data" in frame.loc[3, "detail"]
    assert frame.loc[4, "status"] == "missing" and "no TMDB id" in frame.loc[4, "detail"]
    assert set(frame["source"]) == {"import:m.csv"}


def test_tmdb_genre_names_become_tmdb_genres_with_ids(tmp_path):
    (tmp_path / "t.csv").write_text(
        "movieId,tmdbId,genres,overview\n1,603,Action|Science Fiction,Neo.\n", encoding="utf-8"
    )
    frame = read_metadata_csv(tmp_path / "t.csv")
    assert frame.loc[0, "tmdb_genres"] == ("Action", "Science Fiction")
    assert frame.loc[0, "genre_ids"] == (28, 878)
    assert frame.loc[0, "movielens_genres"] == ()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("title,overview\nA,B\n", "no movieId"),
        ("movieId,overview\nx,B\n", "not a number"),
        ("movieId,overview\n1,B\n1,C\n", "more than once"),
        ("movieId,genres\n1,Action|Sci-Fi|Science Fiction|Cooking\n", "genres column is neither"),
        ("movieId,genres\n1,Action|Sci-Fi|Science Fiction\n", "mix MovieLens"),
        ("movieId,runtime\n1,long\n", "runtime 'long'"),
    ],
)
def test_bad_csvs_are_one_clear_error(tmp_path, text, match):
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=match):
        read_metadata_csv(tmp_path / "bad.csv")


def test_import_with_posters_gives_the_expected_coverage(tmp_path):
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    folder = make_folder(tmp_path)
    with MetadataStore(tmp_path / "s.sqlite") as store:
        report = import_metadata(store, tmp_path / "m.csv", posters_dir=folder, progress=False)
        coverage = store.coverage()
        frame = store.to_frame().set_index("movie_id")
    assert (report.rows, report.poster_only, report.written) == (4, 1, 5)
    assert (report.posters, report.posters_rejected) == (2, 2)
    assert {
        k: coverage[k]
        for k in ("movies", "ok", "missing", "overview", "genres", "tmdb_genres", "poster")
    } == {
        "movies": 5,
        "ok": 2,
        "missing": 3,
        "overview": 1,
        "genres": 4,
        "tmdb_genres": 0,
        "poster": 2,
    }
    assert frame.loc[1, "poster_file"] == str(folder / "1.jpg")
    assert frame.loc[1, "poster_sha256"] == hashlib.sha256(make_jpeg(1)).hexdigest()
    assert frame.loc[2, "poster_status"] == "failed" and "sha256" in frame.loc[2, "detail"]
    assert frame.loc[3, "poster_status"] == "failed" and "image" in frame.loc[3, "detail"]
    assert frame.loc[9, "title"] == "Only A Poster (2001)" and frame.loc[9, "status"] == "missing"
    assert frame.loc[9, "movielens_genres"] == ("Comedy", "Drama")


def test_reimport_changes_nothing_and_fetched_rows_are_kept(tmp_path):
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    with MetadataStore(tmp_path / "s.sqlite") as store:
        store.upsert_movie(
            1, tmdb_id=862, title="Toy Story", overview="From TMDB.", status="ok", source="tmdb"
        )
        report = import_metadata(store, tmp_path / "m.csv", progress=False)
        first = store.to_frame().drop(columns="updated_at")
        again = import_metadata(store, tmp_path / "m.csv", progress=False)
        assert report.kept == again.kept == 1
        pd.testing.assert_frame_equal(first, store.to_frame().drop(columns="updated_at"))
        assert len(store) == 4 and store.get(1)["overview"] == "From TMDB."
        import_metadata(store, tmp_path / "m.csv", overwrite=True, progress=False)
        assert store.get(1)["overview"] == "Toys, alive."


def test_posters_can_be_copied_into_the_store_folder(tmp_path):
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    folder = make_folder(tmp_path)
    copies = tmp_path / "copies"
    with MetadataStore(tmp_path / "s.sqlite") as store:
        import_metadata(
            store, tmp_path / "m.csv", posters_dir=folder, copy_posters_to=copies, progress=False
        )
        row = store.get(1)
    assert row["poster_file"] == str(copies / "1.jpg")
    assert (copies / "1.jpg").read_bytes() == make_jpeg(1)
    assert sorted(p.name for p in copies.iterdir()) == ["1.jpg", "9.jpg"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_import_of_the_shared_metadata_and_posters(shared_data, tmp_path):
    csv = shared_data / "tmdb-overviews" / "movies_enriched.csv"
    images = shared_data / "posters" / "images"
    # Expectations computed from the files themselves, independently of the importer.
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    index = pd.read_csv(shared_data / "posters" / "posters_index.csv", dtype=str)
    has_file = [(images.parent / p).is_file() for p in index["path"]]
    expected_posters = int(sum(has_file))
    extra = set(index["movieId"].astype(int)) - set(raw["movieId"].astype(int))
    with MetadataStore(tmp_path / "s.sqlite") as store:
        report = import_metadata(store, csv, posters_dir=images, progress=False)
        coverage = store.coverage()
    assert report.rows == len(raw) and report.poster_only == len(extra)
    assert coverage["movies"] == len(raw) + len(extra)
    assert coverage["overview"] == int((raw["overview"].str.strip() != "").sum())
    assert coverage["genres"] == int((raw["genres"] != "(no genres listed)").sum()) + len(extra)
    assert coverage["poster"] == expected_posters and report.posters_rejected == 0
    meta = load_metadata(tmp_path / "s.sqlite")
    toy = meta.set_index("movie_id").loc[1]
    assert toy["tmdb_id"] == 862 and toy["poster_file"] == str(images / "1.jpg")
    assert toy["poster_sha256"] == index.set_index("movieId").loc["1", "sha256"]


def test_index_entries_are_read_from_the_posters_folder_given(tmp_path):
    """An index describing another folder judges the files of the folder given, by name."""
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    indexed = make_folder(tmp_path)  # posters/images + posters/posters_index.csv
    other = tmp_path / "other"
    other.mkdir()
    (other / "1.jpg").write_bytes(make_jpeg(1))  # the indexed bytes: accepted
    (other / "9.jpg").write_bytes(make_jpeg(9)[:200])  # corrupt copy: sha256 differs
    # 2 is indexed (with a wrong checksum) but not in `other`: missing, not taken from images/
    with MetadataStore(tmp_path / "s.sqlite") as store:
        report = import_metadata(
            store,
            tmp_path / "m.csv",
            posters_dir=other,
            posters_index=indexed.parent / "posters_index.csv",
            progress=False,
        )
        frame = store.to_frame().set_index("movie_id")
    assert (report.posters, report.posters_rejected, report.posters_missing) == (1, 1, 1)
    assert "1 movies listed in the posters index have no poster in the posters folder" in (
        report.summary()
    )
    assert frame.loc[1, "poster_file"] == str(other / "1.jpg")
    assert frame.loc[9, "poster_status"] == "failed" and "sha256" in frame.loc[9, "detail"]
    assert frame.loc[2, "poster_file"] is None and frame.loc[2, "poster_status"] is None
    assert not any(str(indexed) in str(f) for f in frame["poster_file"])
    assert report.poster_only == 1  # 9, whose (corrupt) file is there


def test_a_parent_index_is_not_applied_to_a_sibling_folder(tmp_path):
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    indexed = make_folder(tmp_path)
    mine = indexed.parent / "mine"  # posters/mine beside posters/images
    mine.mkdir()
    (mine / "2.jpg").write_bytes(make_jpeg(5))  # not the indexed bytes, but a good image
    (mine / "3.jpg").write_bytes(make_jpeg(3)[:300])  # truncated: the full decode catches it
    with MetadataStore(tmp_path / "s.sqlite") as store:
        report = import_metadata(store, tmp_path / "m.csv", posters_dir=mine, progress=False)
        frame = store.to_frame().set_index("movie_id")
    assert (report.posters, report.posters_rejected, report.posters_missing) == (1, 1, 0)
    assert frame.loc[2, "poster_file"] == str(mine / "2.jpg")
    assert frame.loc[3, "poster_status"] == "failed" and "image" in frame.loc[3, "detail"]
    assert report.poster_only == 0 and len(frame) == 4  # the index's 9 is not in `mine`


def test_index_entries_without_a_checksum_must_decode(tmp_path):
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "1.jpg").write_bytes(make_jpeg(1))
    (folder / "2.jpg").write_bytes(make_jpeg(2)[:300])
    (folder / "posters_index.csv").write_text(
        "movieId,path\n1,1.jpg\n2,x/2.jpg\n3,3.jpg\n", encoding="utf-8"
    )
    with MetadataStore(tmp_path / "s.sqlite") as store:
        report = import_metadata(store, tmp_path / "m.csv", posters_dir=folder, progress=False)
        frame = store.to_frame().set_index("movie_id")
    assert (report.posters, report.posters_rejected, report.posters_missing) == (1, 1, 1)
    assert frame.loc[2, "poster_status"] == "failed" and "image" in frame.loc[2, "detail"]


def test_an_index_needs_the_posters_folder(tmp_path):
    (tmp_path / "m.csv").write_text(CSV, encoding="utf-8")
    make_folder(tmp_path)
    with (
        MetadataStore(tmp_path / "s.sqlite") as store,
        pytest.raises(DataError, match="a posters index needs the posters folder"),
    ):
        import_metadata(
            store, tmp_path / "m.csv", posters_index=tmp_path / "posters" / "posters_index.csv"
        )
