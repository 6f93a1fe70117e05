"""``recsys train``: fit a rating model, evaluate it against baselines, save it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from recsys.cli.data_args import add_data_arguments, parse_rating_scale
from recsys.cli.framework import add_backend_argument
from recsys.errors import DataError, InvalidParameterError
from recsys.models.scoring import FALLBACK_COLD
from recsys.workflows import (
    VALIDATION_CARVES,
    SideFeatureChoice,
    build_model,
    check_same_run,
    checkpoint_folder,
    choose_side_features,
    default_model_dir,
    device_and_precision,
    load_and_split,
    model_default,
    prepare_cluster,
    prepare_model_dir,
    save_run,
    train_and_evaluate,
)
from recsys.workflows.saving import OVERWRITE_ADVICE

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train",
        help="train a rating model and compare it with baselines",
        description="Train a dot / bias / mlp rating model (default: bias on the bundled "
        "ml-latest-small, offline), evaluate it on the held-out ratings next to "
        "the global-mean and bias-only baselines, and save it.",
    )
    add_data_arguments(parser)
    model = parser.add_argument_group("model (defaults per kind: see the README)")
    model.add_argument(
        "--model",
        choices=("dot", "bias", "mlp"),
        help=f"model kind (default {model_default('kind')})",
    )
    model.add_argument(
        "--objective",
        choices=("rating", "bpr"),
        help="rating: fit the ratings (squared error, the default); bpr: fit a ranking "
        "(Bayesian personalised ranking against sampled movies the user did not rate; "
        "early stopping on the validation NDCG@10; the scores are not ratings)",
    )
    model.add_argument(
        "--fallback",
        choices=("auto", "never"),
        help="auto (default): if the network's validation RMSE is worse than the "
        "bias-only baseline's, the saved model predicts with the baseline (said in the "
        "table and metrics.json); never: always with the network",
    )
    model.add_argument(
        "--day-bias",
        choices=("auto", "off"),
        help="auto (default): when the ratings have timestamps, add a bias per (user, "
        "day) fitted on the network's residuals, its shrinkage chosen on the validation "
        "part (or none if it does not help there); test predictions use the test "
        "ratings' days; off: leave it out",
    )
    model.add_argument("--factors", type=int, help="embedding size")
    model.add_argument("--l2", type=float, help="row-wise L2 penalty on embeddings")
    model.add_argument("--bias-l2", type=float, help="row-wise L2 penalty on biases (bias model)")
    model.add_argument(
        "--dropout", metavar="A,B", help="dropout before,after the hidden layer (mlp)"
    )
    model.add_argument("--hidden", type=int, help="hidden width (mlp)")
    model.add_argument(
        "--members",
        type=int,
        help=f"train N networks with seeds seed..seed+N-1 and predict with the mean of "
        f"their scores, saved as one network of N x factors (dot and bias; "
        f"default {model_default('members')}; N times the training time)",
    )
    model.add_argument(
        "--output",
        choices=("linear", "sigmoid"),
        help="linear output, or sigmoid squashed into the rating scale "
        "(default: sigmoid for dot, linear otherwise)",
    )
    fit = parser.add_argument_group("training")
    fit.add_argument(
        "--epochs", type=int, help=f"maximum epochs (default {model_default('epochs')})"
    )
    fit.add_argument("--batch-size", type=int, help="ratings per step")
    fit.add_argument("--learning-rate", type=float, help="LazyAdam learning rate")
    fit.add_argument(
        "--patience",
        type=int,
        help="early-stopping patience in epochs (default 3; 10 with --objective bpr)",
    )
    fit.add_argument(
        "--validation-fraction",
        type=float,
        help="share of the training part held out for early stopping "
        f"(default {model_default('validation_fraction')}; never the test part)",
    )
    fit.add_argument(
        "--seed", type=int, help=f"seed of split and model (default {model_default('seed')})"
    )
    scale = parser.add_argument_group(
        "backend and scale (see `recsys.models.distribute` for a two-machine TF_CONFIG example)"
    )
    add_backend_argument(scale)
    scale.add_argument(
        "--distribute",
        choices=("mirrored", "multiworker"),
        help="mirrored: all local devices (tf.distribute.MirroredStrategy on "
        "tensorflow, a device mesh on jax); multiworker: several "
        "machines configured by TF_CONFIG (tensorflow only); "
        "--batch-size is the global batch",
    )
    scale.add_argument(
        "--updates",
        choices=("lazy", "dense"),
        help="Adam on embedding tables: lazy (only the rows a batch looked "
        "up, the default) or dense (Keras' Adam)",
    )
    scale.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="save a checkpoint every epoch and resume from it when the same "
        "command is run again (default with multiworker: "
        ".OUT.checkpoints beside --out); removed once the model is saved",
    )
    scale.add_argument(
        "--mixed-precision",
        nargs="?",
        const="auto",
        choices=("auto", "float16", "bfloat16"),
        help="mixed precision: float16 with loss scaling (GPUs), bfloat16, or "
        "auto (float16 on a GPU, bfloat16 on CPU, where it rarely helps)",
    )
    side = parser.add_argument_group(
        "movie side features (cold start)",
        "With --features, the movie side adds a projection of feature blocks of a store "
        "(recsys features build) to the id embedding and bias, so movies without "
        "training ratings get personal predictions. With --split movies:F the validation "
        "part is then carved by movies too, and metrics.json adds the genre-mean "
        "baseline and a cold_start section.",
    )
    side.add_argument("--features", metavar="DIR", help="a feature store directory")
    side.add_argument(
        "--blocks",
        metavar="LIST",
        help="comma-separated content blocks of the store to use (default: "
        "every block not learned from ratings; the output names the "
        "ones left out). Blocks learned from ratings (embedding, pca) "
        "are refused: they may have seen the test part",
    )
    side.add_argument(
        "--side-l2",
        type=float,
        help=f"L2 penalty on the side-feature projections (default {model_default('side_l2')})",
    )
    side.add_argument(
        "--id-dropout",
        type=float,
        help="share of training ratings whose movie id part is dropped so the "
        "side features learn to stand alone (default 0.5 when the "
        "validation part is carved by movies, else 0)",
    )
    side.add_argument(
        "--validation-split",
        choices=VALIDATION_CARVES,
        help="carve the validation part by ratings or by movies (default auto: "
        "movies when --features is given and --split is movies:F)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out",
        metavar="DIR",
        help="model directory (default runs/<dataset>-<model>, plus the objective, split "
        "and side-feature blocks when not the defaults); an existing model folder is "
        "replaced only if it was made with the same model, dataset, split and blocks",
    )
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the --out model folder even if it was made with other settings",
    )
    out.add_argument("--json", action="store_true", help="print metrics.json to stdout")
    out.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    # the workflow's names for what --out sets
    parser.set_defaults(
        func=run, parameter_flags={"directory": "--out", "overwrite": "--overwrite"}
    )


def _dropout(text: str) -> tuple[float, float]:
    try:
        before, after = (float(x) for x in text.split(","))
    except ValueError:
        raise DataError(f"--dropout {text!r}: give two rates, e.g. 0.3,0.5.") from None
    return before, after


#: RatingModel parameters set by an option of the same name (``--bias-l2``: ``bias_l2``).
_MODEL_OPTIONS = (
    "factors",
    "l2",
    "bias_l2",
    "hidden",
    "learning_rate",
    "batch_size",
    "epochs",
    "patience",
    "validation_fraction",
    "output",
    "seed",
    "side_l2",
    "id_dropout",
    "objective",
    "fallback",
    "members",
    "day_bias",
)


def _model_params(args: argparse.Namespace) -> dict[str, Any]:
    """The hyper-parameters the user gave; the others keep the model's defaults."""
    params: dict[str, Any] = {
        name: getattr(args, name) for name in _MODEL_OPTIONS if getattr(args, name) is not None
    }
    if args.dropout:
        params["dropout"] = _dropout(args.dropout)
    params["verbose"] = not (args.quiet or args.json)
    return params


