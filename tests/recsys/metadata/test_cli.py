"""``recsys metadata`` end to end against the fake TMDB, and the API key's secrecy."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from recsys.cli.framework import run_cli
from recsys.metadata import load_metadata
from tests.recsys.metadata.conftest import API_KEY, write_links
from tests.recsys.metadata.fake_tmdb import Fault


def recsys(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``recsys metadata ...`` in-process; return (exit code, stdout, stderr)."""
    try:
        code = run_cli("recsys", "test", ["recsys.cli.metadata"], ["metadata", *argv])
    except SystemExit as stop:  # argparse errors
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def server_args(fake) -> list[str]:
    return [
        "--api-base",
        fake.api_base,
        "--image-base",
        fake.image_base,
        "--rate",
        "500",
        "--backoff",
        "0.01",
        "--retries",
        "2",
        "--timeout",
        "1",
        "--quiet",
    ]


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)


def test_missing_key_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    code, out, err = recsys(
        capsys,
        "fetch",
        "--links",
        str(write_links(tmp_path / "l.csv")),
        "--store",
        str(tmp_path / "m.sqlite"),
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "set TMDB_API_KEY or pass --api-key-file" in err
    assert not (tmp_path / "m.sqlite").exists()  # nothing done before the key check


def test_fetch_status_export_round_trip(capsys, tmp_path, fake_tmdb, with_key):
    store = str(tmp_path / "m.sqlite")
    code, out, err = recsys(
        capsys,
        "fetch",
        "--links",
        str(write_links(tmp_path / "l.csv")),
        "--store",
        store,
        "--posters",
        str(tmp_path / "posters"),
        *server_args(fake_tmdb),
    )
    assert code == 0, err
    assert "fetched 11 movies (1 missing, 0 failed), 9 posters" in out
    code, out, _ = recsys(capsys, "status", "--store", store, "--json")
    status = json.loads(out)
    assert code == 0
    assert {
        k: status[k]
        for k in (
            "movies",
            "ok",
            "missing",
            "failed",
            "overview",
            "poster",
            "tmdb_genres",
            "pending",
        )
    } == {
        "movies": 12,
        "ok": 11,
        "missing": 1,
        "failed": 0,
        "overview": 11,
        "poster": 9,
        "tmdb_genres": 11,
        "pending": 0,
    }
    code, out, _ = recsys(capsys, "status", "--store", store)
    assert "ok 11, missing 1, failed 0" in out and "poster 9 (75.0%)" in out
    code, out, _ = recsys(capsys, "export", "--store", store, "--csv", str(tmp_path / "x.csv"))
    assert code == 0 and "wrote 12 movies" in out
    pd.testing.assert_frame_equal(load_metadata(tmp_path / "x.csv"), load_metadata(store))
    # A second fetch asks for nothing.
    before = len(fake_tmdb.log)
    code, out, _ = recsys(
        capsys,
        "fetch",
        "--links",
        str(tmp_path / "l.csv"),
        "--store",
        store,
        "--posters",
        str(tmp_path / "posters"),
        *server_args(fake_tmdb),
    )
    assert code == 0 and "fetched 0 movies" in out and len(fake_tmdb.log) == before


def test_rejected_key_stops_with_one_line(capsys, tmp_path, fake_tmdb, monkeypatch):
    monkeypatch.setenv("TMDB_API_KEY", "a-wrong-key-42")
    code, _, err = recsys(
        capsys,
        "fetch",
        "--links",
        str(write_links(tmp_path / "l.csv")),
        "--store",
        str(tmp_path / "m.sqlite"),
        "--no-posters",
        *server_args(fake_tmdb),
    )
    assert code == 2 and err.count("\n") == 1
    assert "TMDB refused the API key" in err and "a-wrong-key-42" not in err
    assert len(fake_tmdb.log) == 1


def test_failures_give_exit_1_and_a_hint(capsys, tmp_path, fake_tmdb, with_key):
    fake_tmdb.add_faults("/3/movie/862", *[Fault.status_code(500)] * 3)
    code, out, err = recsys(
        capsys,
        "fetch",
        "--links",
        str(write_links(tmp_path / "l.csv")),
        "--store",
        str(tmp_path / "m.sqlite"),
        "--no-posters",
        *server_args(fake_tmdb),
    )
    assert code == 1 and "1 failed" in out and err.count("\n") == 1
    assert (
        "1 movies and 0 posters failed (most common error: HTTP 500 Internal Server Error "
        "(fault 500)); run the same command again"
    ) in err


def test_an_unreachable_server_is_named_in_the_failure_line(capsys, tmp_path, with_key):
    code, _, err = recsys(
        capsys,
        "fetch",
        "--links",
        str(write_links(tmp_path / "l.csv")),
        "--store",
        str(tmp_path / "m.sqlite"),
        "--no-posters",
        "--quiet",
        "--api-base",
        "http://127.0.0.1:9/3",
        "--retries",
        "0",
    )
    assert code == 1 and err.count("\n") == 1 and API_KEY not in err
    assert (
        "12 movies and 0 posters failed (most common error: connection refused to "
        "127.0.0.1:9); run the same command again to retry them." in err
    )


def test_popular_and_genres(capsys, tmp_path, fake_tmdb, with_key):
    store = str(tmp_path / "m.sqlite")
    code, out, _ = recsys(
        capsys,
        "popular",
        "--pages",
        "1",
        "--show",
        "3",
        "--store",
        store,
        "--csv",
        str(tmp_path / "pop.csv"),
        *server_args(fake_tmdb),
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "11 popular movies from 1 page(s)"
    assert lines[1].split()[:3] == ["1", "Movie", "45325"]  # the most popular first
    table = pd.read_csv(tmp_path / "pop.csv")
    assert len(table) == 11 and table["rank"].tolist() == list(range(1, 12))
    row = table.set_index("tmdb_id").loc[949]
    assert row["tmdb_genres"] == "Drama|Foreign" and row["movielens_genres"] == "Drama"
    code, out, _ = recsys(capsys, "genres", "--store", store, "--json", *server_args(fake_tmdb))
    genres = {g["id"]: g for g in json.loads(out)}
    assert genres[10769]["name"] == "Foreign" and genres[10769]["movielens"] is None
    assert genres[878]["movielens"] == "Sci-Fi" and genres[10751]["movielens"] == "Children"
    code, out, _ = recsys(capsys, "genres", "--builtin")
    assert code == 0 and "10769  Foreign" in out and "-> Sci-Fi" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fetch", "--rate", "0"], "expected a positive number"),
        (["fetch", "--limit", "-3"], "expected a number >= 0"),
        (["fetch", "--links", "/nonexistent/links.csv"], "no such file"),
        (
            ["fetch", "--api-base", "localhost:8080"],
            "api_base must be an http(s) URL without a query, like "
            "https://api.themoviedb.org/3; received 'localhost:8080'. (set by --api-base)",
        ),
        (
            ["status", "--store", "/nonexistent/m.sqlite"],
            "no metadata store at '/nonexistent/m.sqlite'",
        ),
        (
            ["popular", "--pages", "501"],
            "pages must be between 1 and 500; received 501. (set by --pages)",
        ),
        (["import", "--csv", "/nonexistent/x.csv"], "no such file"),
        (["import", "--csv", "x.csv", "--copy-posters"], "--copy-posters needs --posters-dir"),
        (
            ["import", "--csv", "x.csv", "--posters-index", "i.csv"],
            "--posters-index needs --posters-dir",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, with_key, argv, message):
    store = [] if "--store" in argv else ["--store", str(tmp_path / "s.sqlite")]
    code, _, err = recsys(capsys, *argv, *store)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_key_reaches_no_file_and_no_output(capsys, tmp_path, fake_tmdb, monkeypatch):
    """Faults that put request URLs into errors and logs; then grep everything written."""
    work = tmp_path / "work"
    work.mkdir()
    key_dir = tmp_path / "secret"
    key_dir.mkdir()
    (key_dir / "key.txt").write_text(API_KEY + "\n", encoding="utf-8")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.setenv("RECSYS_DATA", str(work / "cache"))
    # A user who turned debug logging on, to a file: urllib3 logs every request URL.
    handler = logging.FileHandler(work / "debug.log")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    fake_tmdb.add_faults("/3/movie/862", *[Fault.status_code(500)] * 3)  # failed, detail
    fake_tmdb.add_faults("/3/movie/8844", Fault.cut(), Fault.cut(), Fault.cut())
    fake_tmdb.add_faults("/3/movie/15602", Fault.sleep(1.5))  # a timeout, then fine
    fake_tmdb.add_faults("/t/p/w185/poster949.jpg", *[Fault.corrupt()] * 3)
    key = ["--api-key-file", str(key_dir / "key.txt")]
    try:
        outputs = [
            recsys(
                capsys,
                "fetch",
                "--links",
                str(write_links(work / "l.csv")),
                *key,
                *server_args(fake_tmdb),
            ),
            recsys(
                capsys,
                "fetch",
                "--links",
                str(work / "l.csv"),
                *key,
                "--api-base",
                "http://127.0.0.1:9/3",
                "--retries",
                "0",
                "--max-failures",
                "1",
            ),
            recsys(
                capsys,
                "popular",
                "--pages",
                "1",
                "--csv",
                str(work / "p.csv"),
                *key,
                *server_args(fake_tmdb),
            ),
            recsys(capsys, "genres", *key, *server_args(fake_tmdb)),
            recsys(capsys, "status", "--json"),
            recsys(capsys, "export", "--csv", str(work / "export.csv")),
        ]
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
    # The faults did produce URL-bearing failures, and the debug log has request lines.
    assert outputs[0][0] == 1 and outputs[1][0] == 1
    assert "most common error: poster w185/poster949.jpg did not decode" in outputs[0][2]
    log = (work / "debug.log").read_text(encoding="utf-8")
    assert "/3/movie/862?api_key=***" in log
    details = " ".join(
        str(d) for d in load_metadata(work / "cache" / "metadata" / "tmdb.sqlite")["detail"] if d
    )
    assert "connection failed" in details and "api_key=***" in details  # URL, scrubbed
    # ... and the key is in no output and no file.
    for _, out, err in outputs:
        assert API_KEY not in out and API_KEY not in err
    written = [p for p in work.rglob("*") if p.is_file()]
    assert len(written) >= 12  # store, WAL, lock, posters, CSVs, log
    needle = API_KEY.encode()
    leaks = [str(p) for p in written if needle in p.read_bytes()]
    assert leaks == []


def test_fetch_from_the_bundled_dataset_keeps_movielens_genres(
    capsys, tmp_path, fake_tmdb, with_key
):
    store = str(tmp_path / "m.sqlite")
    code, out, err = recsys(
        capsys, "fetch", "--store", store, "--no-posters", "--limit", "3", *server_args(fake_tmdb)
    )
    assert code == 0, err
    assert "fetched 3 movies" in out and "left for the next run (--limit)" in out
    meta = load_metadata(store).set_index("movie_id")
    assert meta.index[meta["status"] == "ok"].tolist() == [1, 2, 3]
    # ml-latest-small has 8 movies without a TMDB id: recorded without asking TMDB.
    unlinked = meta[meta["status"] == "missing"]
    assert len(unlinked) == 8 and set(unlinked["detail"]) == {"no TMDB id in the links"}
    assert meta.loc[1, "movielens_genres"] == (
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Fantasy",
    )
    assert meta.loc[1, "tmdb_genres"] == ("Science Fiction", "Family")
    assert meta.loc[1, "imdb_id"] == "tt0114709"
    code, out, _ = recsys(capsys, "status", "--store", store, "--json")
    status = json.loads(out)
    assert status["links"] == 9742 and status["pending"] == 9742 - 3 - 8
    assert status["missing_reasons"] == {"no TMDB id in the links": 8}
    code, out, _ = recsys(capsys, "status", "--store", store)
    assert "  missing 8: no TMDB id in the links" in out.splitlines()


def test_cli_poster_sizes_and_defaults_are_the_librarys():
    from recsys.cli.framework import build_parser
    from recsys.metadata.client import POSTER_SIZES, TMDBClient
    from recsys.metadata.fetch import fetch_metadata
    from recsys.metadata.ratelimit import RetryPolicy

    parser = build_parser("recsys", "", ["recsys.cli.metadata"])
    args = parser.parse_args(["metadata", "fetch", "--links", "l.csv"])
    assert (args.poster_size, args.max_failures) == (
        fetch_metadata.__kwdefaults__["poster_size"],
        fetch_metadata.__kwdefaults__["max_consecutive_failures"],
    )
    assert (args.rate, args.timeout) == (
        TMDBClient.__init__.__kwdefaults__["rate"],
        TMDBClient.__init__.__kwdefaults__["timeout"],
    )
    assert (args.retries, args.backoff) == (RetryPolicy().retries, RetryPolicy().backoff)
    fetch = parser._subparsers._group_actions[0].choices["metadata"]  # type: ignore[union-attr]
    actions = fetch._subparsers._group_actions[0].choices["fetch"]._actions
    sizes = next(a.choices for a in actions if a.dest == "poster_size")
    assert tuple(sizes) == POSTER_SIZES


def _small_csv(path, text="movieId,tmdbId,title,overview\n1,862,Toy Story,Toys.\n"):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no-movie-id", "has no movieId (or movie_id) column"),
        ("posters-missing", "--posters-dir"),
        ("posters-index-missing", "no such file"),
    ],
)
def test_a_failed_import_leaves_no_store_behind(capsys, tmp_path, case, message):
    csv = _small_csv(tmp_path / "small.csv")
    extra = []
    if case == "no-movie-id":
        _small_csv(csv, "title,overview\nToy Story,Toys\n")
    elif case == "posters-missing":
        extra = ["--posters-dir", str(tmp_path / "no-posters")]
    else:
        (tmp_path / "posters").mkdir()
        extra = [
            "--posters-dir",
            str(tmp_path / "posters"),
            "--posters-index",
            str(tmp_path / "nope.csv"),
        ]
    store = tmp_path / "st2.sqlite"
    code, out, err = recsys(
        capsys, "import", "--csv", str(csv), "--store", str(store), "--quiet", *extra
    )
    assert code == 2 and out == "" and message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("st2")) == []
    code, _, err = recsys(capsys, "status", "--store", str(store))
    assert code == 2 and "no metadata store" in err


