"""One fused-model experiment on a labelled set, evaluated exactly like the text models.

Fit on the training part (early stopping on the validation part), choose per-genre
thresholds on the validation part, then score the test part once, beside the trivial
benchmarks (:func:`genre.evaluation.evaluate.score_on_test`). This is what ``genre train --model
fusion|mlp`` runs and what every row of ``genre ablate`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from genre.data.dataset import SPLITS, LabelledSet
from genre.evaluation import metrics
from genre.evaluation.evaluate import score_on_test
from genre.fusion.block_inputs import BlockInputs
from genre.fusion.model import DEFAULTS, FusionClassifier
from recsys.errors import DataError, InvalidParameterError

__all__ = [
    "FusionExperiment",
    "check_block_count",
    "make_classifier",
    "run_fusion_experiment",
    "split_inputs",
]


@dataclass
class FusionExperiment:
    """Result of :func:`run_fusion_experiment`.

    Attributes
    ----------
    classifier : the fitted :class:`~genre.fusion.model.FusionClassifier`.
    thresholds : ndarray of shape (n_genres,), chosen on validation.
    report : the ``metrics.json`` payload (test metrics beside the benchmarks, plus
        ``validation`` metrics, block ``coverage`` per split and the training history).
    config : what was run.
    """

    classifier: FusionClassifier
    thresholds: NDArray[np.float64]
    report: dict[str, Any]
    config: dict[str, Any]


def split_inputs(data: LabelledSet, inputs: BlockInputs) -> dict[str, BlockInputs]:
    """The block inputs of each split part, in the labelled set's movie order.

    Raises
    ------
    DataError
        If ``inputs`` are not aligned on the labelled set's movies, hold a block
        fitted on the training part of another labelled set
        (:func:`genre.fusion.split_blocks.check_split_blocks`), or, for a set keyed by
        TMDB id, a block keyed by MovieLens movie id (the blocks of ``recsys features
        build``: joined by equal numbers, TMDB 11 would get MovieLens movie 11's
        features).
    """
    from genre.fusion.split_blocks import FINGERPRINT_KEY, check_split_blocks

    if data.id_space != "movielens":
        foreign = [
            name
            for name in inputs.names
            if FINGERPRINT_KEY not in (inputs.provenance.get(name) or {})
        ]
        if foreign:
            raise DataError(
                f"block(s) {', '.join(foreign)} are keyed by MovieLens movie id, and this "
                f"labelled set by {data.id_space.upper()} id: equal numbers are different "
                "movies. Use the blocks built on this set by 'genre blocks' (tfidf_svd, "
                "text_scores, tags), or build the labelled set in MovieLens ids (genre "
                "dataset with a links table)."
            )

    ids = data.frame["movie_id"].to_numpy(dtype=np.int64)
    if len(inputs) != len(ids) or not np.array_equal(inputs.movie_ids, ids):
        raise DataError(
            "the block inputs are not aligned on the labelled set's movies; load "
            "them with load_block_inputs(store, blocks, data.frame.movie_id)."
        )
    check_split_blocks(data, inputs.provenance)
    split = data.frame["split"].to_numpy()
    return {s: inputs.take(split == s) for s in SPLITS}


def check_block_count(model: str, blocks: Sequence[str]) -> None:
    """Refuse an unknown feature model, or ``mlp`` with other than one block.

    Raises
    ------
    InvalidParameterError
        ``parameter="model"`` for an unknown model, ``"blocks"`` for the block count.

    >>> check_block_count("mlp", ["poster", "embedding"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.InvalidParameterError: model 'mlp' is a single-block MLP and takes exactly...
    """
    if model not in DEFAULTS:
        raise InvalidParameterError(
            "model", f"unknown feature model {model!r}; expected fusion or mlp."
        )
    if model == "mlp" and len(blocks) != 1:
        raise InvalidParameterError(
            "blocks",
            f"model 'mlp' is a single-block MLP and takes exactly one block "
            f"(received {len(blocks)}: {', '.join(blocks)}); give one block or use "
            "model 'fusion'.",
        )


def make_classifier(
    model: Literal["fusion", "mlp"], blocks: Sequence[str], **params: Any
) -> FusionClassifier:
    """A :class:`FusionClassifier` with the defaults of ``model`` where ``params`` are None.

    Raises
    ------
    InvalidParameterError
        Unknown model, or ``mlp`` with other than one block (:func:`check_block_count`).
    """
    check_block_count(model, blocks)
    settings = {**DEFAULTS[model], **{k: v for k, v in params.items() if v is not None}}
    return FusionClassifier(**settings)


def run_fusion_experiment(
    data: LabelledSet,
    inputs: BlockInputs,
    *,
    model: Literal["fusion", "mlp"] = "fusion",
    blocks: Sequence[str] | None = None,
    threshold_by: Literal["f1", "accuracy"] = "f1",
    **params: Any,
) -> FusionExperiment:
    """Fit on train, stop early and choose thresholds on val, score test once.

    Parameters
    ----------
    data : the labelled set (labels, genre order, split).
    inputs : block inputs aligned on ``data.frame.movie_id``
        (:func:`genre.fusion.block_inputs.load_block_inputs`).
    model : ``"fusion"`` or ``"mlp"`` (one block, 1024-256 layers).
    blocks : which of the loaded blocks to use (default all).
    threshold_by : per-genre thresholds maximise this on validation.
    params : :class:`FusionClassifier` hyper-parameters (``None`` = the model's
        default), e.g. ``units``, ``dropout``, ``class_weight``, ``seed``.

    Returns
    -------
    FusionExperiment

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
    >>> rng = np.random.default_rng(0)
    >>> Y = data.Y()
    >>> inputs = BlockInputs(
    ...     data.frame["movie_id"].to_numpy(),
    ...     {"a": (Y + rng.normal(0, 0.3, Y.shape)).astype("float32"),
    ...      "b": rng.normal(0, 1, (40, 3)).astype("float32")},
    ...     {"a": np.ones(40, bool), "b": np.ones(40, bool)})
    >>> result = run_fusion_experiment(data, inputs, epochs=2, units=(4,), batch_size=8)
    >>> result.config["blocks"], result.thresholds.shape, result.report["n_test"]
    (['a', 'b'], (2,), 10)
    """
    chosen = inputs.select(list(blocks) if blocks is not None else inputs.names)
    parts = split_inputs(data, chosen)
    labels = {s: data.Y(s) for s in SPLITS}
    clf = make_classifier(model, chosen.names, **params)
    clf.fit(
        parts["train"],
        labels["train"],
        validation=(parts["val"], labels["val"]),
        genres=data.genres,
        threshold_by=threshold_by,
    )
    val_scores = clf.predict_proba(parts["val"])
    thresholds = clf.thresholds_
    test_scores = clf.predict_proba(parts["test"])  # the one look at the test part
    report = score_on_test(
        labels["test"],
        test_scores,
        thresholds,
        data.genres,
        Y_train=labels["train"],
        Y_val=labels["val"],
        threshold_by=threshold_by,
    )
    validation = metrics.multilabel_report(labels["val"], val_scores, thresholds, data.genres)
    report["validation"] = {k: validation[k] for k in metrics.METRIC_NAMES}
    report["coverage"] = {s: parts[s].coverage() for s in SPLITS}
    report["training"] = {
        "epochs_run": len(clf.history_),
        "best_epoch": clf.best_epoch_,
        "best_val_loss": clf.history_[clf.best_epoch_ - 1].val_loss,
        "history": [r.__dict__ for r in clf.history_],
    }
    config = {
        "model": model,
        "blocks": chosen.names,
        "dims": chosen.dims,
        "params": clf.json_params(),
        "threshold_by": threshold_by,
        "provenance": chosen.provenance,
    }
    return FusionExperiment(clf, thresholds, report, config)
