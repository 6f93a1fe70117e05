"""(user, day) biases: fitted on the network's residuals, chosen on validation only,
applied to predictions given a timestamp, saved, and never fitted on an explicit
validation part."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import make_ratings
from recsys.errors import InvalidParameterError
from recsys.evaluation.rating import evaluate_model, rmse
from recsys.models.day_bias import DAY_SECONDS, DayBiases, choose_day_biases, rating_days
from recsys.models.rating_model import RatingModel

FAST = dict(factors=4, epochs=6, batch_size=256, learning_rate=0.02)


def planted_days(
    n_users: int = 120, n_movies: int = 80, days: int = 3, per_day: int = 12, seed: int = 0
) -> pd.DataFrame:
    """``r = 3 + b_u + b_m + o_{u,d} + noise``: every user rates in ``days`` sittings, each
    with its own offset ``o_{u,d}`` (sd 0.6), as Koren's day-specific user bias."""
    rng = np.random.default_rng(seed)
    bu, bm = rng.normal(0, 0.3, n_users), rng.normal(0, 0.4, n_movies)
    users, movies, stamps, sitting = [], [], [], []
    for u in range(n_users):
        chosen = rng.choice(n_movies, days * per_day, replace=False)
        first = int(rng.integers(10_000, 12_000))
        for d in range(days):
            for m in chosen[d * per_day : (d + 1) * per_day]:
                users.append(u)
                movies.append(m)
                stamps.append((first + 7 * d) * DAY_SECONDS + int(rng.integers(0, 3600)))
                sitting.append(d)
    users_a, movies_a, stamps_a = np.array(users), np.array(movies), np.array(stamps)
    offset = rng.normal(0, 0.6, (n_users, days))[users_a, np.array(sitting)]
    values = 3 + bu[users_a] + bm[movies_a] + offset + rng.normal(0, 0.3, len(users_a))
    values = np.clip(np.round(values * 2) / 2, 0.5, 5)
    return make_ratings(users_a + 1, movies_a + 1, values, stamps_a)


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return planted_days()


