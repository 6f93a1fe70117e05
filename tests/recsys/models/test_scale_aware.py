"""Scale-aware defaults: the bias model's L2 and learning rate follow the spread of the
ratings, values given explicitly never, and ml-latest-small's spread changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.data import load_dataset
from recsys.models.rating_model import RatingModel
from recsys.models.spec import DEFAULTS, REFERENCE_RATING_STD, rating_scale_factor


@pytest.fixture(scope="module")
def sample():
    ratings = load_dataset().ratings
    return ratings[ratings["user_id"] <= 60].reset_index(drop=True)


def test_factor_is_one_inside_the_band() -> None:
    assert rating_scale_factor(REFERENCE_RATING_STD) == 1.0
    assert rating_scale_factor(1.2) == 1.0
    assert rating_scale_factor(10 * REFERENCE_RATING_STD) == pytest.approx(10.0)
    assert rating_scale_factor(0.0) == 1.0 and rating_scale_factor(float("nan")) == 1.0


@pytest.mark.slow
def test_rescaled_ratings_scale_the_bias_defaults(sample, tmp_path: Path) -> None:
    tenfold = sample.assign(rating=sample["rating"] * 10)
    model = RatingModel("bias", epochs=1, factors=4).fit(tenfold)
    s = float(np.std(tenfold["rating"])) / REFERENCE_RATING_STD
    assert model.scale_factor_ == pytest.approx(s)
    params = model.resolved_params()
    assert params["l2"] == pytest.approx(DEFAULTS["bias"]["l2"] * s)
    assert params["learning_rate"] == pytest.approx(DEFAULTS["bias"]["learning_rate"] * s)
    assert params["bias_l2"] == DEFAULTS["bias"]["bias_l2"]  # not scale-aware
    assert model.spec_.l2 == pytest.approx(DEFAULTS["bias"]["l2"] * s)  # what trained
    model.save(tmp_path / "m")
    assert RatingModel.load(tmp_path / "m").resolved_params()["l2"] == pytest.approx(params["l2"])
    given = RatingModel("bias", epochs=1, factors=4, l2=0.3).fit(tenfold)
    assert given.resolved_params()["l2"] == 0.3  # explicit values are never scaled
    same = RatingModel("bias", epochs=1, factors=4).fit(sample)
    assert same.scale_factor_ == 1.0 and same.resolved_params()["l2"] == DEFAULTS["bias"]["l2"]
    dot = RatingModel("dot", epochs=1, factors=4).fit(tenfold)
    assert dot.resolved_params()["l2"] == DEFAULTS["dot"]["l2"]  # scale-free kind
