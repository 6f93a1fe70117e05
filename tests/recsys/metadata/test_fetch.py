"""The resumable fetch loop against the fake TMDB, faults included."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from PIL import Image

from recsys.errors import DataError
from recsys.metadata.client import TMDBAuthError, TMDBClient
from recsys.metadata.fetch import (
    FetchReport,
    failure_cause,
    fetch_metadata,
    links_from_movies,
    read_links,
    store_lock,
)
from recsys.metadata.ratelimit import RetryPolicy
from recsys.metadata.store import MetadataStore
from tests.recsys.metadata.conftest import API_KEY, LINKS, write_links
from tests.recsys.metadata.fake_tmdb import Fault, make_jpeg, make_movie

FETCHABLE = {m for m, t in LINKS if t != 999999}


def make_client(fake, *, retries=3, timeout=2.0, key=API_KEY, base=None) -> TMDBClient:
    return TMDBClient(
        key,
        api_base=base or fake.api_base,
        image_base=fake.image_base,
        rate=500.0,
        retry=RetryPolicy(retries=retries, backoff=0.01),
        timeout=timeout,
    )


def api_requests(fake) -> int:
    return sum(1 for path, _, _ in fake.log if path.startswith("/3/"))


def test_full_fetch_with_faults_stores_every_fetchable_movie(fake_tmdb, tmp_path):
    fake_tmdb.add_faults("/3/movie/862", Fault.status_code(429, retry_after=1))
    fake_tmdb.add_faults("/3/movie/8844", Fault.status_code(500), Fault.status_code(503))
    fake_tmdb.add_faults("/3/movie/15602", Fault.sleep(1.0))  # longer than the timeout
    fake_tmdb.add_faults("/3/movie/31357", Fault.cut())
    fake_tmdb.add_faults("/3/movie/11862", Fault.sleep(0.2))  # slow but in time
    fake_tmdb.add_faults("/t/p/w185/poster11862.jpg", Fault.corrupt())
    fake_tmdb.add_faults("/t/p/w185/poster949.jpg", Fault.cut())
    links = read_links(write_links(tmp_path / "links.csv"))
    posters = tmp_path / "posters"
    with (
        make_client(fake_tmdb, timeout=0.5) as client,
        MetadataStore(tmp_path / "meta.sqlite") as store,
    ):
        report = fetch_metadata(store, links, client, posters_dir=posters, progress=False)
        frame = store.to_frame().set_index("movie_id")
        coverage = store.coverage()

    assert (report.done, report.missing, report.failed) == (11, 1, 0)
    assert (report.posters, report.posters_missing, report.posters_failed) == (9, 1, 0)
    assert set(frame.index[frame["status"] == "ok"]) == FETCHABLE
    assert frame.loc[11, "status"] == "missing" and "404" in frame.loc[11, "detail"]
    assert coverage["movies"] == 12 and coverage["pending"] == 0
    # Retry-After: 1 was honoured in real time.
    first, second = fake_tmdb.times("/3/movie/862")
    assert second - first >= 1.0
    # Stored fields are the server's, genre names included (10769 "Foreign" too).
    for movie_id, tmdb_id in LINKS:
        if tmdb_id == 999999:
            continue
        expected = make_movie(tmdb_id)
        row = frame.loc[movie_id]
        assert row["tmdb_id"] == tmdb_id
        assert row["overview"] == expected["overview"]
        assert row["runtime"] == expected["runtime"]
        assert row["imdb_id"] == f"tt{100000 + movie_id:07d}"  # links.csv wins over TMDB
    assert frame.loc[6, "tmdb_genres"] == ("Drama", "Foreign")
    assert frame.loc[1, "genre_ids"] == (878, 10751)
    # Posters: complete, decodable, checksummed; none for the movie without one.
    assert frame.loc[10, "poster_file"] is None and frame.loc[10, "poster_path"] is None
    assert frame.loc[12, "poster_status"] == "missing"
    for movie_id, tmdb_id in LINKS:
        file = frame.loc[movie_id, "poster_file"]
        if file is None:
            continue
        data = open(file, "rb").read()
        assert data == make_jpeg(tmdb_id)
        assert frame.loc[movie_id, "poster_sha256"] == hashlib.sha256(data).hexdigest()
        with Image.open(file) as image:
            image.load()
    assert not list(posters.glob(".*"))  # no temporary files left


def test_rerun_asks_for_nothing_that_is_done(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv"))
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        fetch_metadata(store, links, client, posters_dir=tmp_path / "p", progress=False)
        seen = len(fake_tmdb.log)
        again = fetch_metadata(store, links, client, posters_dir=tmp_path / "p", progress=False)
        assert len(fake_tmdb.log) == seen  # not one request
        assert (again.done, again.missing, again.failed, again.requests) == (0, 0, 0, 0)
        assert len(store) == len(LINKS)


def test_failures_are_retried_next_run_but_404s_are_not(fake_tmdb, tmp_path):
    fake_tmdb.add_faults("/3/movie/8844", *[Fault.status_code(500)] * 4)
    fake_tmdb.add_faults("/t/p/w185/poster862.jpg", *[Fault.corrupt()] * 4)
    links = read_links(write_links(tmp_path / "links.csv"))
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        first = fetch_metadata(store, links, client, posters_dir=tmp_path / "p", progress=False)
        assert (first.failed, first.posters_failed) == (1, 1)
        row = store.get(2)
        assert row["status"] == "failed" and "HTTP 500" in row["detail"]
        assert store.get(1)["poster_status"] == "failed"
        before = fake_tmdb.counts()

        second = fetch_metadata(store, links, client, posters_dir=tmp_path / "p", progress=False)
        after = fake_tmdb.counts()
        assert (second.done, second.failed, second.posters) == (1, 0, 2)
        assert store.get(2)["status"] == "ok" and store.get(2)["attempts"] == 2
        assert store.get(1)["poster_status"] == "ok"
        assert after["/3/movie/862"] == before["/3/movie/862"]  # only its poster again
        assert after["/3/movie/999999"] == before["/3/movie/999999"] == 1

        third = fetch_metadata(store, links, client, retry_missing=True, progress=False)
        assert third.missing == 1 and fake_tmdb.count("/3/movie/999999") == 2


def test_limit_fetches_a_few_per_run_and_resumes(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv"))
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        report = fetch_metadata(store, links, client, limit=3, progress=False)
        assert report.done == 3 and report.skipped == 9 and len(store) == 3
        assert store.coverage()["pending"] == 9
        fetch_metadata(store, links, client, progress=False)
        assert len(store) == 12
    counts = fake_tmdb.counts()
    assert all(counts[f"/3/movie/{t}"] == 1 for _, t in LINKS)


def test_movies_sharing_a_tmdb_id_cost_one_request(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv", [(1, 862), (2, 862), (3, 949)]))
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        fetch_metadata(store, links, client, posters_dir=tmp_path / "p", progress=False)
        assert fake_tmdb.count("/3/movie/862") == 1
        assert fake_tmdb.count("/t/p/w185/poster862.jpg") == 1
        assert store.get(1)["poster_file"] == store.get(2)["poster_file"] is not None
        # A movie added later with a TMDB id already stored is copied, not requested.
        more = read_links(
            write_links(tmp_path / "more.csv", [(1, 862), (2, 862), (3, 949), (4, 862)])
        )
        report = fetch_metadata(store, more, client, posters_dir=tmp_path / "p", progress=False)
        assert report.done == 1 and report.requests == 0
        assert store.get(4)["overview"] == store.get(1)["overview"]


def test_unlinked_movies_are_missing_or_found_by_title(fake_tmdb, tmp_path):
    movies = pd.DataFrame(
        {
            "movie_id": [1, 2, 3],
            "title": ["Movie 862 (1995)", "Movie 949 (1995)", "Nowhere (1990)"],
            "genres": [("Sci-Fi",), ("Drama",), ()],
            "imdb_id": [None, None, None],
            "tmdb_id": pd.array([862, None, None], dtype="Int64"),
        }
    )
    links = links_from_movies(movies)
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        plain = fetch_metadata(store, links, client, progress=False)
        assert plain.missing == 2 and store.get(2)["detail"] == "no TMDB id in the links"
        assert store.get(1)["movielens_genres"] == ("Sci-Fi",)
        assert fake_tmdb.count("/3/search/movie") == 0
        searched = fetch_metadata(store, links, client, search_unlinked=True, progress=False)
        assert searched.done == 1 and searched.missing == 1
        assert store.get(2)["tmdb_id"] == 949 and "title search" in store.get(2)["detail"]
        assert store.get(3)["status"] == "missing"


def test_401_stops_the_run_at_once(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv"))
    with (
        make_client(fake_tmdb, key="wrong-key-123456", retries=5) as client,
        MetadataStore(tmp_path / "m.sqlite") as store,
    ):
        with pytest.raises(TMDBAuthError):
            fetch_metadata(store, links, client, progress=False)
        assert api_requests(fake_tmdb) == 1
        assert store.coverage()["ok"] == 0 and len(store) == 0


def test_a_long_failure_streak_stops_the_run(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv"))
    dead = "http://127.0.0.1:9/3"
    with (
        make_client(fake_tmdb, retries=0, base=dead) as client,
        MetadataStore(tmp_path / "m.sqlite") as store,
    ):
        report = fetch_metadata(store, links, client, max_consecutive_failures=3, progress=False)
        assert report.failed == 3 and "3 movies in a row failed" in report.stopped
        assert store.coverage()["pending"] == 9


def test_deleted_poster_is_downloaded_again_without_refetching_details(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv", [(1, 862)]))
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        fetch_metadata(store, links, client, posters_dir=tmp_path / "p", progress=False)
        file = store.get(1)["poster_file"]
        (tmp_path / "p" / file.rsplit("/", 1)[-1]).unlink()
        report = fetch_metadata(store, links, client, posters_dir=tmp_path / "p", progress=False)
        assert report.posters == 1 and fake_tmdb.count("/3/movie/862") == 1
        assert open(file, "rb").read() == make_jpeg(862)


def test_progress_line_shows_the_counts(fake_tmdb, tmp_path, capsys):
    links = read_links(write_links(tmp_path / "links.csv"))
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        fetch_metadata(store, links, client, progress=True)
    err = capsys.readouterr().err
    assert "metadata fetch 12/12" in err
    assert "done=11" in err and "missing=1" in err and "failed=0" in err


def test_two_fetches_cannot_share_a_store(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv"))
    path = tmp_path / "m.sqlite"
    with store_lock(path), make_client(fake_tmdb) as client, MetadataStore(path) as store:
        with pytest.raises(DataError, match="another"):
            fetch_metadata(store, links, client, progress=False)


def test_bad_links_files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("movieId,imdbId\n1,0114709\n", encoding="utf-8")
    with pytest.raises(DataError, match="no tmdb_id column"):
        read_links(bad)
    bad.write_text("movieId,imdbId,tmdbId\n1,0114709,abc\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a number"):
        read_links(bad)
    bad.write_text("movieId,imdbId,tmdbId\n1,0114709,862\n1,0114709,862\n", encoding="utf-8")
    with pytest.raises(DataError, match="more than once"):
        read_links(bad)
    good = read_links(write_links(tmp_path / "l.csv", [(1, 862), (2, None)]))
    assert good["tmdb_id"].tolist()[0] == 862 and pd.isna(good["tmdb_id"].tolist()[1])
    assert good["imdb_id"].tolist() == ["tt0100001", "tt0100002"]


def test_imported_movies_count_as_done_unless_refreshed(fake_tmdb, tmp_path):
    links = read_links(write_links(tmp_path / "links.csv", [(1, 862), (2, 8844)]))
    with make_client(fake_tmdb) as client, MetadataStore(tmp_path / "m.sqlite") as store:
        store.upsert_movie(
            1,
            tmdb_id=862,
            overview="Imported.",
            movielens_genres=["Comedy"],
            status="ok",
            source="import:x.csv",
        )
        report = fetch_metadata(store, links, client, progress=False)
        assert report.done == 1 and fake_tmdb.count("/3/movie/862") == 0
        assert store.get(1)["overview"] == "Imported."
        report = fetch_metadata(store, links, client, refresh_imported=True, progress=False)
        assert report.done == 1 and fake_tmdb.count("/3/movie/862") == 1
        row = store.get(1)
        assert row["source"] == "tmdb" and row["overview"] == make_movie(862)["overview"]
        assert row["tmdb_genres"] == ("Science Fiction", "Family")
        assert row["movielens_genres"] == ("Comedy",)  # links.csv knows none: kept


def _refused(movie: int) -> str:
    return (
        f"TMDB GET /movie/{movie} failed: connection failed (HTTPConnectionPool("
        f"host='127.0.0.1', port=9): Max retries exceeded with url: /3/movie/{movie}"
        "?api_key=*** (Caused by NewConnectionError(\"HTTPConnection(host='127.0.0.1', "
        "port=9): Failed to establish a new connection: [Errno 111] Connection "
        'refused")))'
    )


def test_the_most_common_failure_cause_is_reported_without_ids_or_keys():
    assert FetchReport().common_failure() is None
    report = FetchReport(
        failures=[
            _refused(862),
            "TMDB GET /movie/1 failed after 3 attempts: HTTP 500 Internal Error",
            _refused(8844),
            "TMDB GET /movie/2 failed after 3 attempts: HTTP 500 Internal Error",
            _refused(15602),
        ]
    )
    assert report.common_failure() == "connection refused to 127.0.0.1:9"
    report.failures = report.failures[:4]  # a tie: the latest cause
    assert report.common_failure() == "HTTP 500 Internal Error"
    leaky = "TMDB GET /search/movie failed: ValueError: bad page http://x/3?api_key=s3cr3t&q=1"
    assert failure_cause(leaky) == "ValueError: bad page URL"
    assert failure_cause("TMDB GET /x failed: connection failed (odd)") == "connection failed"
    assert "s3cr3t" not in failure_cause("TMDB GET /x failed: HTTP 400 (api_key=s3cr3t)")