@pytest.fixture(scope="module")
def parts(ratings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    test = np.random.default_rng(1).random(len(ratings)) < 0.15
    return ratings[~test], ratings[test]


def test_table_is_a_shrunk_mean_per_user_and_day() -> None:
    table = DayBiases.fit([3, 3, 3, 5], [100, 100, 101, 100], [1.0, 2.0, -1.0, 0.5], shrinkage=2.0)
    got = table.lookup([3, 3, 5, 5, -1, 7], [100, 101, 100, 101, 100, 100])
    np.testing.assert_allclose(got, [3.0 / 4, -1.0 / 3, 0.5 / 3, 0, 0, 0], rtol=1e-6)
    assert table.to_json() == {"shrinkage": 2.0, "n_pairs": 3}


def test_days_before_the_epoch_and_far_users_keep_their_own_keys() -> None:
    days = rating_days([-DAY_SECONDS - 1, -1, 0, DAY_SECONDS * 30_000])
    assert days.tolist() == [-2, -1, 0, 30_000]
    table = DayBiases.fit([0, 0, 0, 2**20], days, [1.0, 2.0, 3.0, 4.0], shrinkage=1.0)
    np.testing.assert_allclose(table.lookup([0, 0, 0, 2**20], days), [0.5, 1.0, 1.5, 2.0])


def test_no_gain_on_validation_chooses_no_day_term() -> None:
    rng = np.random.default_rng(0)
    users, days = rng.integers(0, 50, 2000), rng.integers(0, 3, 2000)
    fit = (users[:1500], days[:1500], rng.normal(0, 1, 1500))  # residuals: pure noise
    truth = rng.normal(3, 1, 500)
    validation = (users[1500:], days[1500:], np.full(500, 3.0), truth)
    chosen, report = choose_day_biases(fit, validation, (0.0, 6.0))
    assert chosen is None
    assert min(report["validation_rmse"].values()) >= report["validation_rmse_without"]


def test_the_day_term_lowers_held_out_error_and_leaves_plain_predictions_alone(
    parts: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = parts
    model = RatingModel("bias", **FAST).fit(train)
    plain = RatingModel("bias", **FAST, day_bias="off").fit(train)
    assert plain.day_biases_ is None and plain.day_bias_report_ is None
    assert model.day_biases_ is not None
    assert model.day_bias_report_["shrinkage"] == model.day_biases_.shrinkage
    report = model.day_bias_report_
    assert report["validation_rmse"][f"{report['shrinkage']:g}"] < report["validation_rmse_without"]
    users, movies, stamps = test["user_id"], test["movie_id"], test["timestamp"]
    truth = test["rating"].to_numpy()
    # the same network either way: without timestamps the predictions are the plain ones
    np.testing.assert_array_equal(model.predict(users, movies), plain.predict(users, movies))
    with_days = model.predict(users, movies, stamps)
    assert rmse(truth, with_days) < rmse(truth, plain.predict(users, movies)) - 0.05
    frame = model.predict_frame(users, movies, stamps)
    np.testing.assert_allclose(
        frame["prediction"],
        np.clip(model.predict(users, movies) + frame["day_bias"], *model.rating_scale_),
        rtol=1e-6,
    )
    # a day the user never rated on in training adds nothing
    later = stamps.to_numpy() + 365 * DAY_SECONDS
    np.testing.assert_array_equal(model.predict(users, movies, later), model.predict(users, movies))


def test_an_explicit_validation_part_is_never_fitted_on(
    parts: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = parts
    # the validation part: every rating of one sitting per user, so its (user, day)
    # pairs have no rating in the fitting part
    first_day = (
        rating_days(train["timestamp"])
        == train.groupby("user_id")["timestamp"]
        .transform(lambda t: rating_days(t.min()))
        .to_numpy()
    )
    fit_part, validation = train[~first_day], train[first_day]
    model = RatingModel("bias", **FAST).fit(fit_part, validation=validation)
    # fitted on the fitting part only, no candidate can help these ratings: no day term
    # (one fitted on the validation part would have lowered its RMSE and been chosen)
    assert model.day_biases_ is None
    assert model.day_bias_report_["why"] == "no shrinkage lowered the validation RMSE"
    # and with a validation part that shares sittings, the table holds the fitting part only
    half = np.random.default_rng(2).random(len(train)) < 0.2
    model = RatingModel("bias", **FAST).fit(train[~half], validation=train[half])
    assert model.day_biases_ is not None
    fitted = DayBiases.fit(*model._residuals(train[~half]), shrinkage=model.day_biases_.shrinkage)
    np.testing.assert_array_equal(model.day_biases_.keys, fitted.keys)
    np.testing.assert_allclose(model.day_biases_.values, fitted.values, rtol=1e-6)


def test_the_carved_share_joins_the_refitted_table(ratings: pd.DataFrame) -> None:
    model = RatingModel("bias", **FAST, validation_fraction=0.2).fit(ratings)
    assert model.day_biases_ is not None
    every = DayBiases.fit(*model._residuals(ratings), shrinkage=model.day_biases_.shrinkage)
    np.testing.assert_array_equal(model.day_biases_.keys, every.keys)
    np.testing.assert_allclose(model.day_biases_.values, every.values, rtol=1e-6)


def test_without_timestamps_or_validation_there_is_no_day_term(ratings: pd.DataFrame) -> None:
    model = RatingModel("bias", **FAST).fit(ratings.drop(columns="timestamp"))
    assert model.day_biases_ is None
    assert model.day_bias_report_ == {
        "shrinkage": None,
        "why": "the training ratings have no timestamps",
    }
    model = RatingModel("bias", **FAST, validation_fraction=0.0).fit(ratings)
    assert model.day_biases_ is None and "validation" in model.day_bias_report_["why"]


def test_save_load_and_evaluation(parts: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path):
    train, test = parts
    model = RatingModel("bias", **FAST).fit(train)
    users, movies, stamps = test["user_id"], test["movie_id"], test["timestamp"]
    expected = model.predict(users, movies, stamps)
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "recsys_model.json").read_text())
    assert meta["day_biases"]["shrinkage"] == model.day_biases_.shrinkage
    assert meta["day_biases"]["n_pairs"] == len(model.day_biases_.keys)
    again = RatingModel.load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict(users, movies, stamps), expected)
    report = evaluate_model(again, train, test)
    assert report["rmse"] == pytest.approx(rmse(test["rating"], expected))
    days = report["day_biases"]
    assert days["without"]["rmse"] == pytest.approx(
        rmse(test["rating"], again.predict(users, movies))
    )
    assert days["without"]["rmse"] > report["rmse"]
    assert days["bias_only_with_day_biases"]["rmse"] < report["baselines"]["bias_only"]["rmse"]
    assert 0 < days["n_test_with_bias"] <= len(test)


def test_bad_timestamps_and_bad_setting(parts: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = parts
    model = RatingModel("bias", **FAST).fit(train)
    with pytest.raises(InvalidParameterError, match="one per pair"):
        model.predict(test["user_id"], test["movie_id"], test["timestamp"][:3])
    with pytest.raises(InvalidParameterError, match="integers"):
        model.predict([1], [1], ["yesterday"])
    with pytest.raises(InvalidParameterError) as error:
        RatingModel("bias", day_bias="always").fit(train)
    assert error.value.parameter == "day_bias"


def test_millisecond_timestamps_get_no_day_term(ratings: pd.DataFrame) -> None:
    in_ms = ratings.assign(timestamp=ratings["timestamp"] * 1000)
    model = RatingModel("bias", **FAST).fit(in_ms)
    assert model.day_biases_ is None and "seconds" in model.day_bias_report_["why"]


def test_unknown_users_get_no_entry() -> None:
    table = DayBiases.fit([-1, 0, -1], [3, 3, 3], [5.0, 1.0, 5.0], shrinkage=1.0)
    assert len(table.keys) == 1 and table.lookup([0], [3]).tolist() == [0.5]
