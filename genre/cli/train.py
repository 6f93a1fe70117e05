"""``genre train``: fit a genre model on train, tune on validation, score once on test.

Text models (``nb``, ``svm``, ``logreg``) read the overviews of the labelled set;
feature models (``fusion``, ``mlp``) read blocks of a feature store (``recsys features
build``) for the movies of the labelled set; ``poster-cnn`` trains a CNN end to end on
the posters of a folder (``--posters``). All take the labels and the split from
``--dataset`` (the ``genre dataset`` output).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from recsys.cli.framework import UsageError, add_backend_argument

if TYPE_CHECKING:
    from genre.workflows import TrainingPlan

Number = TypeVar("Number", int, float)

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``genre train`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "train",
        help="train a genre classifier: text (nb, svm, logreg), feature blocks (fusion, "
        "mlp) or posters (poster-cnn)",
        description=(
            "Fit on the training part; choose hyper-parameters (text models), stop early "
            "(feature models) and choose per-genre thresholds on the validation part; "
            "evaluate once on the test part beside the trivial benchmarks. Writes the "
            "model and DIR/metrics.json. Every model needs --dataset (labels and split); "
            "--model fusion and mlp also need --features FEATURES_DIR and --blocks; "
            "--model poster-cnn needs --posters DIR."
        ),
    )
    parser.add_argument(
        "--dataset",
        required=True,
        metavar="DIR",
        help="labelled set written by 'genre dataset' (labels and split; required for every model)",
    )
    parser.add_argument(
        "--features",
        default=None,
        metavar="tfidf|bow|FEATURES_DIR",
        help="text models: tfidf (default) or bow; fusion/mlp: the feature "
        "store written by 'recsys features build' (required)",
    )
    parser.add_argument(
        "--text",
        choices=("overview", "tags", "overview+tags"),
        default="overview",
        help="text field (default overview)",
    )
    parser.add_argument(
        "--model",
        choices=("nb", "svm", "logreg", "fusion", "mlp", "poster-cnn"),
        default="logreg",
        help="text: nb, svm, logreg (default); feature blocks: fusion (one "
        "branch per block) or mlp (one block, 1024-256 layers); posters: poster-cnn",
    )
    parser.add_argument(
        "--class-weight",
        choices=("none", "balanced"),
        default="none",
        help="weight each genre's classes by their inverse frequency in the training "
        "part (balanced) or not (default none)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the model and its training (default 0)"
    )
    parser.add_argument(
        "--select-by",
        choices=("mean_roc_auc", "micro_f1", "macro_f1"),
        default="mean_roc_auc",
        help="validation metric choosing the hyper-parameters (default mean_roc_auc)",
    )
    parser.add_argument(
        "--threshold-by",
        choices=("f1", "accuracy"),
        default="f1",
        help="per-genre thresholds maximise this on validation (default f1)",
    )
    parser.add_argument(
        "--C",
        dest="C",
        default=None,
        metavar="LIST",
        help="comma-separated C values for svm/logreg (default: a grid)",
    )
    parser.add_argument(
        "--alpha",
        default=None,
        metavar="LIST",
        help="comma-separated smoothing values for nb (default: a grid)",
    )
    parser.add_argument(
        "--min-df",
        default=None,
        metavar="LIST",
        help="comma-separated min_df values (ints are counts, default 2,5)",
    )
    parser.add_argument(
        "--ngram-max",
        default=None,
        metavar="LIST",
        help="comma-separated largest n-gram sizes (default 1,2)",
    )
    add_network_arguments(parser)
    add_poster_arguments(parser)
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="model directory (an existing one is replaced only if it is a genre model directory)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-grid-point / per-epoch lines")
    parser.set_defaults(func=run, parameter_flags={"field": "--text"})


def add_network_arguments(parser: argparse.ArgumentParser, *, blocks: bool = True) -> None:
    """Options of the feature models (``genre train --model fusion|mlp``, ``genre ablate``)."""
    group = parser.add_argument_group("feature models (fusion, mlp)")
    if blocks:
        group.add_argument(
            "--blocks",
            metavar="LIST",
            help="comma-separated blocks of the feature store, e.g. "
            "embedding,poster,overview_w2v (default: all but genres)",
        )
    group.add_argument(
        "--units",
        metavar="LIST",
        help="widths of each branch's dense layers (default 256; mlp 1024,256)",
    )
    group.add_argument(
        "--head-units",
        metavar="LIST",
        help="widths of dense layers after the concatenation (default none)",
    )
    group.add_argument(
        "--second-stage",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a second stage that sees the first stage's scores of every genre "
        "(fusion default: see genre.fusion.model.DEFAULTS)",
    )
    group.add_argument(
        "--dropout",
        type=float,
        metavar="RATE",
        help="dropout after each hidden layer (default 0.5)",
    )
    group.add_argument("--l2", type=float, default=0.0, help="L2 on the kernels (default 0)")
    group.add_argument(
        "--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 0.001)"
    )
    group.add_argument("--batch-size", type=int, default=64, help="default 64")
    group.add_argument(
        "--epochs",
        type=int,
        default=200,
        help="maximum epochs (default 200; early stopping on validation)",
    )
    group.add_argument(
        "--patience",
        type=int,
        default=10,
        help="epochs without a better validation loss before stopping (default 10)",
    )
    add_backend_argument(group)  # type: ignore[arg-type]  # an argument group works too


def add_poster_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``--model poster-cnn`` (besides the network options it shares)."""
    group = parser.add_argument_group(
        "poster CNN (poster-cnn; also uses --dropout, --learning-rate, --batch-size, "
        "--epochs, --patience, --class-weight, --seed, --backend)"
    )
    group.add_argument(
        "--posters",
        metavar="DIR",
        help="folder of <movieId>.jpg posters or with a posters_index.csv (required for "
        "poster-cnn; default none)",
    )
    group.add_argument(
        "--architecture",
        choices=("scratch", "vgg16"),
        default=None,
        help="scratch: a small VGG-style network; vgg16: VGG16 with a new top, then its "
        "last block fine-tuned (default scratch)",
    )
    group.add_argument(
        "--image-size",
        type=int,
        default=None,
        metavar="PIXELS",
        help="posters are resized to PIXELS x PIXELS (default 128; vgg16 needs >= 32)",
    )
    group.add_argument(
        "--weights",
        default=None,
        metavar="imagenet|PATH|none",
        help="vgg16's base: ImageNet (downloaded by Keras, needs internet), a local "
        "*_notop weights file, or none (random); default imagenet (scratch: none)",
    )
    group.add_argument(
        "--optimizer",
        choices=("sgd", "adam"),
        default=None,
        help="sgd (Nesterov momentum 0.9) or adam (default adam)",
    )
    group.add_argument(
        "--fine-tune-epochs",
        type=int,
        default=None,
        metavar="N",
        help="vgg16: most epochs with the base's last block unfrozen, at a tenth of the "
        "learning rate (default 10; 0: none)",
    )
    group.add_argument(
        "--upsample",
        action="store_true",
        help="repeat training posters of minority genres (training part only; default off)",
    )
    group.add_argument(
        "--augment",
        type=float,
        default=None,
        metavar="FRACTION",
        help="largest zoom and shift of the training-time augmentation, besides "
        "horizontal flips (default 0.1; 0: flips only)",
    )


