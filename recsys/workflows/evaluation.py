"""Compare models on the same folds, and evaluate a saved model, with top-N metrics.

:func:`compare` is what ``recsys compare``, ``benchmarks/ranking.py`` and notebook 01
call: it trains every requested model on each fold's training part and scores it,
beside the baselines fitted on the same part, with the rating metrics (RMSE, MAE) and
the top-N protocol of :mod:`recsys.evaluation.protocol`. :func:`evaluate_saved` does
the same for one saved model. The output schemas (``compare.csv``, ``folds.csv``) are
defined here once.

Model names: ``bias``, ``dot`` and ``mlp`` are the rating models trained on ratings
(squared error); ``bias-bpr``, ``dot-bpr`` and ``mlp-bpr`` the same networks trained
for ranking (``objective="bpr"``). The baselines are always added: ``global_mean``,
``bias_only`` (rating and top-N), ``popularity`` and ``random`` (top-N only; their
rating columns are empty).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recsys.errors import DataError, InvalidParameterError

if TYPE_CHECKING:
    from recsys.data import Dataset, TrainTestSplit
    from recsys.evaluation.protocol import TopNProtocol
    from recsys.models.rating_model import RatingModel

__all__ = [
    "BASELINES",
    "MODEL_NAMES",
    "Comparison",
    "compare",
    "comparison_splits",
    "evaluate_saved",
    "model_for",
    "parse_model_names",
    "rating_metrics",
]

#: The trainable models of a comparison: kind, or kind-objective.
MODEL_NAMES = ("bias", "dot", "mlp", "bias-bpr", "dot-bpr", "mlp-bpr")
#: The baselines every comparison adds, in order.
BASELINES = ("global_mean", "bias_only", "popularity", "random")
#: Baselines that predict ratings.
RATING_BASELINES = ("global_mean", "bias_only")


def parse_model_names(text: str | Sequence[str]) -> list[str]:
    """The model names of a comma-separated list, checked, in the order given.

    Raises
    ------
    InvalidParameterError
        On an unknown or repeated name, or an empty list.

    Examples
    --------
    >>> parse_model_names("bias, dot-bpr")
    ['bias', 'dot-bpr']
    """
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    if not names:
        raise InvalidParameterError(
            "models", f"no model named; choose from {', '.join(MODEL_NAMES)}."
        )
    for name in names:
        if name not in MODEL_NAMES:
            raise InvalidParameterError(
                "models",
                f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)} (the baselines "
                f"{', '.join(BASELINES)} are always added).",
            )
    if len(set(names)) != len(names):
        raise InvalidParameterError("models", f"a model is named twice in {','.join(names)}.")
    return names


def model_for(name: str, params: Mapping[str, Any] | None = None, *, seed: int = 0) -> RatingModel:
    """The unfitted :class:`~recsys.models.rating_model.RatingModel` of a model name."""
    from recsys.models.rating_model import RatingModel

    kind, _, objective = name.partition("-")
    model = RatingModel(kind, objective=objective or "rating", seed=seed, **dict(params or {}))
    model.resolved_params()  # bad hyper-parameters fail before any training
    return model


def rating_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """``{"rmse": ..., "mae": ...}`` of two arrays of shape (n,)."""
    from recsys.evaluation.rating import mae, rmse

    return {"rmse": rmse(truth, predicted), "mae": mae(truth, predicted)}


def comparison_splits(
    dataset: Dataset,
    *,
    split: str | None = None,
    folds: int | None = None,
    fold_by: str = "ratings",
    seed: int = 0,
) -> list[TrainTestSplit]:
    """The splits of a comparison: one ``split`` spec, or ``folds`` K-fold splits.

    ``folds`` uses the dataset's predefined folds when it has them (ml-100k ``u1``..
    ``u5`` for 5) and a seeded K-fold over ratings (``fold_by="ratings"``) or within
    each user (``fold_by="user"``) otherwise (:func:`recsys.evaluation.folds.kfold_splits`).

    Raises
    ------
    InvalidParameterError
        If both or neither of ``split`` and ``folds`` are given, or ``folds`` < 2.
    """
    from recsys.data import parse_split
    from recsys.evaluation.folds import kfold_splits

    if (split is None) == (folds is None):
        raise InvalidParameterError("folds", "give either a split spec or a number of folds.")
    if folds is not None:
        return kfold_splits(dataset, folds, by=fold_by, seed=seed)
    assert split is not None
    return [parse_split(split).split(dataset, seed=seed)]


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    folds : one row per model and fold: ``model, fold, split, rmse, mae,
        precision@k, ..., coverage@k, n_users, fit_seconds`` (empty rating columns for
        models that predict no ratings).
    k : the protocol's cut-off.
    """

    folds: pd.DataFrame
    k: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def metric_columns(self) -> list[str]:
        """The metric columns of :attr:`folds`, in order."""
        from recsys.evaluation.topn import metric_names

        return ["rmse", "mae", *metric_names(self.k), "fit_seconds"]

    def summary(self) -> pd.DataFrame:
        """One row per model (in the order trained, baselines last): ``<metric>_mean``
        and ``<metric>_std`` (sample standard deviation over folds; empty with one
        fold) for every metric column, and ``n_folds``."""
        rows = []
        for name, group in self.folds.groupby("model", sort=False):
            row: dict[str, Any] = {"model": name, "n_folds": len(group)}
            for column in self.metric_columns:
                values = pd.to_numeric(group[column], errors="coerce")
                row[f"{column}_mean"] = values.mean() if values.notna().any() else np.nan
                row[f"{column}_std"] = values.std(ddof=1) if values.notna().sum() > 1 else np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def table(self) -> str:
        """The summary as an aligned text table (mean ± std)."""
        summary = self.summary()
        columns = [
            "rmse",
            "mae",
            f"ndcg@{self.k}",
            f"precision@{self.k}",
            f"recall@{self.k}",
            f"map@{self.k}",
            f"mrr@{self.k}",
            f"coverage@{self.k}",
            "fit_seconds",
        ]
        heads = ["model", *columns]
        lines = []
        cells = []
        for _, row in summary.iterrows():
            line = [str(row["model"])]
            for column in columns:
                mean, std = row[f"{column}_mean"], row[f"{column}_std"]
                if pd.isna(mean):
                    line.append("")
                elif pd.isna(std):
                    line.append(f"{mean:.4f}")
                else:
                    line.append(f"{mean:.4f}±{std:.4f}")
            cells.append(line)
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
        lines.append(
            "  ".join(
                h.ljust(w) if i == 0 else h.rjust(w)
                for i, (h, w) in enumerate(zip(heads, widths, strict=True))
            )
        )
        for c in cells:
            lines.append(
                "  ".join(
                    v.ljust(w) if i == 0 else v.rjust(w)
                    for i, (v, w) in enumerate(zip(c, widths, strict=True))
                )
            )
        return "\n".join(lines)

    def plot_png(self) -> bytes:
        """A bar chart of NDCG@k (mean, std as error bars) per model, as PNG bytes."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from recsys.analysis.plots import png_bytes

        summary = self.summary()
        figure = Figure(figsize=(7, 3.5), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        column = f"ndcg@{self.k}"
        std = summary[f"{column}_std"].fillna(0.0).to_numpy()
        axes.bar(summary["model"], summary[f"{column}_mean"], yerr=std, color="#4c72b0")
        axes.set_ylabel(f"NDCG@{self.k}")
        axes.set_title(f"NDCG@{self.k} over {int(summary['n_folds'].max())} fold(s)")
        axes.tick_params(axis="x", rotation=30)
        figure.tight_layout()
        return png_bytes(figure)

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``compare.csv``, ``folds.csv`` and ``compare.png`` into ``directory``
        (created if missing), as one atomic replacement of the folder."""
        from recsys.fileio import atomic_directory

        with atomic_directory(directory, marker="compare.csv", what="comparison") as tmp:
            self.summary().to_csv(tmp / "compare.csv", index=False)
            self.folds.to_csv(tmp / "folds.csv", index=False)
            (tmp / "compare.png").write_bytes(self.plot_png())
        return Path(directory)


