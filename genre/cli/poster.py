"""``genre train --model poster-cnn`` and ``genre predict`` with a poster-cnn model.

Not a command of its own: :mod:`genre.cli.train` and :mod:`genre.cli.predict` call
these functions.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recsys.cli.framework import UsageError
from recsys.errors import DataError

__all__ = ["poster_params", "run_poster_cnn", "run_poster_predict", "work_area"]

#: Options of the other models that poster-cnn refuses (dest -> flag).
_OTHER_OPTIONS = {
    "features": "--features",
    "blocks": "--blocks",
    "units": "--units",
    "head_units": "--head-units",
    "second_stage": "--second-stage",
    "C": "--C",
    "alpha": "--alpha",
    "min_df": "--min-df",
    "ngram_max": "--ngram-max",
}


def work_area(out: Path) -> Path:
    """The training folder of model folder ``out``: ``.<name>.training`` beside it.

    Checkpoints live there while training runs; the next run with the same settings
    resumes from them; it is removed once the model is saved.
    """
    return out.parent / f".{out.name}.training"


def poster_params(args: argparse.Namespace) -> dict[str, Any]:
    """:class:`genre.poster.model.PosterCNNClassifier` keyword arguments of the options."""
    for dest, flag in _OTHER_OPTIONS.items():
        if getattr(args, dest, None) is not None:
            raise UsageError(f"{flag} does not apply to --model poster-cnn.")
    if getattr(args, "l2", 0.0):
        raise UsageError("--l2 does not apply to --model poster-cnn.")
    if getattr(args, "text", "overview") != "overview":
        raise UsageError("--text does not apply to --model poster-cnn.")
    if not args.posters:
        raise UsageError(
            "--model poster-cnn needs --posters DIR (a folder of <movieId>.jpg posters or "
            "with a posters_index.csv)."
        )
    if args.dropout is not None and not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), received {args.dropout}.")
    if args.augment is not None and not 0 <= args.augment < 1:
        raise UsageError(f"--augment must be in [0, 1), received {args.augment}.")
    params: dict[str, Any] = {
        "architecture": args.architecture or "scratch",
        "image_size": 128 if args.image_size is None else args.image_size,
        "weights": args.weights,
        "optimizer": args.optimizer or "adam",
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "patience": args.patience,
        "fine_tune_epochs": 10 if args.fine_tune_epochs is None else args.fine_tune_epochs,
        "class_weight": None if args.class_weight == "none" else args.class_weight,
        "upsample": bool(args.upsample),
        "dropout": 0.5 if args.dropout is None else args.dropout,
        "augment": 0.1 if args.augment is None else args.augment,
        "seed": args.seed,
    }
    from genre.poster.spec import check_image_size

    check_image_size(params["architecture"], params["image_size"])
    if params["architecture"] == "vgg16":
        from recsys.features.posters import CNNSpec

        # the rules and messages of the frozen poster block, before any work
        spec = CNNSpec(
            backbone="vgg16", weights=params["weights"] or "imagenet",
            image_size=params["image_size"], seed=args.seed,
        )  # fmt: skip
        params["weights"] = spec.weights
    elif params["weights"] not in (None, "none"):
        raise UsageError(
            f"--weights {params['weights']} does not fit --architecture scratch, which "
            "starts from random weights; use --architecture vgg16 or leave --weights out."
        )
    return params


def run_poster_cnn(
    args: argparse.Namespace, format_summary: Callable[[dict[str, Any]], str]
) -> int:
    """Train, tune on validation and save a poster CNN; return 0.

    ``format_summary`` turns the test report into the table ``genre train`` prints.
    """
    params = poster_params(args)
    from genre.model_dir import MARKER
    from recsys.fileio import check_writable_dir

    out = check_writable_dir(
        args.out, what="genre model", marker=MARKER, inputs=[args.dataset, args.posters]
    )
    work = check_writable_dir(work_area(out), what="training checkpoint")
    from genre.data.dataset import load_labelled

    data = load_labelled(args.dataset)
    from genre.poster.images import find_posters

    if not find_posters(args.posters, data.frame["movie_id"]):  # before importing Keras
        raise DataError(
            f"no movie of the labelled set has a poster in {args.posters!r}; posters are "
            "named <movieId>.jpg (or .png, .webp) or listed in posters_index.csv with the "
            "labelled set's movie ids.",
            parameter="posters",
        )
    from recsys.backend import import_keras

    keras = import_keras()
    from genre.poster.experiment import run_poster_experiment
    from genre.poster.plots import plot_learning_curves, plot_poster_grid
    from genre.workflows import training_record

    counts = data.counts()
    print(
        f"poster-cnn {params['architecture']} at {params['image_size']} px "
        f"({keras.backend.backend()} backend): labelled set train {counts['train']}, val "
        f"{counts['val']}, test {counts['test']} movies; posters from {args.posters}",
        flush=True,
    )
    if (work / "state.json").is_file():
        print(f"resuming the interrupted training run saved in {work}", flush=True)
    result = run_poster_experiment(
        data, args.posters, threshold_by=args.threshold_by, checkpoint_dir=work,
        verbose=not args.quiet, **params,
    )  # fmt: skip
    report = result.report
    posters = report["posters"]
    record = training_record(data, args.dataset)
    clf = result.classifier
    shown = min(16, len(result.test_ids))
    titles = [str(m) for m in result.test_ids[:shown]]
    images = result.test_input.images[result.test_input.rows[:shown]]

    def copy_log(target: Path) -> None:
        if (work / "training_log.csv").is_file():
            shutil.copyfile(work / "training_log.csv", target)

    files: dict[str, Callable[[Path], Any]] = {
        "training_log.csv": copy_log,
        "learning_curves.png": lambda t: plot_learning_curves(clf.history_, t),
        "test_posters.png": lambda t: plot_poster_grid(
            images, result.test_scores[:shown], clf.thresholds_, clf.genres_, t,
            titles=titles, truth=result.Y_test[:shown],
        ),
    }  # fmt: skip
    clf.save(out, config={**result.config, **record}, metrics=report, files=files)
    shutil.rmtree(work, ignore_errors=True)
    training = report["training"]
    with_poster = posters["with_poster"]
    print(
        f"posters: {posters['decoded']} decoded, {posters['skipped']} skipped; with a "
        f"poster: train {with_poster['train']}, val {with_poster['val']}, test "
        f"{with_poster['test']}"
    )
    print(
        f"trained {training['epochs_run']} epochs ({training['median_seconds_per_epoch']:.1f}"
        f" s each), best validation loss {training['best_val_loss']:.4f} at epoch "
        f"{training['best_epoch']}"
    )
    print(format_summary(report))
    print(f"wrote {out}")
    return 0


def run_poster_predict(args: argparse.Namespace, model: Any, config: dict[str, Any]) -> int:
    """Top-k genres of a poster file (``--poster``) or of a movie's poster (``--movie``)."""
    from genre.poster.images import find_posters, read_poster

    if config.get("kind") != "poster":
        raise UsageError("--poster needs a poster-cnn model (genre train --model poster-cnn).")
    if args.text is not None or args.features is not None or args.text_column is not None:
        raise UsageError(
            "a poster-cnn model scores posters: pass --poster FILE, --movie ID (its poster "
            "in the posters folder the model was trained on) or --input FILE."
        )
    if args.input is not None:
        return run_poster_batch(args, model, config)
    size = int(config.get("image_size", model.image_size))
    label = f"poster {args.poster}"
    if args.poster is not None:
        path = Path(args.poster)
    else:
        folder = config.get("posters")
        found = find_posters(folder, [args.movie]) if folder else {}
        if not found:
            raise UsageError(
                f"no poster of movie {args.movie} in the model's posters folder "
                f"{folder!r}; pass --poster FILE."
            )
        path = found[args.movie]
        label = f"movie {args.movie} ({path})"
    image = read_poster(path, size)
    ranked = model.top_k(image[None], args.k)[0]  # checks -k before anything is printed
    print(f"{label}  (scores: probability; * = above the genre's validation threshold)")
    for genre, score, passed in ranked:
        print(f"  {'*' if passed else ' '} {genre:<12} {score:8.4f}")
    return 0


def run_poster_batch(args: argparse.Namespace, model: Any, config: dict[str, Any]) -> int:
    """Score the poster of every row of ``--input`` and write the table to ``--out``."""
    from genre.batch import poster_table, read_table, write_table

    frame = read_table(args.input)
    table, unscored = poster_table(
        model,
        frame,
        poster_column=args.poster_column,
        id_column=args.id_column,
        posters=config.get("posters"),
        base=Path(args.input).expanduser().parent,
    )
    write_table(table, args.out)
    note = f" ({unscored:,} without a readable poster)"
    print(f"scored {len(table):,} rows{note if unscored else ''} -> {args.out}")
    return 0