def _side_features(args: argparse.Namespace) -> SideFeatureChoice | None:
    if args.features is None:
        if args.blocks is not None:
            raise DataError("--blocks needs --features DIR (the feature store to read them from).")
        return None
    names = None
    if args.blocks is not None:
        names = [n.strip() for n in args.blocks.split(",") if n.strip()]
    return choose_side_features(args.features, names)


def run(args: argparse.Namespace) -> int:
    """Train, evaluate, save and print the summary table."""
    cluster = prepare_cluster(args.distribute)  # before any data is read
    dataset, split = load_and_split(
        dataset=args.data or args.dataset,
        ratings=args.ratings,
        sep=args.sep,
        columns=args.columns,
        split=args.split,
        seed=args.seed,
    )
    side = _side_features(args)
    kind = args.model or model_default("kind")
    objective = args.objective or model_default("objective")
    blocks = sorted(b.name for b in side.blocks) if side is not None else []
    out = prepare_model_dir(
        args.out
        or default_model_dir(
            dataset.name,
            kind,
            split=split.name,
            features=blocks,
            dataset_spec=dataset.spec,
            objective=objective,
        )
    )
    identity = {
        "model": kind,
        "objective": objective,
        "dataset_spec": dataset.spec,
        "split": split.name,
        "side_feature_blocks": blocks,
    }
    try:
        check_same_run(out, identity, overwrite=args.overwrite)
    except InvalidParameterError as error:
        said = str(error).removesuffix(OVERWRITE_ADVICE)
        raise DataError(
            f"{said} Choose another --out, or pass --overwrite to replace it."
        ) from None
    rating_scale = parse_rating_scale(args.rating_scale)

    # imports the backend quietly: before anything imports Keras
    device, precision = device_and_precision(args.mixed_precision, cluster.backend)
    if precision != "float32" and device.kind != "GPU" and not args.json:
        print(
            f"recsys train: note: no GPU, so {precision} runs on the CPU, where it is "
            "rarely faster than float32.",
            flush=True,
        )
    checkpoint_dir = checkpoint_folder(
        out, cluster.role, checkpoint_dir=args.checkpoint_dir, distribute=args.distribute
    )
    model = build_model(
        kind,
        _model_params(args),
        validation_split=args.validation_split or "auto",
        split_name=split.name,
        has_side_features=side is not None,
    )
    if not args.json:
        print(
            f"recsys train: {model.kind} model on {dataset.name} (split {split.name}, "
            f"seed {model.seed}); {len(split.train):,} training and {len(split.test):,} "
            "test ratings",
            flush=True,
        )
        if side is not None:
            described = ", ".join(
                f"{b.name} ({b.dim}-d, {b.coverage:,} movies)" for b in side.blocks
            )
            print(f"side features: {described}; validation by {model.validation_split}", flush=True)
            if side.left_out and side.by_default:
                print(
                    f"side features: left out {', '.join(side.left_out)} (learned from "
                    "ratings; they may have seen the test ratings)",
                    flush=True,
                )
    from recsys.models.options import TrainingOptions

    options = TrainingOptions(
        distribute=args.distribute,
        strategy=cluster.strategy,
        checkpoint_dir=checkpoint_dir,
        precision=precision,
        **({"updates": args.updates} if args.updates else {}),
    )
    result = train_and_evaluate(
        model,
        dataset,
        split,
        side_features=side,
        rating_scale=rating_scale,
        options=options,
        device=device,
        role=cluster.role,
    )
    metrics = result.metrics()
    kept = save_run(result, out, checkpoint_dir=checkpoint_dir, metrics=metrics)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        role = cluster.role.name
        print(_table(metrics, out if kept else f"{out} by the chief ({role} keeps no copy)"))
    return 0


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _table(m: dict[str, Any], out: Any) -> str:
    name = f"{m['model']} model" + (" (bpr)" if m.get("objective") == "bpr" else "")
    rows = [
        (name, m["rmse"], m["mae"]),
        (
            "bias-only baseline",
            m["baselines"]["bias_only"]["rmse"],
            m["baselines"]["bias_only"]["mae"],
        ),
        (
            "global-mean baseline",
            m["baselines"]["global_mean"]["rmse"],
            m["baselines"]["global_mean"]["mae"],
        ),
    ]
    if "genre_mean" in m["baselines"]:
        rows.append(
            (
                "genre-mean baseline",
                m["baselines"]["genre_mean"]["rmse"],
                m["baselines"]["genre_mean"]["mae"],
            )
        )
    days = m.get("day_biases") or {}
    if "without" in days:
        rows[1:1] = [
            (f"{m['model']} model, no day biases", days["without"]["rmse"], days["without"]["mae"]),
            (
                "bias-only + day biases",
                days["bias_only_with_day_biases"]["rmse"],
                days["bias_only_with_day_biases"]["mae"],
            ),
        ]
    lines = ["", f"  {'held-out ratings: ' + format(m['n_test'], ','):<28}{'RMSE':>8}{'MAE':>8}"]
    lines += [f"  {label:<28}{_cell(r):>8}{_cell(a):>8}" for label, r, a in rows]
    topn = m.get("topn")
    if topn:
        k = topn["k"]
        names = ["ndcg", "precision", "recall", "map", "coverage"]
        lines += [
            "",
            f"  {'top-' + str(k) + ' lists: ' + format(topn['n_users'], ',') + ' users':<28}"
            + "".join(f"{n + '@' + str(k):>14}" for n in names),
        ]
        for label, key in (
            (name, "model"),
            ("popularity baseline", "popularity"),
            ("bias-only baseline", "bias_only"),
        ):
            lines.append(
                f"  {label:<28}" + "".join(f"{topn[key][f'{n}@{k}']:>14.4f}" for n in names)
            )
    cold = m.get("cold_start")
    if cold and cold["n_test"] and cold["n_test"] != m["n_test"]:
        head = f"cold-start movies: {cold['n_movies']:,} ({cold['n_test']:,} ratings)"
        lines += [
            "",
            f"  {head:<28}{'RMSE':>8}{'MAE':>8}",
            f"  {m['model'] + ' model':<28}{cold['rmse']:>8.4f}{cold['mae']:>8.4f}",
        ]
        lines += [
            f"  {name.replace('_', '-') + ' baseline':<28}{b['rmse']:>8.4f}{b['mae']:>8.4f}"
            for name, b in cold["baselines"].items()
        ]
    elif cold and cold["n_test"]:
        lines.append(
            f"  (every held-out rating is of a cold-start movie: "
            f"{cold['n_movies']:,} movies without training ratings)"
        )
    fallback = m.get("fallback")
    if fallback and fallback.get("used") == "bias_only":
        lines += [
            "",
            f"  note: on the validation part the {m['model']} network scored RMSE "
            f"{fallback['validation_rmse']:.4f}, worse than the bias-only baseline's "
            f"{fallback['baseline_validation_rmse']:.4f}, so the model row above and the "
            "saved model predict with the bias-only baseline; try recsys tune, or "
            "--fallback never",
        ]
    steady = m["steady_ratings_per_second"]
    lines.append("")
    if "without" in days:
        lines.append(
            f"  day biases: one per (user, day), shrinkage {days['shrinkage']:g} chosen on "
            f"validation (RMSE {days['validation_rmse_without']:.4f} -> "
            f"{days['validation_rmse'][format(days['shrinkage'], 'g')]:.4f}); "
            f"{days['n_test_with_bias']:,} test ratings on a (user, day) with training "
            "ratings (--day-bias off leaves them out)"
        )
    elif days.get("why"):
        lines.append(f"  day biases: none ({days['why']})")
    lines.append(
        f"  training: {m['epochs_run']} epochs (best {m['best_epoch']}) in "
        f"{m['train_seconds']:.2f} s on {m['backend']} {m['device']} "
        f"({m['device_name']}), "
        f"{m['ratings_per_second']:,.0f} ratings/s"
        + (f" ({steady:,.0f}/s per epoch after the first)" if steady else "")
    )
    if m.get("members"):
        lines.append(
            f"  members: {m['members']} networks averaged into one, "
            f"{m['members_train_seconds']:.2f} s of training in all (the line above is "
            "the first member's)"
        )
    fallbacks = dict(m["test_fallbacks"])
    by_features = fallbacks.pop(FALLBACK_COLD, 0)
    if by_features:
        lines.append(
            f"  {by_features:,} test ratings of cold-start movies scored from their side features"
        )
    if fallbacks:
        fell = sum(fallbacks.values())
        lines.append(f"  {fell:,} test ratings had an id unseen in training (baseline used)")
    lines.append(f"  saved to {out}")
    return "\n".join(lines)
