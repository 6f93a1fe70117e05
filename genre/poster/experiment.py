"""One poster-CNN experiment on a labelled set, evaluated like every genre model.

The movies of the labelled set that have a decodable poster keep their split: the
network trains on the training part's posters (class weights and upsampling from those
rows only), stops early and chooses per-genre thresholds on the validation part's, and
scores the test part's posters once, beside the prior benchmark of the same movies
(:func:`genre.evaluation.evaluate.score_on_test`). This is what ``genre train --model
poster-cnn`` runs and the poster row of ``genre ablate`` and ``benchmarks/poster_cnn.py``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from genre.data.dataset import SPLITS, LabelledSet
from genre.evaluation import metrics
from genre.evaluation.evaluate import score_on_test
from genre.poster.images import PosterImages, find_posters, load_poster_images
from genre.poster.model import PosterCNNClassifier, PosterEpoch, PosterInput
from genre.poster.spec import check_image_size
from recsys.errors import DataError

__all__ = ["PosterExperiment", "load_split_posters", "run_poster_experiment"]


@dataclass
class PosterExperiment:
    """Result of :func:`run_poster_experiment`.

    Attributes
    ----------
    classifier : the fitted :class:`~genre.poster.model.PosterCNNClassifier`.
    report : the ``metrics.json`` payload (test metrics beside the benchmarks,
        ``validation`` metrics, ``per_genre_hits``, ``posters`` counts, ``training``).
    config : what was run.
    test_input : the test posters.
    test_ids : ndarray of shape (n_test,), their movie ids.
    test_scores : ndarray of shape (n_test, n_genres), the scores of the test posters.
    Y_test : ndarray of shape (n_test, n_genres), their true genres.
    """

    classifier: PosterCNNClassifier
    report: dict[str, Any]
    config: dict[str, Any]
    test_input: PosterInput
    test_ids: NDArray[np.int64]
    test_scores: NDArray[np.float64]
    Y_test: NDArray[np.uint8]


def load_split_posters(
    data: LabelledSet,
    posters: str | os.PathLike[str] | PosterImages,
    image_size: int,
    *,
    cache: str | os.PathLike[str] | bool | None = True,
) -> tuple[PosterImages, dict[str, NDArray[np.int64]]]:
    """The posters of the labelled set's movies and, per split, the positions (in
    ``data.part(split)``) of the movies whose poster decoded.

    Raises
    ------
    DataError
        No movie of the set has a poster in ``posters`` (``parameter="posters"``), or a
        split part has none.
    """
    ids = data.frame["movie_id"].to_numpy(dtype=np.int64)
    if isinstance(posters, PosterImages):
        images = posters
    else:
        files = find_posters(posters, ids)
        if not files:
            raise DataError(
                f"no movie of the labelled set has a poster in {str(posters)!r}; posters "
                "are named <movieId>.jpg (or .png, .webp) or listed in posters_index.csv "
                "with MovieLens movie ids.",
                parameter="posters",
            )
        images = load_poster_images(files, image_size, cache=cache)
    found: dict[str, NDArray[np.int64]] = {}
    for split in SPLITS:
        part_ids = data.part(split)["movie_id"].to_numpy(dtype=np.int64)
        found[split] = np.flatnonzero(images.rows_of(part_ids) >= 0).astype(np.int64)
        if len(found[split]) == 0:
            raise DataError(
                f"no movie of the {split} part of the labelled set has a decodable poster "
                f"({len(images)} posters decoded, {len(images.failures)} skipped); a "
                "poster CNN needs posters in every part.",
                parameter="posters",
            )
    return images, found


def run_poster_experiment(
    data: LabelledSet,
    posters: str | os.PathLike[str] | PosterImages,
    *,
    threshold_by: Literal["f1", "accuracy"] = "f1",
    checkpoint_dir: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | bool | None = True,
    on_epoch: Any = None,
    without_poster: Literal["skip", "prior"] = "skip",
    **params: Any,
) -> PosterExperiment:
    """Fit on the training posters, stop early and choose thresholds on validation,
    score the test posters once.

    Parameters
    ----------
    data : the labelled set (labels, genre order, split).
    posters : a posters folder (:func:`genre.poster.images.find_posters`) or images
        already loaded at the model's image size.
    threshold_by : per-genre thresholds maximise this on validation.
    checkpoint_dir : where training saves its state and resumes from.
    cache : where decoded images are cached (see
        :func:`genre.poster.images.load_poster_images`).
    on_epoch : called with each :class:`~genre.poster.model.PosterEpoch`.
    without_poster : ``"skip"``: validation and test are the movies with a poster;
        ``"prior"``: every movie of those parts, a movie without a poster scored with the
        training part's genre frequencies (the prior benchmark's scores), so the metrics
        compare with models of the whole labelled set (a ``genre ablate`` row); the
        thresholds are then chosen on all the validation movies.
    params : :class:`~genre.poster.model.PosterCNNClassifier` hyper-parameters.

    Returns
    -------
    PosterExperiment

    Raises
    ------
    DataError
        No posters for the set (or for a part of it), a checkpoint of other settings.
    InvalidParameterError
        Bad hyper-parameters (checked before any image is decoded).
    """
    clf = PosterCNNClassifier(**params)
    clf._check_params()
    check_image_size(clf.architecture, int(clf.image_size))
    images, found = load_split_posters(data, posters, int(clf.image_size), cache=cache)
    inputs, labels, ids = {}, {}, {}
    for split in SPLITS:
        part = data.part(split)
        keep = found[split]
        ids[split] = part["movie_id"].to_numpy(dtype=np.int64)[keep]
        inputs[split] = PosterInput(images.images, images.rows_of(ids[split]))
        labels[split] = data.Y(split)[keep]
    started = time.perf_counter()
    clf.fit(
        inputs["train"],
        labels["train"],
        validation=(inputs["val"], labels["val"]),
        genres=data.genres,
        threshold_by=threshold_by,
        checkpoint_dir=checkpoint_dir,
        on_epoch=on_epoch,
    )
    seconds = time.perf_counter() - started
    val_scores = clf.scores(inputs["val"])
    test_scores = clf.scores(inputs["test"])  # the one look at the test part
    poster_scores, poster_truth = test_scores, labels["test"]
    if without_poster == "prior":
        from genre.evaluation.evaluate import prior_scores

        for split, scored in (("val", val_scores), ("test", test_scores)):
            full = prior_scores(data.Y("train"), counts_of(data, split))
            full[found[split]] = scored
            labels[split] = data.Y(split)
            if split == "val":
                val_scores = full
                clf.thresholds_ = metrics.select_thresholds(labels["val"], full, threshold_by)
            else:
                test_scores = full
    report = score_on_test(
        labels["test"],
        test_scores,
        clf.thresholds_,
        data.genres,
        Y_train=labels["train"],
        Y_val=labels["val"],
        threshold_by=threshold_by,
    )
    validation = metrics.multilabel_report(labels["val"], val_scores, clf.thresholds_, data.genres)
    report["validation"] = {k: validation[k] for k in metrics.METRIC_NAMES}
    predicted = metrics.apply_thresholds(test_scores, clf.thresholds_).astype(bool)
    truth = labels["test"].astype(bool)
    report["per_genre_hits"] = {
        g: {
            "true_positives": int((predicted[:, j] & truth[:, j]).sum()),
            "predicted": int(predicted[:, j].sum()),
            "support": int(truth[:, j].sum()),
        }
        for j, g in enumerate(data.genres)
    }
    counts = data.counts()
    report["posters"] = {
        "with_poster": {s: len(found[s]) for s in SPLITS},
        "movies": counts,
        "decoded": len(images),
        "skipped": len(images.failures),
        "skipped_examples": [list(f) for f in images.failures[:5]],
    }
    report["training"] = _training_record(clf, seconds)
    config = {
        "model": "poster-cnn",
        "params": clf.json_params(),
        "threshold_by": threshold_by,
        "without_poster": without_poster,
        "posters": None if isinstance(posters, PosterImages) else str(Path(posters).resolve()),
    }
    return PosterExperiment(
        clf, report, config, inputs["test"], ids["test"], poster_scores, poster_truth
    )


def counts_of(data: LabelledSet, split: str) -> int:
    """Number of movies of one part of the labelled set."""
    return int(data.counts()[split])


def _training_record(clf: PosterCNNClassifier, seconds: float) -> dict[str, Any]:
    history: list[PosterEpoch] = clf.history_
    timed = [h.seconds for h in history if h.seconds > 0]
    return {
        "epochs_run": len(history),
        "best_epoch": clf.best_epoch_,
        "best_val_loss": history[clf.best_epoch_ - 1].val_loss if history else None,
        "n_fed": clf.n_fed_,
        "seconds": seconds,
        "median_seconds_per_epoch": float(np.median(timed)) if timed else None,
        "history": [h.__dict__ for h in history],
    }
