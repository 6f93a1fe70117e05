"""A small ratings set with a planted structure, for fast model tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.data import make_movies, make_ratings
from recsys.features import FeatureBlock


def planted_ratings(
    n_users: int = 80, n_movies: int = 60, density: float = 0.5, factors: int = 3, seed: int = 0
) -> pd.DataFrame:
    """Ratings ``clip(3 + b_u + b_m + p_u . q_m + noise, 1, 5)`` on a random subset of pairs."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.6, (n_users, factors))
    q = rng.normal(0, 0.6, (n_movies, factors))
    bu = rng.normal(0, 0.4, n_users)
    bm = rng.normal(0, 0.4, n_movies)
    users, movies = np.nonzero(rng.random((n_users, n_movies)) < density)
    values = 3 + bu[users] + bm[movies] + np.sum(p[users] * q[movies], axis=1)
    values = np.clip(np.round((values + rng.normal(0, 0.2, len(users))) * 2) / 2, 1, 5)
    return make_ratings(users + 1, movies + 100, values, np.arange(len(users)))


def planted_movies(ratings: pd.DataFrame) -> pd.DataFrame:
    ids = np.unique(ratings["movie_id"].to_numpy())
    return make_movies(ids, [f"Movie {i} ({1950 + i % 60})" for i in ids])


@dataclass(frozen=True)
class PlantedSide:
    """Ratings whose movie factors and biases are linear in observed movie features."""

    ratings: pd.DataFrame
    movies: pd.DataFrame  # with genres: the signs of the first three features
    features: FeatureBlock  # the planted features ("traits"), all movies
    genres: FeatureBlock  # 0/1 genre labels ("genres")


def planted_side(
    n_users: int = 100,
    n_movies: int = 120,
    n_features: int = 6,
    factors: int = 3,
    density: float = 0.3,
    seed: int = 0,
) -> PlantedSide:
    """``r = 3 + b_u + f_m . w + p_u . (f_m A) + noise``: features ``f_m`` fix each movie.

    Movie ids are ``100 ..``; the genres (``A``, ``B``, ``C``) are the signs of the first
    three features, so a genre-mean baseline sees part of the movie bias but nothing
    of the user-movie interaction.
    """
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 1, (n_movies, n_features))
    q = f @ rng.normal(0, 0.5, (n_features, factors))
    bm = f @ rng.normal(0, 0.25, n_features)
    p = rng.normal(0, 0.6, (n_users, factors))
    bu = rng.normal(0, 0.3, n_users)
    users, movies = np.nonzero(rng.random((n_users, n_movies)) < density)
    values = 3 + bu[users] + bm[movies] + np.sum(p[users] * q[movies], axis=1)
    values = np.clip(np.round((values + rng.normal(0, 0.2, len(users))) * 2) / 2, 1, 5)
    ids = np.arange(n_movies) + 100
    labels = f[:, :3] > 0
    names = ("A", "B", "C")
    genres = [tuple(g for g, on in zip(names, row, strict=True) if on) for row in labels]
    return PlantedSide(
        ratings=make_ratings(users + 1, movies + 100, values, np.arange(len(users))),
        movies=make_movies(ids, [f"Movie {i} ({1950 + i % 60})" for i in ids], genres),
        features=FeatureBlock.from_arrays("traits", ids, f, provenance={"planted": True}),
        genres=FeatureBlock.from_arrays(
            "genres", ids, labels.astype(np.float32), mask=labels.any(axis=1), columns=names
        ),
    )


def two_group_ratings(
    n_users: int = 60, n_movies: int = 40, density: float = 0.6, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two taste groups: users of group a like movies of group A and dislike group B, and
    the other way round for group b. Every movie gets the same mean rating on average, so
    only the embeddings (not the biases) can tell the groups apart.

    Movies ``100 .. 100 + n_movies/2 - 1`` are group A (genre Drama, 1950s-60s), the rest
    group B (genre Action, 2000s). Returns ``(ratings, movies)``.
    """
    rng = np.random.default_rng(seed)
    user_group = np.arange(n_users) % 2
    movie_group = (np.arange(n_movies) >= n_movies // 2).astype(int)
    users, movies = np.nonzero(rng.random((n_users, n_movies)) < density)
    liked = user_group[users] == movie_group[movies]
    values = np.where(liked, 4.5, 1.5) + rng.normal(0, 0.3, len(users))
    values = np.clip(np.round(values * 2) / 2, 0.5, 5)
    ratings = make_ratings(users + 1, movies + 100, values, np.arange(len(users)))
    ids = np.arange(n_movies) + 100
    years = np.where(movie_group == 0, 1950, 2000) + ids % 20
    titles = [
        f"{'Drama' if g == 0 else 'Action'} movie {i} ({y})"
        for i, g, y in zip(ids, movie_group, years, strict=True)
    ]
    genres = [("Drama",) if g == 0 else ("Action",) for g in movie_group]
    return ratings, make_movies(ids, titles, genres)
