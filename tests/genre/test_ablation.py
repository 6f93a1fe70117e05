"""run_ablation's checks happen before any row runs (a worker pool gets only runnable rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genre.data.dataset import build_labelled
from genre.fusion.ablation import run_ablation
from genre.fusion.block_inputs import BlockInputs
from recsys.errors import DataError, InvalidParameterError


@pytest.fixture(scope="module")
def small() -> tuple:
    words = {"Comedy": "joke laugh fun", "Horror": "ghost blood fear"}
    genres = [("Comedy",), ("Horror",)] * 20
    meta = pd.DataFrame(
        {
            "movie_id": range(1, 41),
            "title": "",
            "year": pd.NA,
            "overview": [words[g[0]] + " story" for g in genres],
            "tmdb_genres": [()] * 40,
        }
    )
    ml = pd.DataFrame({"movie_id": range(1, 41), "title": "T", "year": 2000, "genres": genres})
    data = build_labelled(meta, ml, fractions=(0.5, 0.25, 0.25), min_genre_fraction=0.0)
    rng = np.random.default_rng(0)
    inputs = BlockInputs(
        data.frame["movie_id"].to_numpy(),
        {"a": rng.normal(0, 1, (40, 3)).astype("float32")},
        {"a": np.ones(40, bool)},
    )
    return data, inputs


@pytest.mark.parametrize("n_jobs", [0, -2])
def test_bad_n_jobs_is_refused(small, n_jobs: int) -> None:
    data, inputs = small
    with pytest.raises(InvalidParameterError, match="n_jobs must be at least 1") as caught:
        run_ablation(data, inputs, [("a",)], n_jobs=n_jobs)
    assert caught.value.parameter == "n_jobs"


def test_a_block_that_is_not_loaded_is_refused_before_any_row(small) -> None:
    data, inputs = small
    rows: list[dict] = []
    with pytest.raises(DataError, match="block 'b' was not loaded"):
        run_ablation(data, inputs, [("a",), ("a", "b")], classical=["nb"], on_row=rows.append)
    assert rows == []  # not even the classical row, which would run first
