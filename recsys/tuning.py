"""Choose a rating model's hyper-parameters on validation ratings carved from the
training part, with Optuna's TPE sampler.

Optuna is used rather than a hand-written search: it is well kept, samples
conditional and log-scaled spaces, is seeded (same seed, same trials), and its study
API gives trial and time budgets. Nothing here sees a test part: the caller passes the
training ratings only, a seeded share of them is held out as the validation part, each
trial trains on the rest (early-stopping on that validation part) and is ranked by its
validation RMSE (with the model's (user, day) biases when the ratings have timestamps:
see :mod:`recsys.models.day_bias`). The first trial is always the model's defaults, so
the chosen values are never worse on validation than the defaults.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recsys.errors import DataError, InvalidParameterError, RecsysError

if TYPE_CHECKING:
    import optuna

__all__ = [
    "FINAL_MEMBERS",
    "SEARCH_SPACES",
    "Param",
    "TrialLog",
    "TuningResult",
    "scaled_space",
    "tune_rating_model",
]


@dataclass(frozen=True)
class Param:
    """One searched hyper-parameter.

    Attributes
    ----------
    low, high : the range (inclusive) of a numeric parameter.
    log : sample on a log scale.
    integer : an integer parameter.
    choices : the values of a categorical parameter (``low``/``high`` unused).
    """

    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """The trial's value for ``name``."""
        if self.choices:
            return trial.suggest_categorical(name, list(self.choices))
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)


_BATCHES = (1024, 2048, 4096, 8192, 16384)
_LEARNING_RATE = Param(1e-3, 5e-2, log=True)

#: The searched space per model kind. Each contains the kind's defaults
#: (:data:`recsys.models.spec.DEFAULTS`), which are tried first. ``dropout_before`` and
#: ``dropout_after`` make the mlp's ``dropout`` pair.
SEARCH_SPACES: dict[str, dict[str, Param]] = {
    "bias": {
        "factors": Param(8, 256, log=True, integer=True),
        "l2": Param(1e-3, 1.0, log=True),
        "bias_l2": Param(1e-5, 0.1, log=True),
        "learning_rate": _LEARNING_RATE,
        "batch_size": Param(choices=_BATCHES),
    },
    "dot": {
        "factors": Param(8, 256, log=True, integer=True),
        "l2": Param(1e-3, 1.0, log=True),
        "learning_rate": _LEARNING_RATE,
        "batch_size": Param(choices=_BATCHES),
    },
    "mlp": {
        "factors": Param(8, 128, log=True, integer=True),
        "l2": Param(1e-5, 0.1, log=True),
        "hidden": Param(16, 512, log=True, integer=True),
        "dropout_before": Param(0.0, 0.6),
        "dropout_after": Param(0.0, 0.8),
        "learning_rate": _LEARNING_RATE,
        "batch_size": Param(choices=_BATCHES),
    },
}


#: Networks averaged in the model ``recsys tune`` trains with the chosen values, per
#: kind (:class:`~recsys.models.rating_model.RatingModel`'s ``members``); each trial
#: trains one. On ml-latest-small ``random:0.1`` five ``bias`` members lowered the
#: validation RMSE of the defaults from 0.8483 to 0.8446 (three: 0.8453), for five
#: times one final fit; ``mlp`` networks cannot be averaged into one.
FINAL_MEMBERS: dict[str, int] = {"dot": 5, "bias": 5, "mlp": 1}


@dataclass(frozen=True)
class TrialLog:
    """What one finished trial reports to a progress callback."""

    number: int
    params: dict[str, Any]
    rmse: float
    best_rmse: float
    seconds: float
    epochs: int