def test_a_failed_import_keeps_an_existing_store(capsys, tmp_path):
    store = tmp_path / "m.sqlite"
    code, _, err = recsys(
        capsys,
        "import",
        "--csv",
        str(_small_csv(tmp_path / "ok.csv")),
        "--store",
        str(store),
        "--quiet",
    )
    assert code == 0, err
    before = load_metadata(store)
    bad = _small_csv(tmp_path / "bad.csv", "title\nJumanji\n")
    code, _, err = recsys(capsys, "import", "--csv", str(bad), "--store", str(store))
    assert code == 2 and "has no movieId" in err
    pd.testing.assert_frame_equal(load_metadata(store), before)


@pytest.mark.parametrize("action", ["export", "popular"])
def test_a_csv_in_a_missing_folder_is_one_line_and_no_folder_is_made(
    capsys, tmp_path, action, with_key
):
    store = tmp_path / "m.sqlite"
    code, _, err = recsys(
        capsys,
        "import",
        "--csv",
        str(_small_csv(tmp_path / "ok.csv")),
        "--store",
        str(store),
        "--quiet",
    )
    assert code == 0, err
    target = tmp_path / "nonexistentdir" / "x.csv"
    argv = ["--pages", "1", "--api-base", "http://127.0.0.1:9/3"] if action == "popular" else []
    code, out, err = recsys(capsys, action, "--csv", str(target), "--store", str(store), *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert (
        f"cannot write the CSV {str(target)!r}: the folder {str(target.parent)!r} does not exist"
    ) in err
    assert not target.parent.exists()


def _store_with_a_poster(capsys, tmp_path):
    """A store made by import, pointing at posters/1.jpg; returns (store, poster)."""
    from tests.recsys.metadata.fake_tmdb import make_jpeg

    (tmp_path / "posters").mkdir()
    poster = tmp_path / "posters" / "1.jpg"
    poster.write_bytes(make_jpeg(1))
    store = tmp_path / "m.sqlite"
    code, _, err = recsys(
        capsys,
        "import",
        "--csv",
        str(_small_csv(tmp_path / "ok.csv")),
        "--posters-dir",
        str(poster.parent),
        "--store",
        str(store),
        "--quiet",
    )
    assert code == 0, err
    assert load_metadata(store).loc[0, "poster_file"] == str(poster)
    return store, poster


@pytest.mark.parametrize(
    ("action", "target", "message"),
    [
        ("export", "m.sqlite", "it is the input"),
        ("export", "m.sqlite-wal", "it is the input"),
        ("export", "m.sqlite-shm", "it is the input"),
        ("export", "m.sqlite-journal", "it is the input"),
        ("export", "posters/1.jpg", "it exists and is not a .csv file. Give a .csv path."),
        ("popular", "m.sqlite", "it is the input"),
        ("popular", "posters/1.jpg", "it exists and is not a .csv file. Give a .csv path."),
    ],
)
def test_a_csv_never_overwrites_the_store_or_another_file(
    capsys, tmp_path, with_key, action, target, message
):
    store, _ = _store_with_a_poster(capsys, tmp_path)
    frame = load_metadata(store)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    argv = ["--pages", "1", "--api-base", "http://127.0.0.1:9/3"] if action == "popular" else []
    code, out, err = recsys(
        capsys, action, "--csv", str(tmp_path / target), "--store", str(store), *argv
    )
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert message in err, err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    pd.testing.assert_frame_equal(load_metadata(store), frame)
    code, out, err = recsys(capsys, "status", "--store", str(store))
    assert code == 0 and "movies 1: ok 1" in out, err


def test_export_never_overwrites_a_file_of_its_dataset(capsys, tmp_path):
    store, _ = _store_with_a_poster(capsys, tmp_path)
    folder = tmp_path / "ml"
    folder.mkdir()
    files = {
        "movies.csv": "movieId,title,genres\n1,Toy Story (1995),Comedy\n",
        "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n",
        "links.csv": "movieId,imdbId,tmdbId\n1,0114709,862\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    code, _, err = recsys(
        capsys,
        "export",
        "--dataset",
        str(folder),
        "--csv",
        str(folder / "movies.csv"),
        "--store",
        str(store),
    )
    assert code == 2 and err.count("\n") == 1
    assert f"it is the input {str(folder / 'movies.csv')!r}" in err
    assert {n: (folder / n).read_text(encoding="utf-8") for n in files} == files
    # The same folder is a fine place for a new CSV.
    code, out, err = recsys(
        capsys,
        "export",
        "--dataset",
        str(folder),
        "--csv",
        str(folder / "meta.csv"),
        "--store",
        str(store),
    )
    assert code == 0 and "wrote 1 movies" in out, err


@pytest.mark.shared_data
def test_import_reads_the_posters_folder_given_not_the_one_the_index_names(
    capsys, tmp_path, shared_data
):
    index = shared_data / "posters" / "posters_index.csv"
    images = shared_data / "posters" / "images"
    raw = pd.read_csv(
        shared_data / "tmdb-overviews" / "movies_enriched.csv", dtype=str, keep_default_na=False
    )
    # 1 and 4 are in pbad (4 corrupt), 9 is indexed but not in pbad, 2 is not indexed.
    raw[raw["movieId"].isin(["1", "2", "9"])].to_csv(tmp_path / "small.csv", index=False)
    folder = tmp_path / "pbad"
    folder.mkdir()
    (folder / "1.jpg").write_bytes((images / "1.jpg").read_bytes())
    (folder / "4.jpg").write_bytes((images / "4.jpg").read_bytes()[:500])  # corrupt
    store = tmp_path / "pb2.sqlite"
    code, out, err = recsys(
        capsys,
        "import",
        "--csv",
        str(tmp_path / "small.csv"),
        "--posters-dir",
        str(folder),
        "--posters-index",
        str(index),
        "--store",
        str(store),
        "--quiet",
    )
    assert code == 0, err
    assert "1 posters in" in out and "rejected 1 posters" in out
    assert "1 movies listed in the posters index have no poster in the posters folder" in out
    meta = load_metadata(store).set_index("movie_id")
    assert meta.loc[1, "poster_file"] == str(folder / "1.jpg")
    assert meta.loc[4, "poster_status"] == "failed" and "sha256" in meta.loc[4, "detail"]
    assert sorted(meta.index) == [1, 2, 4, 9]  # 4: a poster-only row, rejected
    assert meta.loc[9, "poster_file"] is None  # not /work/shared/data/posters/images/9.jpg
    assert [f for f in meta["poster_file"] if f] == [str(folder / "1.jpg")]
