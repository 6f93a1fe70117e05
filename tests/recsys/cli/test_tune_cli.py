"""``recsys tune`` and :func:`recsys.tuning.tune_rating_model`: the search sees the
training part only, starts from the defaults, is seeded, and refuses bad budgets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main
from recsys.errors import InvalidParameterError
from recsys.models.spec import DEFAULTS
from recsys.tuning import SEARCH_SPACES, tune_rating_model

from .helpers import assert_one_line_error, invoke


def _ratings(seed: int, n_users: int = 60, n_movies: int = 40, n: int = 1500) -> pd.DataFrame:
    """Ratings with user and movie effects, so a bias model can learn something."""
    rng = np.random.default_rng(seed)
    users = rng.integers(1, n_users + 1, n)
    movies = rng.integers(1, n_movies + 1, n)
    effect = rng.normal(0, 0.8, n_users + 1)[users] + rng.normal(0, 0.8, n_movies + 1)[movies]
    rating = np.clip(np.round((3.0 + effect + rng.normal(0, 0.5, n)) * 2) / 2, 0.5, 5.0)
    frame = pd.DataFrame({"user_id": users, "movie_id": movies, "rating": rating})
    return frame.drop_duplicates(["user_id", "movie_id"]).reset_index(drop=True)


def test_search_spaces_contain_the_defaults() -> None:
    for kind, space in SEARCH_SPACES.items():
        defaults = dict(DEFAULTS[kind])
        before, after = defaults["dropout"]
        defaults.update(dropout_before=before, dropout_after=after)
        for name, param in space.items():
            value = defaults[name]
            if param.choices:
                assert value in param.choices, (kind, name)
            else:
                assert param.low <= value <= param.high, (kind, name)


@pytest.mark.slow
def test_first_trial_is_the_defaults_and_the_search_is_seeded() -> None:
    ratings = _ratings(0)
    first = tune_rating_model("bias", ratings, n_trials=3, seed=3, fixed={"epochs": 3})
    again = tune_rating_model("bias", ratings, n_trials=3, seed=3, fixed={"epochs": 3})
    row = first.trials.iloc[0]
    for name in SEARCH_SPACES["bias"]:
        assert row[name] == pytest.approx(DEFAULTS["bias"][name])
    assert len(first.trials) == 3
    assert first.best_rmse <= first.default_rmse
    assert first.best_rmse == pytest.approx(first.trials["rmse"].min())
    assert first.best_params["epochs"] == 3
    assert first.n_fit + first.n_validation == len(ratings)
    pd.testing.assert_frame_equal(
        first.trials.drop(columns="seconds"), again.trials.drop(columns="seconds")
    )
    assert first.best_params == again.best_params
    assert json.dumps(first.to_json())  # JSON-ready, the table included


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"kind": "svd"}, "kind"),
        ({"n_trials": 0}, "n_trials"),
        ({"timeout": float("nan")}, "timeout"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict, parameter: str) -> None:
    args = {"kind": "bias", **kwargs}
    kind = args.pop("kind")
    with pytest.raises(InvalidParameterError) as error:
        tune_rating_model(kind, _ratings(0), **args)
    assert error.value.parameter == parameter


@pytest.mark.slow
def test_the_test_part_is_never_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs with the same training file and different test files choose the same
    values from the same trial table: nothing of the test part reached the search."""
    ratings = _ratings(1)
    ratings = ratings.rename(columns={"user_id": "userId", "movie_id": "movieId"})
    cut = int(len(ratings) * 0.8)
    train, test = ratings.iloc[:cut], ratings.iloc[cut:]
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test_a.csv", index=False)
    shuffled = test.assign(
        rating=np.random.default_rng(9).permutation(test["rating"].to_numpy(copy=True))
    )
    shuffled.to_csv(tmp_path / "test_b.csv", index=False)
    tables, test_rmse = [], []
    for name in ("a", "b"):
        out = tmp_path / f"model_{name}"
        split = f"files:{tmp_path / 'train.csv'},{tmp_path / f'test_{name}.csv'}"
        code, printed, err = invoke(
            main,
            ["tune", "--split", split, "--trials", "2", "--epochs", "2", "--out", str(out)],
            capsys,
        )
        assert code == 0, err
        assert "the test part is not read" in printed
        tuning = json.loads((out / "tuning.json").read_text())
        for row in tuning["trials"]:
            row.pop("seconds")
        tables.append(tuning)
        test_rmse.append(json.loads((out / "metrics.json").read_text())["rmse"])
        assert json.loads((out / "metrics.json").read_text())["tuning"]["n_trials"] == 2
        # the final model averages FINAL_MEMBERS networks with the chosen values
        assert tuning["final_members"] == 5 and "bias model (5 members)" in printed
        assert json.loads((out / "metrics.json").read_text())["members"] == 5
    tables[0].pop("seconds"), tables[1].pop("seconds")
    assert tables[0] == tables[1]
    assert test_rmse[0] != test_rmse[1]  # the test files did differ


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--trials", "0"], "--trials 0"),
        (["--timeout", "-5"], "--timeout -5"),
        (["--validation-fraction", "1.5"], "--validation-fraction"),
        (["--model", "svd"], "invalid choice"),
        (["--model", "mlp", "--members", "2"], "not linear in its embeddings"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    out = tmp_path / "model"
    code, _, err = invoke(main, ["tune", *args, "--out", str(out)], capsys)
    if "invalid choice" in fragment:  # argparse's own usage message
        assert code == 2 and fragment in err
    else:
        assert_one_line_error(code, err, fragment)
    assert not out.exists()


def test_scale_aware_ranges_follow_the_defaults() -> None:
    from recsys.models.spec import SCALE_AWARE
    from recsys.tuning import scaled_space

    for kind in SEARCH_SPACES:
        space = scaled_space(kind, 20.0)
        for name, param in space.items():
            base = SEARCH_SPACES[kind][name]
            factor = 20.0 if name in SCALE_AWARE[kind] else 1.0
            assert (param.low, param.high) == (base.low * factor, base.high * factor)
            if name in DEFAULTS[kind] and not param.choices:
                assert param.low <= DEFAULTS[kind][name] * factor <= param.high
    assert scaled_space("bias", 1.0) == SEARCH_SPACES["bias"]
