"""``recsys metadata import`` of TMDB's export layout: links only, TMDB's status apart.

Hand-made files: an export keyed by TMDB id (``genres`` as JSON and in the Python form
of Kaggle's dumps, TMDB's ``status``) and a links table tying TMDB 11 to MovieLens 260
and TMDB 862 to MovieLens 1. TMDB id 2 is in the export and not in the links: the store
must not file it under MovieLens movie 2.
"""

from __future__ import annotations

import pytest

from recsys.errors import DataError, InvalidParameterError
from recsys.metadata import (
    MetadataStore,
    import_metadata,
    load_metadata,
    read_metadata_csv,
    write_metadata_csv,
)
from recsys.metadata.fetch import read_links
from tests.recsys.metadata.test_cli import recsys

EXPORT = (
    "id,imdb_id,title,overview,genres,status,release_date,runtime,vote_average,vote_count\n"
    '11,tt0076759,Star Wars,Princess Leia is held hostage.,"[{""id"": 12, ""name"": '
    '""Adventure""}, {""id"": 878, ""name"": ""Science Fiction""}]",Released,1977-05-25,'
    "121,8.1,6778\n"
    "2,tt0094675,Ariel,A Finnish coal miner heads south.,\"[{'id': 18, 'name': 'Drama'}, "
    "{'id': 10769, 'name': 'Foreign'}]\",Released,1988-10-21,69,7.1,44\n"
    '862,tt0114709,Toy Story,Toys come alive.,"[{""id"": 10751, ""name"": ""Family""}]",'
    "Rumored,1995-10-30,81,7.7,5415\n"
)
LINKS = "movieId,imdbId,tmdbId\n260,0076759,11\n1,0114709,862\n"


@pytest.fixture
def files(tmp_path):
    export = tmp_path / "tmdb_export.csv"
    export.write_text(EXPORT, encoding="utf-8")
    links = tmp_path / "links.csv"
    links.write_text(LINKS, encoding="utf-8")
    return export, links


def test_export_rows_land_on_their_linked_movies(tmp_path, files):
    export, links = files
    with MetadataStore(tmp_path / "s.sqlite") as store:
        report = import_metadata(store, export, links=read_links(links), progress=False)
    assert (report.rows, report.written, report.unlinked) == (3, 2, 1)
    assert "left out 1 TMDB ids the links table does not list" in report.summary()
    frame = load_metadata(tmp_path / "s.sqlite").set_index("movie_id")
    assert sorted(frame.index) == [1, 260]  # never movie 2 (Jumanji) for TMDB id 2
    assert frame.loc[260, "tmdb_id"] == 11 and frame.loc[260, "title"] == "Star Wars"
    assert frame.loc[260, "tmdb_genres"] == ("Adventure", "Science Fiction")
    assert frame.loc[260, "genre_ids"] == (12, 878)
    assert frame.loc[260, "runtime"] == 121 and frame.loc[260, "vote_count"] == 6778
    # TMDB's status (Released, Rumored) is not the store's status.
    assert set(frame["status"]) == {"ok"} and frame.loc[1, "tmdb_genres"] == ("Family",)


def test_cli_import_through_links(capsys, tmp_path, files):
    export, links = files
    store = tmp_path / "s.sqlite"
    code, out, err = recsys(
        capsys, "import", "--csv", str(export), "--links", str(links), "--store", str(store)
    )
    assert code == 0, err
    assert "matched 2 of 3 TMDB ids to MovieLens movies through the links table" in out
    assert sorted(load_metadata(store)["movie_id"]) == [1, 260]


def test_export_needs_links(files):
    export, _ = files
    with pytest.raises(InvalidParameterError, match="never by equal numbers") as error:
        read_metadata_csv(export)
    assert error.value.parameter == "links"


def test_cli_bad_inputs_are_one_line_and_leave_no_store(capsys, tmp_path, files):
    export, links = files
    store = tmp_path / "s.sqlite"
    twice = tmp_path / "twice.csv"
    twice.write_text(LINKS + "1196,0080684,11\n", encoding="utf-8")
    broken = tmp_path / "broken.csv"
    broken.write_text(EXPORT.replace('""Family""}]', '""Family""'), encoding="utf-8")
    no_title = tmp_path / "no_title.csv"
    no_title.write_text("id,overview\n11,A war.\n", encoding="utf-8")
    cases = [
        (export, twice, "links TMDB id 11 to 2 MovieLens movies (260 and 1196)"),
        (broken, links, "the genres column is neither genre names"),
        (no_title, links, "lacks the title column(s) of TMDB's export layout"),
    ]
    for csv, table, message in cases:
        code, out, err = recsys(
            capsys, "import", "--csv", str(csv), "--links", str(table), "--store", str(store)
        )
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert message in err and "Traceback" not in err
        assert not store.exists()


def test_a_users_status_column_never_sets_the_stores(tmp_path):
    """movies_enriched layout with TMDB's status and JSON genres: both read, no clash."""
    path = tmp_path / "m.csv"
    path.write_text(
        "movieId,tmdbId,title,overview,genres,status\n"
        '260,11,Star Wars,A war.,"[{""id"": 878, ""name"": ""Science Fiction""}]",Released\n'
        "1,862,Toy Story,,[],Rumored\n",
        encoding="utf-8",
    )
    frame = read_metadata_csv(path).set_index("movie_id")
    assert frame.loc[260, "tmdb_genres"] == ("Science Fiction",)
    assert frame.loc[260, "genre_ids"] == (878,) and frame.loc[260, "status"] == "ok"
    assert frame.loc[1, "status"] == "missing"  # no TMDB data, whatever its TMDB status
    # This package's own export still round-trips its status.
    exported = tmp_path / "own.csv"
    write_metadata_csv(frame.reset_index().assign(status=["failed", "ok"]), exported)
    assert read_metadata_csv(exported)["status"].tolist() == ["failed", "ok"]


def test_bad_json_genres_in_the_movielens_layout(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('movieId,genres\n1,"[{""id"": 28}]"\n', encoding="utf-8")
    with pytest.raises(DataError, match="data row 1 has"):
        read_metadata_csv(path)