@dataclass
class TuningResult:
    """The outcome of :func:`tune_rating_model`.

    Attributes
    ----------
    kind : the model kind.
    best_params : the chosen :class:`~recsys.models.rating_model.RatingModel` keyword
        arguments (``dropout`` as a pair for the mlp).
    best_rmse : their validation RMSE.
    default_rmse : the validation RMSE of the kind's defaults (trial 0).
    baseline_rmse : the bias-only baseline's validation RMSE (fitted on the same part).
    n_fit, n_validation : ratings the trials trained on / were ranked on.
    trials : one row per trial: ``number``, the sampled values, ``rmse``,
        ``epochs``, ``seconds``, ``state``.
    seconds : wall time of the search.
    """

    kind: str
    best_params: dict[str, Any]
    best_rmse: float
    default_rmse: float
    baseline_rmse: float
    n_fit: int
    n_validation: int
    trials: pd.DataFrame = field(repr=False)
    seconds: float = 0.0
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description, the trial table included (as records)."""
        trials = self.trials.astype(object).where(self.trials.notna(), None)
        return {
            "kind": self.kind,
            "sampler": "optuna TPESampler",
            "seed": self.seed,
            "best_params": {
                k: list(v) if isinstance(v, tuple) else v for k, v in self.best_params.items()
            },
            "validation_rmse": {
                "best": self.best_rmse,
                "defaults": self.default_rmse,
                "bias_only_baseline": self.baseline_rmse,
            },
            "n_fit": self.n_fit,
            "n_validation": self.n_validation,
            "n_trials": len(self.trials),
            "seconds": round(self.seconds, 2),
            "trials": trials.to_dict(orient="records"),
        }


def _model_params(kind: str, sampled: Mapping[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in sampled.items() if not k.startswith("dropout_")}
    if kind == "mlp" and "dropout_before" in sampled:
        params["dropout"] = (float(sampled["dropout_before"]), float(sampled["dropout_after"]))
    return params


def scaled_space(kind: str, scale: float) -> dict[str, Param]:
    """The search space of ``kind`` for ratings whose spread is ``scale`` times
    ml-latest-small's: the scale-aware hyper-parameters
    (:data:`recsys.models.spec.SCALE_AWARE`) have their range multiplied by ``scale``, as
    their defaults are (:func:`recsys.models.spec.rating_scale_factor`).

    Examples
    --------
    >>> scaled_space("bias", 10.0)["l2"].high, scaled_space("bias", 10.0)["factors"].high
    (10.0, 256)
    """
    from recsys.models.spec import SCALE_AWARE

    space = dict(SEARCH_SPACES[kind])
    for name in SCALE_AWARE[kind]:
        if name in space and scale != 1.0:
            p = space[name]
            space[name] = Param(p.low * scale, p.high * scale, log=p.log, integer=p.integer)
    return space


def _defaults_as_trial(kind: str, space: Mapping[str, Param], scale: float = 1.0) -> dict[str, Any]:
    from recsys.models.spec import DEFAULTS, SCALE_AWARE

    defaults = {k: v * scale if k in SCALE_AWARE[kind] else v for k, v in DEFAULTS[kind].items()}
    before, after = defaults["dropout"]
    defaults.update(dropout_before=before, dropout_after=after)
    return {name: defaults[name] for name in space}


def _carve(train: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded ``fraction`` of ``train`` as the validation part; the rest to fit."""
    rng = np.random.default_rng(seed)
    mask = rng.random(len(train)) < fraction
    fit, validation = train[~mask], train[mask]
    if len(fit) == 0 or len(validation) == 0:
        raise DataError(
            f"{len(train):,} training ratings are too few to hold out a validation "
            f"part of {fraction:g}; use more data or a larger validation_fraction."
        )
    return fit, validation


def _bias_only(
    fit: pd.DataFrame, validation: pd.DataFrame, rating_scale: tuple[float, float] | None
) -> np.ndarray:
    """The bias-only baseline's predictions of ``validation``, clipped to the scale."""
    from recsys.data.vocab import Vocabulary
    from recsys.models.baselines import BiasBaseline

    users = Vocabulary(fit["user_id"], entity="user")
    movies = Vocabulary(fit["movie_id"], entity="movie")
    values = fit["rating"].to_numpy(dtype=np.float64)
    baseline = BiasBaseline().fit(
        users.index(fit["user_id"]),
        movies.index(fit["movie_id"]),
        values,
        n_users=len(users),
        n_movies=len(movies),
    )
    guess = baseline.predict(
        users.index(validation["user_id"], missing="negative"),
        movies.index(validation["movie_id"], missing="negative"),
    )
    low, high = rating_scale or (float(values.min()), float(values.max()))
    return np.clip(guess, low, high)