POSTER_OPTIONS = (
    "posters",
    "architecture",
    "image_size",
    "weights",
    "optimizer",
    "fine_tune_epochs",
    "augment",
)


def network_params(args: argparse.Namespace) -> dict[str, Any]:
    """FusionClassifier keyword arguments from the options (None = the model default)."""
    if args.dropout is not None and not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), received {args.dropout}.")
    return {
        "units": _numbers(args.units, "--units", int),
        "head_units": _widths(args.head_units),
        "second_stage": args.second_stage,
        "dropout": args.dropout,
        "l2": args.l2,
        "class_weight": None if args.class_weight == "none" else args.class_weight,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "patience": args.patience,
        "seed": args.seed,
        "verbose": not args.quiet,
    }


def _widths(text: str | None) -> list[int] | None:
    if text is None:
        return None
    if text.strip() in ("", "none", "0"):
        return []
    return _numbers(text, "--head-units", int)


def _numbers(text: str | None, option: str, kind: Callable[[str], Number]) -> list[Number] | None:
    """The comma-separated positive numbers of an option (``None`` when not given)."""
    if text is None:
        return None
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise UsageError(
            f"{option} must be a comma-separated list of positive numbers, received {text!r}."
        )
    return values


def plan(args: argparse.Namespace) -> TrainingPlan:
    """The training plan of the options (:func:`genre.workflows.plan_training`)."""
    from genre.workflows import plan_training

    return plan_training(
        args.model,
        features=args.features,
        blocks=args.blocks,
        C=_numbers(args.C, "--C", float),
        alpha=_numbers(args.alpha, "--alpha", float),
        min_df=_numbers(args.min_df, "--min-df", float),
        ngram_max=_numbers(args.ngram_max, "--ngram-max", int),
    )


