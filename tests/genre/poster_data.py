"""Tiny synthetic posters for the poster CNN tests: coloured shapes whose colour
decides the genre, so a correct pipeline must learn them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Genre -> the RGB colour of its shapes.
COLOURS = {"Comedy": (230, 40, 40), "Drama": (40, 200, 60), "Horror": (50, 60, 230)}
GENRES = tuple(COLOURS)


def shape_images(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (uint8, (n, size, size, 3)) on a grey noisy background, each with a
    square or a disc per genre it has (1 or 2 genres), and labels (n, 3)."""
    rng = np.random.default_rng(seed)
    Y = np.zeros((n, len(GENRES)), np.uint8)
    images = rng.integers(90, 140, size=(n, size, size, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        chosen = rng.choice(len(GENRES), size=1 + int(rng.random() < 0.3), replace=False)
        Y[i, chosen] = 1
        for g in chosen:
            r = int(rng.integers(size // 6, size // 3))
            cy, cx = rng.integers(r, size - r, size=2)
            if rng.random() < 0.5:
                mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            else:
                mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
            images[i][mask] = COLOURS[GENRES[g]]
    return images, Y


def write_posters(folder: Path, movie_ids, images: np.ndarray) -> Path:
    """Save ``images`` as ``<movieId>.png`` files in ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for movie, image in zip(movie_ids, images, strict=True):
        Image.fromarray(image).save(folder / f"{int(movie)}.png")
    return folder


def poster_dataset(root: Path, n: int = 120, size: int = 32, seed: int = 0) -> tuple[Path, Path]:
    """A labelled set of ``n`` movies (``genre dataset`` layout) whose genres are those of
    their synthetic posters, and the posters folder (``<movieId>.png``); returns both."""
    import pandas as pd

    from genre.data.dataset import build_labelled, save_labelled

    images, Y = shape_images(n, size, seed)
    ids = np.arange(1, n + 1)
    genres = [tuple(g for g, y in zip(GENRES, row, strict=True) if y) for row in Y]
    meta = pd.DataFrame(
        {
            "movie_id": ids,
            "title": [f"Movie {i}" for i in ids],
            "year": pd.NA,
            "overview": "a poster",
            "tmdb_genres": [()] * n,
        }
    )
    ml = pd.DataFrame({"movie_id": ids, "title": "T", "year": 2000, "genres": genres})
    data = build_labelled(meta, ml, fractions=(0.6, 0.2, 0.2), min_genre_fraction=0.0)
    dataset = save_labelled(data, root / "dataset")
    return Path(dataset), write_posters(root / "posters", ids, images)
