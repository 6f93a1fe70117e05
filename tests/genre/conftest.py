"""Small synthetic inputs for the genre tests.

The overviews are made up from a few words per genre plus filler, so a text model can
learn something, and are built at test time from the bundled MovieLens movies (TMDB
overviews may not be committed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import load_dataset

GENRE_WORDS = {
    "Action": "explosion chase fight",
    "Adventure": "journey quest treasure",
    "Animation": "animated cartoon toys",
    "Children": "kids family friendship",
    "Comedy": "funny hilarious mishap",
    "Crime": "gangster heist police",
    "Drama": "struggle grief life",
    "Fantasy": "magic wizard kingdom",
    "Horror": "ghost blood terror",
    "Mystery": "clue secret detective",
    "Romance": "love wedding heart",
    "Sci-Fi": "alien space robot",
    "Thriller": "danger killer suspense",
    "War": "soldier battle army",
}
FILLER = "a the city man woman young old story world new finds must year".split()


@pytest.fixture(scope="session")
def movielens():
    return load_dataset()


def write_metadata_csv(
    path: Path, movielens, *, n: int = 240, seed: int = 0, empty_every: int = 40
) -> Path:
    """A movies_enriched-like CSV for the first ``n`` MovieLens movies."""
    rng = np.random.default_rng(seed)
    movies = movielens.movies.head(n)
    overviews = []
    for i, genres in enumerate(movies["genres"]):
        if empty_every and i % empty_every == 7:
            overviews.append("")
            continue
        words = [w for g in genres for w in GENRE_WORDS.get(g, "").split() if rng.random() < 0.7]
        words += list(rng.choice(FILLER, size=6))
        rng.shuffle(words)
        overviews.append(" ".join(words))
    frame = pd.DataFrame(
        {
            "movieId": movies["movie_id"],
            "title": movies["title"],
            "genres": ["|".join(g) for g in movies["genres"]],
            "imdbId": "",
            "tmdbId": movies["tmdb_id"],
            "overview": overviews,
            "tagline": "",
            "runtime": "",
            "tmdb_rating": "",
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def metadata_csv(tmp_path: Path, movielens) -> Path:
    return write_metadata_csv(tmp_path / "movies_enriched.csv", movielens)
