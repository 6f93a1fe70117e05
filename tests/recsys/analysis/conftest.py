"""Tiny fitted models shared by the analysis tests (trained once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys.models.rating_model import RatingModel
from tests.recsys.models.synthetic import two_group_ratings

KINDS = ("dot", "bias", "mlp")


def fit_tiny(kind: str, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> RatingModel:
    """A few-second model: 8 factors, at most 30 epochs."""
    return RatingModel(
        kind, factors=8, l2=0.01, learning_rate=0.02, batch_size=128, epochs=30, patience=5, seed=0
    ).fit(ratings, movies=movies)


@pytest.fixture(scope="session")
def two_groups() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Planted structure: two taste groups of users and two groups of movies."""
    return two_group_ratings()


@pytest.fixture(scope="session")
def models(two_groups: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, RatingModel]:
    """One fitted model of every kind on the two-group ratings."""
    ratings, movies = two_groups
    return {kind: fit_tiny(kind, ratings, movies) for kind in KINDS}


@pytest.fixture(scope="session")
def model_dirs(
    models: dict[str, RatingModel], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The fitted models saved as `recsys train` would."""
    root = tmp_path_factory.mktemp("analysis-models")
    dirs = {}
    for kind, model in models.items():
        model.save(str(root / kind))
        dirs[kind] = root / kind
    return dirs