def run(args: argparse.Namespace) -> int:
    """Train, tune on validation and save a text, fused or poster genre model; return 0."""
    if args.model == "poster-cnn":
        from genre.cli.poster import run_poster_cnn

        return run_poster_cnn(args, format_summary)
    given = [o for o in POSTER_OPTIONS if getattr(args, o, None) is not None]
    if given or getattr(args, "upsample", False):
        flag = "--" + (given[0] if given else "upsample").replace("_", "-")
        raise UsageError(f"{flag} applies to --model poster-cnn, not to --model {args.model}.")
    chosen = plan(args)
    if chosen.kind == "fused":
        return run_feature_model(args, chosen)
    from genre.data.dataset import load_labelled
    from genre.model_dir import MARKER
    from genre.text.experiment import run_text_experiment
    from genre.text.features import movie_texts
    from genre.workflows import training_record
    from recsys.fileio import check_writable_dir

    grid = chosen.grid
    out = check_writable_dir(args.out, what="genre model", marker=MARKER, inputs=[args.dataset])
    data = load_labelled(args.dataset)

    def show(row: dict[str, Any]) -> None:
        if not args.quiet:
            params = " ".join(f"{k}={row[k]}" for k in sorted(grid))
            print(
                f"  val {params}: mean_roc_auc={row['mean_roc_auc']:.4f} "
                f"micro_f1={row['micro_f1']:.4f} macro_f1={row['macro_f1']:.4f}",
                flush=True,
            )

    n_points = 1
    for values in grid.values():
        n_points *= len(values)
    counts = data.counts()
    print(
        f"{args.model} on {chosen.features} of {args.text}: {n_points} grid points, "
        f"train {counts['train']}, val {counts['val']}, test {counts['test']}"
    )
    with_text = sum(bool(t.strip()) for t in movie_texts(data.part("train"), args.text))
    if 0 < with_text < counts["train"] / 2:
        print(
            f"note: only {with_text:,} of {counts['train']:,} training movies have "
            f"--text {args.text}; the others look alike to the model (e.g. --text "
            "overview+tags uses both).",
            flush=True,
        )
    result = run_text_experiment(
        data,
        model=args.model,
        features=chosen.features,  # type: ignore[arg-type]  # checked by plan_training
        text=args.text,
        class_weight=None if args.class_weight == "none" else args.class_weight,
        seed=args.seed,
        grid=grid,
        select_by=args.select_by,
        threshold_by=args.threshold_by,
        on_step=show,
    )
    tuned = result.tuned
    tuned.estimator.save(
        out,
        config={**result.config, **training_record(data, args.dataset)},
        metrics=result.report,
        search=tuned.search,
    )
    print(f"chosen on validation: {tuned.params}")
    print(format_summary(result.report))
    print(f"wrote {out}")
    return 0


def format_summary(report: dict[str, Any]) -> str:
    """A small test-metrics table: the model beside the trivial benchmarks."""
    names = (
        "micro_f1",
        "macro_f1",
        "samples_f1",
        "mean_roc_auc",
        "hamming_loss",
        "mean_accuracy",
        "top1_accuracy",
        "top3_precision",
    )
    rows = [
        ("model", report),
        ("prior", report["benchmarks"]["prior"]),
        ("all-negative", report["benchmarks"]["all_negative"]),
    ]
    lines = [f"test ({report['n_test']} movies)  " + "  ".join(f"{n:>14}" for n in names)]
    for label, values in rows:
        cells = "  ".join(
            f"{values[n]:>14.4f}" if values[n] is not None else f"{'-':>14}" for n in names
        )
        lines.append(f"{label:<{len(lines[0].split('  ')[0])}}  {cells}")
    return "\n".join(lines)


def run_feature_model(args: argparse.Namespace, chosen: TrainingPlan) -> int:
    """``--model fusion|mlp``: blocks of a feature store for the labelled set's movies."""
    params = network_params(args)
    from genre.model_dir import MARKER
    from recsys.fileio import check_writable_dir

    out = check_writable_dir(
        args.out, what="genre model", marker=MARKER, inputs=[args.dataset, chosen.features]
    )
    from genre.data.dataset import load_labelled
    from genre.fusion.block_inputs import choose_blocks, load_block_inputs
    from genre.fusion.experiment import check_block_count
    from recsys.features import FeatureStore

    data = load_labelled(args.dataset)
    store = FeatureStore(chosen.features)
    names = choose_blocks(store, args.blocks)
    check_block_count(args.model, names)
    inputs = load_block_inputs(store, names, data.frame["movie_id"])

    from recsys.backend import import_keras

    # On --backend / KERAS_BACKEND (chosen by run_cli). No global seeding: the model
    # seeds its initialisers, dropout and batch order from --seed itself, and
    # keras.utils.set_random_seed would import TensorFlow on every backend.
    keras = import_keras()

    from genre.fusion.experiment import run_fusion_experiment
    from genre.workflows import training_record

    counts = data.counts()
    coverage = inputs.coverage()
    print(
        f"{args.model} on blocks {', '.join(names)} ({keras.backend.backend()} backend): "
        f"train {counts['train']}, val {counts['val']}, test {counts['test']} movies; with "
        "each block: " + ", ".join(f"{n} {c}" for n, c in coverage.items()),
        flush=True,
    )
    result = run_fusion_experiment(
        data, inputs, model=args.model, blocks=names, threshold_by=args.threshold_by, **params
    )
    record = training_record(data, args.dataset, features=chosen.features)
    result.classifier.save(out, config={**result.config, **record}, metrics=result.report)
    training = result.report["training"]
    print(
        f"trained {training['epochs_run']} epochs, best validation loss "
        f"{training['best_val_loss']:.4f} at epoch {training['best_epoch']}"
    )
    print(format_summary(result.report))
    print(f"wrote {out}")
    return 0
