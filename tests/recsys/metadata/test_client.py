"""The TMDB client against the fake server over real HTTP (no mocks of tmdbsimple)."""

from __future__ import annotations

import logging
import socket

import pytest
import tmdbsimple

from recsys.errors import DataError
from recsys.metadata.client import (
    MissingAPIKeyError,
    TMDBAuthError,
    TMDBClient,
    TMDBNotFound,
    TMDBRequestFailed,
    read_api_key,
)
from recsys.metadata.ratelimit import RetryPolicy
from tests.recsys.metadata.conftest import API_KEY
from tests.recsys.metadata.fake_tmdb import FakeTMDB, Fault


def recording_client(
    fake: FakeTMDB, *, retries: int = 3, timeout: float = 2.0, key: str = API_KEY
) -> tuple[TMDBClient, list[float]]:
    sleeps: list[float] = []
    client = TMDBClient(
        key,
        api_base=fake.api_base,
        image_base=fake.image_base,
        rate=1e6,
        retry=RetryPolicy(retries=retries, backoff=0.01),
        timeout=timeout,
        sleep=sleeps.append,
    )
    return client, sleeps


def assert_clean(error: BaseException) -> None:
    """The key is nowhere in the error, and no original exception is attached."""
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_movie_details_through_tmdbsimple(client, fake_tmdb):
    info = client.movie(862)
    assert info["id"] == 862
    assert [g["name"] for g in info["genres"]] == ["Science Fiction", "Family"]
    assert fake_tmdb.count("/3/movie/862") == 1


def test_genre_list_gets_foreign_added(client):
    genres = client.genre_list()
    assert genres[10769] == "Foreign"
    assert genres[878] == "Science Fiction"


def test_429_honours_retry_after(fake_tmdb):
    client, sleeps = recording_client(fake_tmdb)
    fake_tmdb.add_faults("/3/movie/862", Fault.status_code(429, retry_after=3))
    assert client.movie(862)["id"] == 862
    assert fake_tmdb.count("/3/movie/862") == 2
    assert max(sleeps) == 3.0  # the server's Retry-After, not the 0.01 s backoff


def test_5xx_are_retried_with_exponential_backoff(fake_tmdb):
    client, sleeps = recording_client(fake_tmdb)
    fake_tmdb.add_faults(
        "/3/movie/862", Fault.status_code(500), Fault.status_code(502), Fault.status_code(503)
    )
    assert client.movie(862)["id"] == 862
    assert fake_tmdb.count("/3/movie/862") == 4
    backoffs = [s for s in sleeps if s >= 0.005]
    assert backoffs == pytest.approx([0.01, 0.02, 0.04])


def test_timeout_is_retried(fake_tmdb):
    client, _ = recording_client(fake_tmdb, timeout=0.3)
    fake_tmdb.add_faults("/3/movie/862", Fault.sleep(1.0))
    assert client.movie(862)["id"] == 862
    assert fake_tmdb.count("/3/movie/862") == 2


def test_response_cut_short_is_retried(fake_tmdb):
    client, _ = recording_client(fake_tmdb)
    fake_tmdb.add_faults("/3/movie/862", Fault.cut())
    assert client.movie(862)["id"] == 862
    assert fake_tmdb.count("/3/movie/862") == 2


def test_401_is_fatal_at_once_and_names_the_fix(fake_tmdb):
    client, _ = recording_client(fake_tmdb, retries=5, key="not-the-key-0000")
    with pytest.raises(TMDBAuthError) as caught:
        client.movie(862)
    assert fake_tmdb.count("/3/movie/862") == 1
    assert "TMDB_API_KEY" in str(caught.value) and "key file" in str(caught.value)
    assert "--" not in str(caught.value)  # library terms, not a command-line flag
    assert "not-the-key-0000" not in str(caught.value)
    assert caught.value.status == 401


def test_404_is_not_retried(fake_tmdb):
    client, _ = recording_client(fake_tmdb, retries=5)
    with pytest.raises(TMDBNotFound) as caught:
        client.movie(999999)
    assert fake_tmdb.count("/3/movie/999999") == 1
    assert caught.value.status == 404
    assert_clean(caught.value)


def test_giving_up_after_the_retries_leaves_a_clean_error(fake_tmdb):
    client, _ = recording_client(fake_tmdb, retries=2)
    fake_tmdb.add_faults("/3/movie/862", *[Fault.status_code(500)] * 3)
    with pytest.raises(TMDBRequestFailed, match="after 3 attempts") as caught:
        client.movie(862)
    assert fake_tmdb.count("/3/movie/862") == 3
    assert_clean(caught.value)


def test_connection_errors_are_scrubbed():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = TMDBClient(
        API_KEY,
        api_base=f"http://127.0.0.1:{port}/3",
        rate=1e6,
        retry=RetryPolicy(retries=1, backoff=0.0),
        timeout=1.0,
    )
    with pytest.raises(TMDBRequestFailed, match="connection failed") as caught:
        client.movie(862)
    assert "api_key=***" in str(caught.value)  # requests quoted the URL; we scrubbed it
    assert_clean(caught.value)


def test_urllib3_debug_log_never_shows_the_key(client, caplog):
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        client.movie(862)
    assert "/3/movie/862" in caplog.text  # the request line was logged ...
    assert API_KEY not in caplog.text  # ... without the key


def test_tmdbsimple_global_key_is_put_back(client):
    before = tmdbsimple.API_KEY
    client.movie(862)
    assert tmdbsimple.API_KEY == before
    assert API_KEY not in repr(client)


def test_search_and_popular(client):
    results = client.search_movie("Movie 862", 1995)
    assert [r["id"] for r in results] == [862]
    page = client.popular(1)
    assert page["page"] == 1 and len(page["results"]) == 11


def test_image_download_and_errors(client, fake_tmdb):
    data = client.image("/poster862.jpg", "w185")
    assert data[:2] == b"\xff\xd8"
    with pytest.raises(TMDBNotFound):
        client.image("/nothere.jpg", "w185")
    with pytest.raises(DataError, match="poster size"):
        client.image("/poster862.jpg", "w999")
    with pytest.raises(DataError, match="image path"):
        client.image("/../../etc/passwd", "w185")


@pytest.mark.parametrize(
    "base", ["ftp://example.org/3", "api.themoviedb.org/3", "https://x.org/3?api_key=1"]
)
def test_bad_api_base_is_rejected(base):
    with pytest.raises(DataError, match=r"^api_base must be an http") as caught:
        TMDBClient(API_KEY, api_base=base)
    assert caught.value.parameter == "api_base"


def test_read_api_key(tmp_path):
    key_file = tmp_path / "key.txt"
    key_file.write_text("\n  abc123  \nignored\n", encoding="utf-8")
    assert read_api_key(key_file, environ={}) == "abc123"
    assert read_api_key(None, environ={"TMDB_API_KEY": "env-key"}) == "env-key"
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        read_api_key(tmp_path / "empty.txt", environ={})
    with pytest.raises(DataError, match="cannot read"):
        read_api_key(tmp_path / "absent.txt", environ={})
    with pytest.raises(MissingAPIKeyError, match=r"TMDB_API_KEY or give key_file") as caught:
        read_api_key(None, environ={"TMDB_API_KEY": "  "})
    assert caught.value.parameter == "key_file"


def test_an_image_server_401_is_a_failed_poster_not_a_bad_key(client, fake_tmdb):
    fake_tmdb.add_faults("/t/p/w185/poster862.jpg", Fault.status_code(401))
    with pytest.raises(TMDBRequestFailed, match="image server refused"):
        client.image("/poster862.jpg", "w185")
