"""Tiny inputs for the feature tests: posters, word vectors, a metadata store, a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

#: Hand-made 3-d word vectors in word2vec text format ("<count> <dim>" header line).
WORD_VECTORS = """5 3
space 1 0 0
alien 0.8 0.2 0
love 0 1 0
wedding 0 0.8 0.2
ghost 0 0 1
"""

#: Overviews of movies 100..105 (movie 104 has no known word, 105 only stop words).
OVERVIEWS = {
    100: "An alien lands in space.",
    101: "Love at a wedding!",
    102: "A ghost haunts the wedding.",
    103: "Space, love and the alien's ghost.",
    104: "Zyxx qwerty.",
    105: "It is the one.",
}


def write_jpeg(path: Path, colour: tuple[int, int, int], size: int = 40, seed: int = 0) -> Path:
    """A small JPEG: a colour plus some noise (so the CNN sees texture)."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(
        np.array(colour)[None, None, :] + rng.normal(0, 25, (size, size, 3)), 0, 255
    ).astype(np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=90)
    return path


@pytest.fixture
def poster_dir(tmp_path: Path) -> Path:
    """Posters of movies 100..103 (104 has a corrupt file, 105 a truncated one)."""
    folder = tmp_path / "posters"
    folder.mkdir()
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    for i, colour in enumerate(colours):
        write_jpeg(folder / f"{100 + i}.jpg", colour, seed=i)
    (folder / "104.jpg").write_bytes(b"this is not an image")
    full = (folder / "100.jpg").read_bytes()
    (folder / "105.jpg").write_bytes(full[: len(full) // 3])
    return folder


@pytest.fixture
def word_vectors_file(tmp_path: Path) -> Path:
    path = tmp_path / "vectors.txt"
    path.write_text(WORD_VECTORS, encoding="utf-8")
    return path


@pytest.fixture
def metadata_store(tmp_path: Path, poster_dir: Path) -> Path:
    """A real metadata store (recsys metadata import) of movies 100..106 with posters;
    movie 106's poster file is missing on disk and 107 has no poster at all."""
    from recsys.metadata import MetadataStore, import_metadata

    rows = []
    for movie_id in range(100, 108):
        poster = poster_dir / f"{movie_id}.jpg"
        rows.append(
            {
                "movieId": movie_id,
                "tmdbId": 1000 + movie_id,
                "title": f"Movie {movie_id}",
                "overview": OVERVIEWS.get(movie_id, ""),
                "genres": "Comedy",
                "poster_file": str(poster) if movie_id != 107 else "",
            }
        )
    csv = tmp_path / "meta.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    store = tmp_path / "meta.sqlite"
    with MetadataStore(store) as handle:
        import_metadata(handle, csv, progress=False)
    return store


@pytest.fixture(scope="session")
def rating_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small bias model (movies 100..159) saved with ``RatingModel.save``."""
    from recsys.models.rating_model import RatingModel
    from tests.recsys.models.synthetic import planted_movies, planted_ratings

    ratings = planted_ratings(n_users=40, n_movies=60, density=0.5)
    model = RatingModel(
        "bias", factors=6, epochs=2, validation_fraction=0.0, seed=0, verbose=False
    ).fit(ratings, movies=planted_movies(ratings))
    out = tmp_path_factory.mktemp("rating") / "bias"
    model.save(str(out))
    return out


@pytest.fixture(scope="session")
def side_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small bias model fitted with the ``genres`` block as side features (movies
    100..159: their genres are the signs of planted features)."""
    from recsys.features.blocks import genres_block
    from recsys.models.rating_model import RatingModel
    from tests.recsys.models.synthetic import planted_side

    planted = planted_side(n_users=40, n_movies=60, density=0.5)
    model = RatingModel("bias", factors=6, epochs=2, validation_fraction=0.0, seed=0).fit(
        planted.ratings,
        movies=planted.movies,
        side_features=[genres_block(planted.movies, source="planted")],
    )
    out = tmp_path_factory.mktemp("rating") / "side"
    model.save(str(out))
    return out
