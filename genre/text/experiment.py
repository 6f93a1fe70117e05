"""One text-model experiment on a labelled set: tune on validation, score once on test.

This is what ``genre train`` runs (before saving the model) and what
``benchmarks/genre_classical.py`` runs for every model and text field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from genre.data.dataset import SPLITS, LabelledSet
from genre.evaluation.evaluate import score_on_test
from genre.text.features import movie_texts
from genre.text.tuning import TunedModel, tune
from recsys.errors import InvalidParameterError

__all__ = ["TextExperiment", "run_text_experiment"]


@dataclass
class TextExperiment:
    """Result of :func:`run_text_experiment`.

    Attributes
    ----------
    tuned : the model and thresholds chosen on validation data.
    report : the ``metrics.json`` payload (test metrics beside the benchmarks).
    config : what was run (model, features, text, class weight, seed, grid, choices).
    """

    tuned: TunedModel
    report: dict[str, Any]
    config: dict[str, Any]


def run_text_experiment(
    data: LabelledSet,
    *,
    model: Literal["nb", "svm", "logreg"],
    features: Literal["tfidf", "bow"] = "tfidf",
    text: Literal["overview", "tags", "overview+tags"] = "overview",
    class_weight: str | None = None,
    seed: int = 0,
    grid: dict[str, list[Any]] | None = None,
    select_by: str = "mean_roc_auc",
    threshold_by: Literal["f1", "accuracy"] = "f1",
    on_step: Callable[[dict[str, Any]], None] | None = None,
) -> TextExperiment:
    """Fit on train, choose hyper-parameters and thresholds on val, evaluate on test once.

    Raises
    ------
    DataError
        If every training movie has an empty text in the chosen field, or from
        :func:`genre.text.tuning.tune`.

    Examples
    --------
    >>> import pandas as pd
    >>> from genre.data.dataset import build_labelled
    >>> words = {"Comedy": "joke laugh fun", "Horror": "ghost blood fear"}
    >>> genres = [("Comedy",), ("Horror",)] * 20
    >>> meta = pd.DataFrame({"movie_id": range(1, 41), "title": "", "year": pd.NA,
    ...                      "overview": [words[g[0]] + " story" for g in genres],
    ...                      "tmdb_genres": [()] * 40})
    >>> ml = pd.DataFrame({"movie_id": range(1, 41), "title": "T", "year": 2000,
    ...                    "genres": genres})
    >>> data = build_labelled(meta, ml, fractions=(0.5, 0.25, 0.25), min_genre_fraction=0.0)
    >>> result = run_text_experiment(data, model="nb", grid={"alpha": [1.0], "min_df": [1]})
    >>> prior = result.report["benchmarks"]["prior"]
    >>> result.report["micro_f1"] > prior["micro_f1"], result.tuned.params
    (True, {'alpha': 1.0, 'min_df': 1})
    """
    texts = {s: movie_texts(data.part(s), text) for s in SPLITS}
    if not any(t.strip() for t in texts["train"]):
        raise InvalidParameterError(
            "text",
            f"every training movie has an empty {text!r} text; choose another text "
            "field (e.g. 'overview').",
        )
    labels = {s: data.Y(s) for s in SPLITS}
    tuned = tune(
        texts["train"],
        labels["train"],
        texts["val"],
        labels["val"],
        model=model,
        features=features,
        class_weight=class_weight,
        seed=seed,
        grid=grid,
        select_by=select_by,
        threshold_by=threshold_by,
        on_step=on_step,
        genres=data.genres,
    )
    test_scores = tuned.estimator.scores(texts["test"])  # the one look at the test part
    report = score_on_test(
        labels["test"],
        test_scores,
        tuned.thresholds,
        data.genres,
        Y_train=labels["train"],
        Y_val=labels["val"],
        threshold_by=threshold_by,
    )
    config = {
        "model": model,
        "features": features,
        "text": text,
        "class_weight": class_weight,
        "seed": seed,
        "params": tuned.params,
        "select_by": select_by,
        "threshold_by": threshold_by,
        "grid": grid,
    }
    return TextExperiment(tuned, report, config)
