"""``genre dataset`` on TMDB's own export layout: TMDB ids, JSON genre lists, links.

The fixture is a hand-made export (``id`` = TMDB id, ``genres`` as JSON and as the
Python form of Kaggle's dumps, TMDB's ``status`` column) beside a hand-made links
table that ties TMDB 11 (Star Wars) to MovieLens 260 only. TMDB id 2 is in the export
and *not* in the links; MovieLens movie 2 is Jumanji: it must never be taken for it.
"""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from genre.cli import main
from genre.data.dataset import build_labelled
from genre.data.sources import metadata_id_space, read_metadata
from recsys.errors import DataError, InvalidParameterError
from recsys.metadata.tmdb_export import link_tmdb_ids, parse_genre_column, read_tmdb_export

# TMDB genre lists, TMDB's own names (ids from TMDB's genre list).
GENRE_SETS = [
    [(878, "Science Fiction"), (28, "Action")],
    [(36, "History"), (18, "Drama")],
    [(10751, "Family"), (16, "Animation")],
    [(10770, "TV Movie"), (35, "Comedy")],
    [(10769, "Foreign"), (18, "Drama")],
    [(27, "Horror"), (53, "Thriller")],
]
WORDS = {
    "Science Fiction": "alien space robot",
    "Action": "explosion chase fight",
    "History": "king empire century",
    "Drama": "grief struggle life",
    "Family": "kids friendship parents",
    "Animation": "animated cartoon drawn",
    "TV Movie": "broadcast network television",
    "Comedy": "funny hilarious mishap",
    "Foreign": "subtitled abroad village",
    "Horror": "ghost blood terror",
    "Thriller": "danger killer suspense",
}
N = 48


def _export_rows() -> list[dict[str, object]]:
    rows = []
    for i in range(N):
        genres = GENRE_SETS[i % len(GENRE_SETS)]
        tmdb_id = {0: 11, 1: 2}.get(i, 500_000 + i)
        objects = [{"id": g, "name": n} for g, n in genres]
        rows.append(
            {
                "id": tmdb_id,
                "title": {11: "Star Wars", 2: "Ariel"}.get(tmdb_id, f"Film {i}"),
                "overview": " ".join(WORDS[n] for _, n in genres) + f" story {i}",
                # JSON on odd rows, Kaggle's Python form (single quotes) on even ones.
                "genres": json.dumps(objects) if i % 2 else repr(objects),
                "status": "Released" if i % 3 else "Rumored",
                "release_date": f"{1960 + i}-05-25",
                "runtime": 90 + i,
                "vote_average": 6.5,
                "vote_count": 100 + i,
            }
        )
    return rows


def write_export(path, rows=None):
    rows = _export_rows() if rows is None else rows
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def export(tmp_path):
    return write_export(tmp_path / "tmdb_export.csv")


@pytest.fixture
def links(tmp_path):
    path = tmp_path / "links.csv"
    path.write_text("movieId,imdbId,tmdbId\n260,76759,11\n1,114709,862\n", encoding="utf-8")
    return path


