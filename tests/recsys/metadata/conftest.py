"""Fixtures for the metadata tests: a fake TMDB over real HTTP and small link files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.metadata.client import TMDBClient
from recsys.metadata.ratelimit import RetryPolicy
from tests.recsys.metadata.fake_tmdb import FakeTMDB, make_movie

#: A key that is easy to find if it ever leaks into a file or an output.
API_KEY = "k3y-SeCrEt-0f1e2d3c4b5a69788796a5b4c3d2e1f0"

#: (movie_id, tmdb_id) of the test catalogue; tmdb 999999 is unknown to the server (404).
LINKS = [
    (1, 862),
    (2, 8844),
    (3, 15602),
    (4, 31357),
    (5, 11862),
    (6, 949),
    (7, 11860),
    (8, 45325),
    (9, 9091),
    (10, 710),
    (11, 999999),
    (12, 9087),
]


def catalogue() -> list[dict]:
    """Movies the fake server knows: one Foreign-genre movie, one without a poster."""
    movies = []
    for _, tmdb_id in LINKS:
        if tmdb_id == 999999:
            continue
        genres = (18, 10769) if tmdb_id == 949 else (878, 10751) if tmdb_id == 862 else (35,)
        movies.append(make_movie(tmdb_id, genres=genres, poster=tmdb_id != 710))
    return movies


def write_links(path: Path, links: list[tuple[int, int | None]] = LINKS) -> Path:
    lines = ["movieId,imdbId,tmdbId"]
    for movie_id, tmdb_id in links:
        imdb = f"{100000 + movie_id:07d}"
        lines.append(f"{movie_id},{imdb},{'' if tmdb_id is None else tmdb_id}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: A movie whose poster path is set but whose image the server does not have (404).
NO_IMAGE = "/poster9087.jpg"


@pytest.fixture
def fake_tmdb() -> Iterator[FakeTMDB]:
    """A running fake TMDB with the test catalogue (fresh for each test)."""
    with FakeTMDB(API_KEY, catalogue(), missing_images=(NO_IMAGE,)) as server:
        yield server


@pytest.fixture
def client(fake_tmdb: FakeTMDB) -> Iterator[TMDBClient]:
    """A real client pointed at the fake server, with short retries and timeouts."""
    with TMDBClient(
        API_KEY,
        api_base=fake_tmdb.api_base,
        image_base=fake_tmdb.image_base,
        rate=500.0,
        retry=RetryPolicy(retries=3, backoff=0.01),
        timeout=2.0,
    ) as tmdb:
        yield tmdb
