"""Train a rating model, evaluate it against baselines, and describe the run.

:func:`train_and_evaluate` is what ``recsys train``, the benchmarks and the notebooks
call; :meth:`TrainingRun.metrics` is the schema of the ``metrics.json`` saved with
every model.
"""

from __future__ import annotations

import inspect
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recsys.errors import InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

    from recsys.backend import DeviceInfo
    from recsys.data import Dataset, TrainTestSplit
    from recsys.models.distribute import ClusterRole
    from recsys.models.options import TrainingOptions
    from recsys.models.rating_model import RatingModel
    from recsys.workflows.side_features import SideFeatureChoice

__all__ = [
    "VALIDATION_CARVES",
    "Cluster",
    "TrainingRun",
    "build_model",
    "device_and_precision",
    "model_default",
    "prepare_cluster",
    "topn_report",
    "train_and_evaluate",
    "validation_carve",
]

#: The values of ``validation_split`` a workflow accepts: ``auto`` chooses by the split.
VALIDATION_CARVES = ("auto", "ratings", "movies")


def model_default(name: str) -> Any:
    """The default of the :class:`~recsys.models.rating_model.RatingModel` parameter
    ``name``: the one place hyper-parameter defaults are written.

    Examples
    --------
    >>> model_default("kind")
    'bias'
    """
    from recsys.models.rating_model import RatingModel

    return inspect.signature(RatingModel).parameters[name].default


@dataclass(frozen=True)
class Cluster:
    """This process' place in a training run and the strategy it trains under.

    Attributes
    ----------
    role : the :class:`~recsys.models.distribute.ClusterRole` (``local`` on one machine).
    backend : the Keras backend's name.
    strategy : the ``tf.distribute`` strategy made for ``distribute`` on TensorFlow, or
        ``None`` (one device, or JAX, whose mesh the training loop makes).
    """

    role: ClusterRole
    backend: str
    strategy: Any = None


def prepare_cluster(distribute: str | None = None) -> Cluster:
    """Check the distribution choice and set it up, before any data is read.

    ``"multiworker"`` reads ``TF_CONFIG`` and makes the multi-worker strategy first,
    since it must configure the TensorFlow runtime before anything else uses it.

    Raises
    ------
    DataError
        If ``distribute`` is unknown, needs another backend, or ``TF_CONFIG`` is wrong.
    """
    from recsys.backend import active_backend, import_keras
    from recsys.models.distribute import ClusterRole, cluster_role
    from recsys.models.options import TrainingOptions

    role = cluster_role() if distribute == "multiworker" else ClusterRole()
    backend = active_backend()
    TrainingOptions(distribute=distribute).check_backend(backend)
    strategy = None
    if distribute and backend == "tensorflow":
        from recsys.models.distribute import make_strategy

        import_keras()
        strategy = make_strategy(distribute)
    return Cluster(role=role, backend=backend, strategy=strategy)


def device_and_precision(
    mixed_precision: str | None = None, backend: str | None = None
) -> tuple[DeviceInfo, str]:
    """The device the backend computes on and the dtype policy a precision choice
    resolves to there (see :func:`recsys.models.precision.resolve_policy`).

    Imports the backend quietly, so call it before anything else imports Keras.
    """
    from recsys.backend import active_backend, device_info

    device = device_info()  # first: it imports the backend quietly
    from recsys.models.precision import resolve_policy

    policy = resolve_policy(
        mixed_precision, has_gpu=device.kind == "GPU", backend=backend or active_backend()
    )
    return device, policy


def validation_carve(requested: str, split_name: str, has_side_features: bool) -> str:
    """Whether the validation part is carved by ``"ratings"`` or by ``"movies"``.

    ``"auto"`` carves by movies when the model has side features and the test part is
    made of held-out movies (a ``movies:F`` split), so that early stopping watches the
    cold-start case the test measures; otherwise by ratings.

    Raises
    ------
    InvalidParameterError
        If ``requested`` is not one of :data:`VALIDATION_CARVES`.

    Examples
    --------
    >>> validation_carve("auto", "movies:0.2", True), validation_carve("auto", "movies:0.2", False)
    ('movies', 'ratings')
    """
    if requested not in VALIDATION_CARVES:
        raise InvalidParameterError(
            "validation_split",
            f"unknown validation_split={requested!r}; use one of {', '.join(VALIDATION_CARVES)}.",
        )
    if requested != "auto":
        return requested
    return "movies" if has_side_features and split_name.startswith("movies:") else "ratings"