def _dataset(capsys, export, links, out, *extra):
    argv = ["dataset", "--metadata", str(export), "--links", str(links), "--out", str(out)]
    code = main([*argv, "--min-genre-fraction", "0", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    frame = pd.read_parquet(out / "movies.parquet").set_index("movie_id")
    manifest = json.loads((out / "manifest.json").read_text())
    return frame, manifest, captured.out


def test_reader_keeps_tmdb_ids_names_and_status(export):
    frame = read_tmdb_export(export).set_index("tmdb_id")
    assert len(frame) == N
    assert frame.loc[11, "title"] == "Star Wars"
    assert frame.loc[11, "tmdb_genres"] == ("Science Fiction", "Action")  # Python form
    assert frame.loc[11, "genre_ids"] == (878, 28)
    assert frame.loc[2, "tmdb_genres"] == ("History", "Drama")  # JSON form
    # TMDB's status is a release status, kept under its own name.
    assert frame.loc[11, "tmdb_status"] == "Rumored" and frame.loc[2, "tmdb_status"] == "Released"
    assert frame.loc[2, "runtime"] == 91 and frame.loc[2, "vote_count"] == 101
    assert metadata_id_space(export) == "tmdb"


def test_genre_column_forms():
    kind, ids, names = parse_genre_column(
        ['[{"id": 10770, "name": "TV Movie"}]', "[{'id': 10769, 'name': 'Foreign'}]", "", "[]"],
        "x.csv",
    )
    assert kind == "tmdb" and names == [("TV Movie",), ("Foreign",), (), ()]
    assert ids == [(10770,), (10769,), (), ()]
    assert parse_genre_column(["Science Fiction|History"], "x.csv")[2] == [
        ("Science Fiction", "History")
    ]
    for bad in (['[{"id": 28, "name": "Action"'], ["Action;Comedy"], ["[1, 2]"]):
        with pytest.raises(DataError, match="neither genre names"):
            parse_genre_column(bad, "x.csv")


def test_links_match_ids_never_equal_numbers():
    table = pd.DataFrame({"movie_id": [260, 2], "tmdb_id": [11, 8844]})
    assert link_tmdb_ids([11, 2, 8844], table).tolist() == [260, pd.NA, 2]
    twice = pd.DataFrame({"movie_id": [260, 1196], "tmdb_id": [11, 11]})
    with pytest.raises(InvalidParameterError, match="TMDB id 11 to 2 MovieLens movies") as error:
        link_tmdb_ids([11], twice)
    assert "260 and 1196" in str(error.value) and error.value.parameter == "links"
    # A TMDB id the export does not hold may be listed twice: nothing is matched through it.
    assert link_tmdb_ids([2], twice).isna().all()


def test_dataset_keeps_tmdb_ids_titles_and_genre_names(capsys, tmp_path, export, links, movielens):
    frame, manifest, out = _dataset(capsys, export, links, tmp_path / "ds")
    assert manifest["id_space"] == "tmdb" and manifest["labels"] == "tmdb"
    assert manifest["n_linked_to_movielens"] == 1
    assert manifest["sources"]["links"] == str(links.resolve())
    genres = json.loads((tmp_path / "ds" / "genres.json").read_text())["genres"]
    # TMDB's names, not MovieLens': no Sci-Fi or Children; History, Foreign, TV Movie kept.
    assert {"Science Fiction", "Family", "History", "Foreign", "TV Movie"} <= set(genres)
    assert not {"Sci-Fi", "Children"} & set(genres)
    assert manifest["unmapped_tmdb_genres"] == {}
    assert len(frame) == N and "labels tmdb" in out and "1 of them are tied" in out
    # TMDB 11 keeps the file's title; the link gives it Star Wars' MovieLens tags.
    assert frame.loc[11, "title"] == "Star Wars" and frame.loc[11, "year"] == 1960
    assert "darth vader" in set(frame.loc[11, "tags"])
    # TMDB 2 is not linked: it is Ariel from the file, never MovieLens movie 2 (Jumanji).
    jumanji = movielens.movies.set_index("movie_id").loc[2]
    assert frame.loc[2, "title"] == "Ariel" != jumanji["title"]
    assert tuple(frame.loc[2, "genres"]) == ("Drama", "History")
    assert len(frame.loc[2, "tags"]) == 0 and frame.loc[2, "year"] == 1961


def test_movielens_labels_never_label_an_unlinked_tmdb_id(tmp_path, export, links, movielens):
    """With MovieLens labels, an unlinked TMDB id is dropped, not given movie 2's genres."""
    # Link every export row but TMDB 2 to a MovieLens movie (11 to 260, the others to
    # the 3rd, 4th, ... movie), so MovieLens labels can split; MovieLens has a movie 2.
    rows = read_tmdb_export(export)
    ml_ids = movielens.movies["movie_id"].tolist()
    table = pd.DataFrame(
        {
            "movie_id": [260 if t == 11 else ml_ids[i + 2] for i, t in enumerate(rows["tmdb_id"])],
            "tmdb_id": rows["tmdb_id"],
        }
    )
    table = table[table["tmdb_id"] != 2]
    assert 2 in set(movielens.movies["movie_id"])
    data = build_labelled(
        read_metadata(export, links=table),
        movielens.movies,
        labels="movielens",
        min_genre_fraction=0.0,
        id_space="tmdb",
    )
    frame = data.frame.set_index("movie_id")
    assert 2 not in frame.index
    assert data.manifest["dropped_movies"]["not_in_movielens"] == 1
    star_wars = movielens.movies.set_index("movie_id").loc[260]
    assert tuple(frame.loc[11, "genres"]) == tuple(
        g for g in data.genres if g in set(star_wars["genres"])
    )
    assert frame.loc[11, "title"] == "Star Wars"  # the file's title, not "Star Wars: Episode IV"


def test_predict_movie_11_is_tmdb_11(capsys, tmp_path, export, links):
    _dataset(capsys, export, links, tmp_path / "ds")
    model = tmp_path / "model"
    argv = ["train", "--dataset", str(tmp_path / "ds"), "--model", "nb", "--out", str(model)]
    assert main([*argv, "--alpha", "0.1", "--min-df", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--movie", "11"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("TMDB movie 11: Star Wars ["), first
    assert main(["predict", "--model", str(model), "--movie", "260"]) == 2
    err = capsys.readouterr().err
    assert "movie 260 is not in the labelled set" in err and "TMDB ids" in err


def _fails(capsys, argv, message):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0], lines[0]
    return lines[0]


def test_bad_genres_column_is_one_line(capsys, tmp_path, links):
    rows = _export_rows()
    rows[5]["genres"] = '[{"id": 28, "name": "Action"'  # cut off
    path = write_export(tmp_path / "bad.csv", rows)
    out = tmp_path / "ds"
    line = _fails(
        capsys,
        ["dataset", "--metadata", str(path), "--links", str(links), "--out", str(out)],
        "the genres column is neither genre names",
    )
    assert "data row 6" in line
    assert not out.exists()
    movielens_layout = tmp_path / "ml.csv"
    movielens_layout.write_text("movieId,overview,genres\n1,a,Action;Comedy\n", encoding="utf-8")
    _fails(
        capsys,
        ["dataset", "--metadata", str(movielens_layout), "--out", str(out)],
        "the genres column is neither genre names",
    )
    assert not out.exists()


def test_links_with_one_tmdb_id_for_two_movies_is_one_line(capsys, tmp_path, export):
    links = tmp_path / "links.csv"
    links.write_text("movieId,imdbId,tmdbId\n260,76759,11\n1196,80684,11\n", encoding="utf-8")
    out = tmp_path / "ds"
    line = _fails(
        capsys,
        ["dataset", "--metadata", str(export), "--links", str(links), "--out", str(out)],
        "links TMDB id 11 to 2 MovieLens movies (260 and 1196)",
    )
    assert "(set by --links)" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("title,overview,genres", "has no movieId (or movie_id) column, nor the id column"),
        ("id,overview,genres", "lacks the title column(s) of TMDB's export layout"),
    ],
)
def test_export_without_id_or_title_is_one_line(capsys, tmp_path, header, message):
    path = tmp_path / "export.csv"
    path.write_text(f"{header}\n11,a war in space,[]\n", encoding="utf-8")
    out = tmp_path / "ds"
    _fails(capsys, ["dataset", "--metadata", str(path), "--out", str(out)], message)
    assert not out.exists()


def test_links_is_for_tmdb_exports_only(capsys, tmp_path, metadata_csv, links):
    out = tmp_path / "ds"
    _fails(
        capsys,
        ["dataset", "--metadata", str(metadata_csv), "--links", str(links), "--out", str(out)],
        "--links applies to a CSV in TMDB's export layout",
    )
    assert not out.exists()


def test_blocks_refuse_the_metadata_block_on_tmdb_ids(capsys, tmp_path, export, links):
    """The metadata block counts MovieLens ratings by movie id: not on a TMDB-keyed set."""
    _dataset(capsys, export, links, tmp_path / "ds")
    features = tmp_path / "features"
    argv = ["blocks", "--dataset", str(tmp_path / "ds"), "--features", str(features)]
    _fails(capsys, [*argv, "--blocks", "metadata"], "is keyed by TMDB id")
    assert not features.exists()