def tune_rating_model(
    kind: str,
    train: pd.DataFrame,
    *,
    n_trials: int = 30,
    timeout: float | None = None,
    seed: int = 0,
    validation_fraction: float = 0.1,
    rating_scale: tuple[float, float] | None = None,
    fixed: Mapping[str, Any] | None = None,
    callback: Callable[[TrialLog], None] | None = None,
) -> TuningResult:
    """Search the hyper-parameters of a ``kind`` rating model on ``train`` only.

    Parameters
    ----------
    kind : ``"bias"``, ``"dot"`` or ``"mlp"``.
    train : training ratings (``user_id, movie_id, rating``), shape (n, >=3). Never the
        test part: everything is chosen on a validation part carved from it.
    n_trials : the trial budget (>= 1); the first trial is the kind's defaults.
    timeout : an optional time budget in seconds: no trial starts after it.
    seed : seeds the validation carve, the sampler and every trial's model.
    validation_fraction : share of ``train`` held out to rank the trials (0 < f < 1).
    rating_scale : ``(low, high)``; inferred from ``train`` when omitted.
    fixed : RatingModel keyword arguments kept fixed (e.g. ``{"epochs": 20}``); they
        are not searched.
    callback : called after each trial with a :class:`TrialLog` (progress).

    Returns
    -------
    TuningResult

    Raises
    ------
    InvalidParameterError
        On an unknown kind or a budget or fraction out of range.
    DataError
        When ``train`` is too small to carve a validation part.

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> ratings = load_dataset().ratings.head(3000)
    >>> result = tune_rating_model("bias", ratings, n_trials=2, fixed={"epochs": 2})
    >>> len(result.trials), result.best_rmse <= result.default_rmse
    (2, True)
    """
    import optuna

    from recsys.evaluation import rmse
    from recsys.models.rating_model import RatingModel

    if kind not in SEARCH_SPACES:
        raise InvalidParameterError(
            "kind", f"unknown model kind {kind!r}; use one of {', '.join(SEARCH_SPACES)}."
        )
    if not (isinstance(n_trials, int | np.integer) and n_trials >= 1):
        raise InvalidParameterError("n_trials", f"n_trials must be >= 1, not {n_trials!r}.")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise InvalidParameterError("timeout", f"timeout must be > 0 seconds, not {timeout!r}.")
    if not 0 < validation_fraction < 1:
        raise InvalidParameterError(
            "validation_fraction",
            f"validation_fraction must be between 0 and 1, not {validation_fraction!r}.",
        )
    from recsys.models.spec import rating_scale_factor

    fixed = dict(fixed or {})
    scale = rating_scale_factor(float(np.std(train["rating"].to_numpy(dtype=np.float64))))
    space = {k: v for k, v in scaled_space(kind, scale).items() if k not in fixed}
    if kind == "mlp" and "dropout" in fixed:
        space = {k: v for k, v in space.items() if not k.startswith("dropout_")}
    for reserved in ("kind", "seed", "verbose"):
        fixed.pop(reserved, None)

    fit_part, validation = _carve(train, validation_fraction, seed)
    truth = validation["rating"].to_numpy()
    # a trial's (user, day) biases, if it fits any, are chosen on this same part: its
    # RMSE is the one its predictions of these ratings would have
    stamps = validation["timestamp"].to_numpy() if "timestamp" in validation.columns else None
    baseline_rmse = rmse(truth, _bias_only(fit_part, validation, rating_scale))

    rows: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        sampled = {name: p.suggest(trial, name) for name, p in space.items()}
        model = RatingModel(kind, seed=seed, **fixed, **_model_params(kind, sampled))
        started = time.perf_counter()
        try:
            model.fit(fit_part, validation=validation, rating_scale=rating_scale)
        except RecsysError:
            if trial.number == 0:
                raise  # the defaults on this data: not a sampling accident
            score, epochs = math.nan, 0  # diverged with the sampled values
        else:
            score = rmse(
                truth, model.predict(validation["user_id"], validation["movie_id"], stamps)
            )
            epochs = len(model.training_.history)
        seconds = time.perf_counter() - started
        rows.append(
            {"number": trial.number, **sampled, "rmse": score, "epochs": epochs,
             "seconds": round(seconds, 3)}
        )  # fmt: skip
        trial.set_user_attr("epochs", epochs)
        if not math.isfinite(score):
            raise optuna.TrialPruned()  # diverged: not a candidate
        return score

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if callback is None or not rows or rows[-1]["number"] != trial.number:
            return
        row = rows[-1]
        best = min((r["rmse"] for r in rows if math.isfinite(r["rmse"])), default=math.nan)
        callback(
            TrialLog(
                number=trial.number,
                params={name: row[name] for name in space},
                rmse=row["rmse"],
                best_rmse=best,
                seconds=row["seconds"],
                epochs=row["epochs"],
            )
        )

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    if space:
        study.enqueue_trial(_defaults_as_trial(kind, space, scale))
    started = time.perf_counter()
    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=timeout,
        callbacks=[report],
        catch=(),
        gc_after_trial=False,
    )
    seconds = time.perf_counter() - started
    finished = [t for t in study.trials if t.value is not None]
    if not finished:
        raise DataError(
            "every trial diverged (the loss was not a number); lower the learning "
            "rates or raise l2 with `fixed`."
        )
    best = min(finished, key=lambda t: (t.value, t.number))
    best_value = best.value
    assert best_value is not None  # finished trials have a value
    trials = pd.DataFrame(rows)
    trials["state"] = np.where(np.isfinite(trials["rmse"].to_numpy()), "complete", "diverged")
    default_rmse = float(trials["rmse"].iloc[0])
    return TuningResult(
        kind=kind,
        best_params={**fixed, **_model_params(kind, best.params)},
        best_rmse=float(best_value),
        default_rmse=default_rmse,
        baseline_rmse=baseline_rmse,
        n_fit=len(fit_part),
        n_validation=len(validation),
        trials=trials,
        seconds=seconds,
        seed=seed,
    )