def build_model(
    kind: str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    validation_split: str = "auto",
    split_name: str = "",
    has_side_features: bool = False,
) -> RatingModel:
    """A :class:`~recsys.models.rating_model.RatingModel` of the given parameters,
    checked before any work.

    Parameters
    ----------
    kind : ``"dot"``, ``"bias"`` or ``"mlp"``; ``None`` is the model's default.
    params : the other constructor parameters that were chosen; the ones left out
        keep the model's defaults.
    validation_split, split_name, has_side_features : see :func:`validation_carve`.

    Raises
    ------
    DataError
        If a parameter is out of range.

    Examples
    --------
    >>> model = build_model("dot", {"factors": 8})
    >>> model.kind, model.factors, model.validation_split
    ('dot', 8, 'ratings')
    """
    from recsys.models.rating_model import RatingModel

    model = RatingModel(
        kind if kind is not None else model_default("kind"),
        **dict(params or {}),
        validation_split=validation_carve(validation_split, split_name, has_side_features),
    )
    model.resolved_params()  # bad hyper-parameters fail here
    return model


@dataclass
class TrainingRun:
    """A trained and evaluated rating model and how it was made.

    Attributes
    ----------
    model : the fitted model.
    dataset, dataset_spec : the dataset's name and how to load it again.
    split : the split spec (``random:0.1``...).
    n_train : ratings in the training part (validation included).
    report : :func:`recsys.evaluation.evaluate_model`'s result on the test part.
    fit_seconds : wall time of ``fit``.
    device : what the backend trained on.
    options : the infrastructure options of the fit.
    role : this process' place in the cluster.
    side_features : the side-feature blocks, or ``None``.
    """

    model: RatingModel
    dataset: str
    dataset_spec: str
    split: str
    n_train: int
    report: dict[str, Any]
    fit_seconds: float
    device: DeviceInfo
    options: TrainingOptions
    role: ClusterRole
    side_features: SideFeatureChoice | None = field(default=None)

    @property
    def replicas(self) -> int:
        """Model replicas that trained in sync (devices times workers)."""
        if self.options.strategy is not None:
            return int(self.options.strategy.num_replicas_in_sync)
        return self.device.count if self.options.distribute else 1

    def metrics(self) -> dict[str, Any]:
        """The ``metrics.json`` of the run: data, test scores beside the baselines,
        training speed, parameters, device, versions; with side features their blocks
        and the cold-start section; then the distribution settings."""
        from recsys.backend import backend_versions

        model, report = self.model, self.report
        training = model.training_
        epochs = training.epochs_run
        steady = [h.ratings_per_second for h in training.history[1:]]
        metrics: dict[str, Any] = {
            "model": model.kind,
            "dataset": self.dataset,
            "dataset_spec": self.dataset_spec,
            "split": self.split,
            "seed": model.seed,
            "n_train": int(self.n_train),
            "n_fit": int(model.n_train_),
            "n_validation": int(model.n_validation_),
            "n_validation_dropped": int(model.n_validation_dropped_),
            "n_test": report["n_test"],
            "rating_scale": list(model.rating_scale_),
            "objective": model.objective,
            "rmse": report["rmse"],
            "mae": report["mae"],
            "baselines": report["baselines"],
            **({"topn": report["topn"]} if report.get("topn") is not None else {}),
            "test_fallbacks": report["test_fallbacks"],
            "train_seconds": training.train_seconds,
            "ratings_per_second": model.n_train_ * epochs / training.train_seconds,
            "steady_ratings_per_second": (sorted(steady)[len(steady) // 2] if steady else None),
            "epochs_run": epochs,
            "best_epoch": training.best_epoch,
            "stopped_early": training.stopped_early,
            "fit_seconds": self.fit_seconds,
            **(
                {
                    "members": int(model.members),
                    "members_train_seconds": sum(
                        t.train_seconds for t in getattr(model, "members_training_", [training])
                    ),
                }
                if model.members > 1
                else {}
            ),
            "params": model.describe()["params"],
            **self.device.to_json(),
            "versions": {**backend_versions(), "python": platform.python_version()},
        }
        if self.side_features is not None:
            described = model.describe()
            metrics["side_features"] = {
                "store": self.side_features.store,
                **described["side_features"],
                "validation_split": model.validation_split,
                "n_warm_movies": described["n_warm_movies"],
                "n_movies": len(model.movie_vocab_),
            }
        fallback = model.describe().get("fallback")
        if fallback is not None:
            metrics["fallback"] = fallback
        chosen = getattr(model, "day_bias_report_", None)
        if chosen is not None or "day_biases" in report:
            metrics["day_biases"] = {**(chosen or {}), **report.get("day_biases", {})}
        if "cold_start" in report:
            metrics["cold_start"] = report["cold_start"]
        metrics.update(
            {
                "distribute": self.options.distribute or "none",
                "precision": self.options.precision,
                "updates": self.options.updates,
                "replicas": self.replicas,
                "worker": self.role.name,
            }
        )
        return metrics


#: The baselines beside a model's top-N scores in ``metrics.json``.
TOPN_BASELINES = ("popularity", "bias_only")


def topn_report(
    model: RatingModel,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    k: int = 10,
    rating_scale: tuple[float, float] | None = None,
) -> dict[str, Any] | None:
    """The top-N metrics at ``k`` of ``model`` and of the popularity and bias-only
    baselines on ``test`` (default protocol, :mod:`recsys.evaluation.protocol`);
    ``None`` when no test user is known with a relevant rating (e.g. a ``movies:F``
    split, whose test movies are all unknown to the training part)."""
    from recsys.errors import DataError
    from recsys.evaluation.protocol import TopNProtocol

    try:
        task = TopNProtocol(k=k).prepare(train, test, rating_scale=rating_scale)
    except DataError:
        return None
    baselines = task.baselines()
    report: dict[str, Any] = {
        "k": k,
        "relevance": task.threshold,
        "n_users": task.n_users,
        "model": _without_users(task.evaluate(task.model_scorer(model))),
    }
    for name in TOPN_BASELINES:
        report[name] = _without_users(task.evaluate(baselines[name]))
    return report


def _without_users(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metrics.items() if key not in ("n_users", "per_user")}


def train_and_evaluate(
    model: RatingModel,
    dataset: Dataset,
    split: TrainTestSplit,
    *,
    side_features: SideFeatureChoice | None = None,
    rating_scale: tuple[float, float] | None = None,
    options: TrainingOptions | None = None,
    device: DeviceInfo | None = None,
    role: ClusterRole | None = None,
) -> TrainingRun:
    """Fit ``model`` on the training part and evaluate it on the test part.

    The test scores stand beside the global-mean and bias-only baselines (and the
    genre-mean one and a cold-start section when the model has side features or the
    test part is made of held-out movies).

    Parameters
    ----------
    model : an unfitted rating model (see :func:`build_model`).
    dataset : the dataset (its movies table gives titles, genres and side features).
    split : its training and test parts.
    side_features : blocks from :func:`~recsys.workflows.choose_side_features`.
    rating_scale : ``(low, high)``; ``None`` infers it from the training ratings.
    options : where and how to train; ``None`` is one device in float32.
    device : what the backend computes on; ``None`` asks the backend.
    role : this process' place in the cluster; ``None`` is a single process.

    Returns
    -------
    TrainingRun

    Examples
    --------
    >>> from recsys.workflows import load_and_split
    >>> data, parts = load_and_split(split="random:0.1", seed=0)
    >>> run = train_and_evaluate(build_model("bias", {"epochs": 1}), data, parts)
    >>> sorted(run.metrics()["baselines"])
    ['bias_only', 'global_mean']
    """
    from recsys.evaluation import evaluate_model
    from recsys.models.distribute import ClusterRole
    from recsys.models.options import TrainingOptions

    options = options or TrainingOptions()
    if device is None:
        from recsys.backend import device_info

        device = device_info()
    blocks = side_features.blocks if side_features is not None else None
    started = time.perf_counter()
    model.fit(
        split.train,
        rating_scale=rating_scale,
        movies=dataset.movies,
        side_features=blocks,
        options=options,
        ids=dataset.ids,
    )
    fit_seconds = time.perf_counter() - started
    by_movies = split.name.startswith("movies:")
    movies: pd.DataFrame | None = dataset.movies if (blocks or by_movies) else None
    report = evaluate_model(model, split.train, split.test, movies=movies)
    report["topn"] = topn_report(model, split.train, split.test, rating_scale=model.rating_scale_)
    if not model.predicts_ratings:  # a ranking model's scores are not ratings
        report["rmse"] = report["mae"] = None
    return TrainingRun(
        model=model,
        dataset=dataset.name,
        dataset_spec=dataset.spec,
        split=split.name,
        n_train=len(split.train),
        report=report,
        fit_seconds=fit_seconds,
        device=device,
        options=options,
        role=role or ClusterRole(),
        side_features=side_features,
    )