def compare(
    dataset: Dataset,
    models: Sequence[str],
    splits: Sequence[TrainTestSplit],
    *,
    protocol: TopNProtocol | None = None,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Train and score every model, and the baselines, on the same splits.

    Parameters
    ----------
    dataset : where the splits come from (only its name is read).
    models : names from :data:`MODEL_NAMES`.
    splits : the folds (see :func:`comparison_splits`).
    protocol : the top-N protocol; ``None`` is :class:`TopNProtocol` with the seed.
    seed : seeds every model (and the random baseline, through the protocol).
    params : extra constructor parameters per model name.
    on_progress : called with one line per model and fold.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> data = load_dataset()
    >>> small = data.ratings[data.ratings["user_id"] <= 60]
    >>> from recsys.data import Dataset
    >>> sub = Dataset("small", small, data.movies, "small")
    >>> splits = comparison_splits(sub, split="user:0.2", seed=0)
    >>> result = compare(sub, ["bias"], splits, params={"bias": {"epochs": 2}})
    >>> result.summary()["model"].tolist()
    ['bias', 'global_mean', 'bias_only', 'popularity', 'random']
    """
    from recsys.evaluation.protocol import TopNProtocol
    from recsys.models.baselines import BiasBaseline, GlobalMean

    names = parse_model_names(list(models))
    protocol = protocol or TopNProtocol(seed=seed)
    built = {name: model_for(name, (params or {}).get(name), seed=seed) for name in names}
    rows: list[dict[str, Any]] = []
    for number, split in enumerate(splits, 1):
        task = protocol.prepare(split.train, split.test)
        truth = split.test["rating"].to_numpy(dtype=np.float64)
        low, high = task.rating_scale
        for name in names:
            from sklearn.base import clone

            model = clone(built[name])
            started = time.perf_counter()
            model.fit(split.train)
            seconds = time.perf_counter() - started
            row: dict[str, Any] = {"model": name, "fold": number, "split": split.name}
            if model.predicts_ratings:
                predicted = model.predict(
                    split.test["user_id"], split.test["movie_id"], _timestamps(split.test)
                )
                row |= rating_metrics(truth, predicted)
            else:
                row |= {"rmse": np.nan, "mae": np.nan}
            row |= _topn(task.evaluate(task.model_scorer(model)))
            row["fit_seconds"] = seconds
            rows.append(row)
            if on_progress is not None:
                on_progress(_progress(number, len(splits), row, protocol.k))
        # the baselines, fitted on the same training part
        su = task.users.index(split.test["user_id"], missing="negative")
        sm = task.movies.index(split.test["movie_id"], missing="negative")
        rating_guess: dict[str, GlobalMean | BiasBaseline] = {
            "global_mean": GlobalMean().fit(
                task.train_users, task.train_movies, task.train_ratings
            ),
            "bias_only": BiasBaseline().fit(
                task.train_users,
                task.train_movies,
                task.train_ratings,
                n_users=len(task.users),
                n_movies=task.n_movies,
            ),
        }
        for name, scorer in task.baselines().items():
            started = time.perf_counter()
            row = {"model": name, "fold": number, "split": split.name}
            if name in rating_guess:
                guess = np.clip(rating_guess[name].predict(su, sm), low, high)
                row |= rating_metrics(truth, guess)
            else:
                row |= {"rmse": np.nan, "mae": np.nan}
            row |= _topn(task.evaluate(scorer))
            row["fit_seconds"] = time.perf_counter() - started
            rows.append(row)
            if on_progress is not None:
                on_progress(_progress(number, len(splits), row, protocol.k))
    settings = {
        "dataset": dataset.name,
        "models": names,
        "splits": [s.name for s in splits],
        "seed": seed,
        "k": protocol.k,
        "relevance": protocol.relevance,
        "candidates": protocol.candidates,
    }
    return Comparison(pd.DataFrame(rows), protocol.k, settings)


def _topn(report: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "per_user"}


def _progress(number: int, total: int, row: Mapping[str, Any], k: int) -> str:
    rating = "" if pd.isna(row["rmse"]) else f"  rmse {row['rmse']:.4f}"
    return (
        f"fold {number}/{total}  {row['model']:<12} ndcg@{k} {row[f'ndcg@{k}']:.4f}"
        f"{rating}  {row['fit_seconds']:.1f}s"
    )


def evaluate_saved(
    directory: str | os.PathLike[str],
    *,
    split: str | None = None,
    test_file: str | os.PathLike[str] | None = None,
    protocol: TopNProtocol | None = None,
    sep: str = ",",
    columns: str | None = None,
) -> dict[str, Any]:
    """Rating and top-N metrics of a saved model, with the baselines beside.

    Parameters
    ----------
    directory : a model folder (``recsys train --out``).
    split : re-split the model's own dataset (from its ``metrics.json``) with this
        spec and the model's seed; ``None`` (and no ``test_file``) is the split the model
        was trained with, which gives back its own test part.
    test_file : a ratings file of test ratings instead; the training part is then the
        model's own training ratings (saved with it).
    protocol : the top-N protocol (default :class:`TopNProtocol`).

    Returns
    -------
    dict with ``model`` (kind, objective), ``n_test``, ``rmse``/``mae`` (``None`` for a
    ranking model), ``topn`` (the model's top-N metrics), ``baselines`` (name ->
    metrics), ``split``, ``note`` (a warning, or ``""``).

    Raises
    ------
    DataError
        If the model folder lacks what re-splitting needs, or no test user is known.
    """
    import json

    from recsys.data import load_ratings_file
    from recsys.evaluation.protocol import TopNProtocol
    from recsys.models.rating_model import RatingModel

    model = RatingModel.load(directory)
    protocol = protocol or TopNProtocol()
    meta_file = Path(directory) / "metrics.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    note = ""
    if test_file is not None:
        test = load_ratings_file(test_file, sep=sep, columns=columns).ratings
        train = _model_training_frame(model)
        split_name = f"test file {test_file}"
    else:
        from recsys.workflows.data import load_and_split

        if "dataset_spec" not in meta:
            raise DataError(
                f"{str(meta_file)!r} is missing or names no dataset, so the model's data "
                "cannot be split again; give a test ratings file instead.",
                parameter="split",
            )
        spec = split or meta.get("split", "random:0.1")
        if spec != meta.get("split"):
            note = (
                f"the model was trained on split {meta.get('split')!r}; ratings of its "
                f"training part may be in the test part of {spec!r}"
            )
        dataset_spec = str(meta["dataset_spec"])
        how: dict[str, Any] = {"dataset": dataset_spec}
        if dataset_spec.startswith("ratings:"):  # ratings:FILE|sep=S|columns=C
            file, *options = dataset_spec.removeprefix("ratings:").split("|")
            settings = dict(option.split("=", 1) for option in options if "=" in option)
            how = {
                "ratings": file,
                "sep": settings.get("sep", ","),
                "columns": settings.get("columns") or None,
            }
        _, parts = load_and_split(split=spec, seed=int(meta.get("seed", 0)), **how)
        train, test = parts.train, parts.test
        split_name = parts.name
    task = protocol.prepare(train, test, rating_scale=model.rating_scale_)
    truth = test["rating"].to_numpy(dtype=np.float64)
    report: dict[str, Any] = {
        "model": {"kind": model.kind, "objective": model.objective, "directory": str(directory)},
        "split": split_name,
        "n_test": len(test),
        "n_users": task.n_users,
        "k": protocol.k,
        "relevance": task.threshold,
        "candidates": protocol.candidates,
        "note": note,
    }
    if model.predicts_ratings:
        report |= rating_metrics(
            truth, model.predict(test["user_id"], test["movie_id"], _timestamps(test))
        )
    else:
        report |= {"rmse": None, "mae": None}
    report["topn"] = _topn(task.evaluate(task.model_scorer(model)))
    from recsys.models.baselines import BiasBaseline, GlobalMean

    su = task.users.index(test["user_id"], missing="negative")
    sm = task.movies.index(test["movie_id"], missing="negative")
    low, high = task.rating_scale
    guesses: dict[str, GlobalMean | BiasBaseline] = {
        "global_mean": GlobalMean().fit(task.train_users, task.train_movies, task.train_ratings),
        "bias_only": BiasBaseline().fit(
            task.train_users,
            task.train_movies,
            task.train_ratings,
            n_users=len(task.users),
            n_movies=task.n_movies,
        ),
    }
    baselines: dict[str, Any] = {}
    for name, scorer in task.baselines().items():
        entry: dict[str, Any] = {"rmse": None, "mae": None}
        if name in guesses:
            entry = rating_metrics(truth, np.clip(guesses[name].predict(su, sm), low, high))
        entry["topn"] = _topn(task.evaluate(scorer))
        baselines[name] = entry
    report["baselines"] = baselines
    return report


def _timestamps(ratings: pd.DataFrame) -> np.ndarray | None:
    """The ratings' timestamps (a model with (user, day) biases adds them), or ``None``."""
    return ratings["timestamp"].to_numpy() if "timestamp" in ratings.columns else None


def _model_training_frame(model: RatingModel) -> pd.DataFrame:
    """The training ratings saved with a model, as a ratings frame."""
    seen = model.seen_
    users = np.repeat(model.user_vocab_.ids, np.diff(seen.indptr))
    return pd.DataFrame(
        {
            "user_id": users,
            "movie_id": model.movie_vocab_.ids[seen.movies],
            "rating": seen.ratings.astype(np.float64),
        }
    )
