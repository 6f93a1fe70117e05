"""A small ratings set with a planted structure, for fast model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data import make_movies, make_ratings


def planted_ratings(n_users: int = 80, n_movies: int = 60, density: float = 0.5,
                    factors: int = 3, seed: int = 0) -> pd.DataFrame:
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
