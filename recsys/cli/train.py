"""``recsys train``: fit a rating model, evaluate it against baselines, save it."""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from recsys.cli.data_args import add_data_arguments, load_data_and_split, parse_rating_scale
from recsys.cli.framework import add_backend_argument
from recsys.errors import DataError
from recsys.fileio import check_writable_dir
from recsys.models.scoring import FALLBACK_COLD

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
        "--model", default="bias", choices=("dot", "bias", "mlp"), help="model kind (default bias)"
    )
    model.add_argument("--factors", type=int, help="embedding size")
    model.add_argument("--l2", type=float, help="row-wise L2 penalty on embeddings")
    model.add_argument("--bias-l2", type=float, help="row-wise L2 penalty on biases (bias model)")
    model.add_argument(
        "--dropout", metavar="A,B", help="dropout before,after the hidden layer (mlp)"
    )
    model.add_argument("--hidden", type=int, help="hidden width (mlp)")
    model.add_argument(
        "--output",
        choices=("linear", "sigmoid"),
        help="linear output, or sigmoid squashed into the rating scale "
        "(default: sigmoid for dot, linear otherwise)",
    )
    fit = parser.add_argument_group("training")
    fit.add_argument("--epochs", type=int, default=50, help="maximum epochs (default 50)")
    fit.add_argument("--batch-size", type=int, help="ratings per step")
    fit.add_argument("--learning-rate", type=float, help="LazyAdam learning rate")
    fit.add_argument(
        "--patience", type=int, default=3, help="early-stopping patience in epochs (default 3)"
    )
    fit.add_argument(
        "--validation-fraction",
        type=float,
        default=0.05,
        help="share of the training part held out for early stopping "
        "(default 0.05; never the test part)",
    )
    fit.add_argument("--seed", type=int, default=0, help="seed of split and model (default 0)")
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
        default="lazy",
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
        default=0.01,
        help="L2 penalty on the side-feature projections (default 0.01)",
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
        default="auto",
        choices=("auto", "ratings", "movies"),
        help="carve the validation part by ratings or by movies (default auto: "
        "movies when --features is given and --split is movies:F)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out", metavar="DIR", help="model directory (default runs/<dataset>-<model>)"
    )
    out.add_argument("--json", action="store_true", help="print metrics.json to stdout")
    out.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    parser.set_defaults(func=run)


def _dropout(text: str) -> tuple[float, float]:
    try:
        before, after = (float(x) for x in text.split(","))
    except ValueError:
        raise DataError(f"--dropout {text!r}: give two rates, e.g. 0.3,0.5.") from None
    return before, after


def _side_blocks(args: argparse.Namespace) -> tuple[list[Any] | None, list[str]]:
    """The feature blocks named by ``--features``/``--blocks`` (``None`` without them), and
    the names of the store's blocks left out of the default.

    Blocks learned from ratings (``embedding``, ``pca``, or so says their provenance) are
    left out of the default and refused when named: they can have seen the test ratings.
    """
    if args.features is None:
        if args.blocks is not None:
            raise DataError("--blocks needs --features DIR (the feature store to read them from).")
        return None, []
    from recsys.features.lineage import check_side_feature_block, learned_from_ratings
    from recsys.features.store import FeatureStore

    store = FeatureStore(args.features)
    provenance = {
        n: info.get("provenance") for n, info in store.describe().get("blocks", {}).items()
    }
    if args.blocks is None:
        names = [n for n in store.names if learned_from_ratings(n, provenance[n]) is None]
        if not names:
            raise DataError(
                f"feature store {args.features!r} has no block usable as side "
                f"features (it has {', '.join(store.names) or 'none'}); build "
                "e.g. genres with `recsys features build`, or name --blocks."
            )
    else:
        names = [n.strip() for n in args.blocks.split(",") if n.strip()]
        if not names:
            raise DataError(
                f"--blocks {args.blocks!r}: name at least one block, e.g. genres,overview_w2v."
            )
        for name in names:
            if name in provenance:  # unknown names fail below, in store.blocks
                check_side_feature_block(name, provenance[name])
    return store.blocks(names), [n for n in store.names if n not in names]


def _validation_split(args: argparse.Namespace, split_name: str, blocks: list[Any] | None) -> str:
    if args.validation_split != "auto":
        return str(args.validation_split)
    return "movies" if blocks and split_name.startswith("movies:") else "ratings"


def run(args: argparse.Namespace) -> int:
    """Train, evaluate, save and print the summary table."""
    role = _check_scale_options(args)
    from recsys.backend import active_backend, device_info, import_keras
    from recsys.models.options import TrainingOptions

    backend = active_backend()
    TrainingOptions(distribute=args.distribute).check_backend(backend)  # before any work
    strategy = None
    if args.distribute and backend == "tensorflow":
        # first: the multi-worker strategy configures the TF runtime
        from recsys.models.distribute import make_strategy

        import_keras()
        strategy = make_strategy(args.distribute)
    dataset, split = load_data_and_split(args)
    blocks, left_out = _side_blocks(args)
    from recsys.models.persistence import MARKER  # refuse a foreign --out before training

    out = check_writable_dir(
        args.out or f"runs/{dataset.name}-{args.model}", what="model", marker=MARKER
    )
    rating_scale = parse_rating_scale(args.rating_scale)

    device = device_info()  # imports the backend quietly: before anything imports Keras
    from recsys.models.precision import resolve_policy

    has_gpu = device.kind == "GPU"
    precision = resolve_policy(args.mixed_precision, has_gpu=has_gpu, backend=backend)
    if precision != "float32" and not has_gpu and not args.json:
        print(
            f"recsys train: note: no GPU, so {precision} runs on the CPU, where it is "
            "rarely faster than float32.",
            flush=True,
        )
    checkpoint_dir = _checkpoint_dir(args, out, role)

    from recsys.evaluation import evaluate_model
    from recsys.models.rating_model import RatingModel

    model = RatingModel(
        args.model,
        factors=args.factors,
        l2=args.l2,
        bias_l2=args.bias_l2,
        dropout=_dropout(args.dropout) if args.dropout else None,
        hidden=args.hidden,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        epochs=args.epochs,
        patience=args.patience,
        validation_fraction=args.validation_fraction,
        output=args.output,
        seed=args.seed,
        verbose=not (args.quiet or args.json),
        side_l2=args.side_l2,
        id_dropout=args.id_dropout,
        validation_split=_validation_split(args, split.name, blocks),
    )
    model.resolved_params()  # bad hyper-parameters fail before any work
    if not args.json:
        print(
            f"recsys train: {args.model} model on {dataset.name} (split {split.name}, "
            f"seed {args.seed}); {len(split.train):,} training and {len(split.test):,} "
            "test ratings",
            flush=True,
        )
        if blocks:
            described = ", ".join(f"{b.name} ({b.dim}-d, {b.coverage:,} movies)" for b in blocks)
            print(f"side features: {described}; validation by {model.validation_split}", flush=True)
            if left_out and args.blocks is None:
                print(
                    f"side features: left out {', '.join(left_out)} (learned from ratings; "
                    "they may have seen the test ratings)",
                    flush=True,
                )
    started = time.perf_counter()
    options = TrainingOptions(
        distribute=args.distribute,
        strategy=strategy,
        checkpoint_dir=checkpoint_dir,
        precision=precision,
        updates=args.updates,
    )
    model.fit(
        split.train,
        rating_scale=rating_scale,
        movies=dataset.movies,
        side_features=blocks,
        options=options,
    )
    fit_seconds = time.perf_counter() - started
    by_movies = split.name.startswith("movies:")
    report = evaluate_model(
        model, split.train, split.test, movies=dataset.movies if (blocks or by_movies) else None
    )
    metrics = _metrics(
        args,
        dataset.name,
        dataset.spec,
        split.name,
        len(split.train),
        model,
        report,
        fit_seconds,
        device.to_json(),
    )
    if blocks:
        metrics["side_features"] = {
            "store": str(args.features),
            **model.describe()["side_features"],
            "validation_split": model.validation_split,
            "n_warm_movies": model.describe()["n_warm_movies"],
            "n_movies": len(model.movie_vocab_),
        }
    if "cold_start" in report:
        metrics["cold_start"] = report["cold_start"]
    metrics.update(
        {
            "distribute": args.distribute or "none",
            "precision": precision,
            "updates": args.updates,
            "replicas": (
                strategy.num_replicas_in_sync
                if strategy
                else device.count
                if args.distribute
                else 1
            ),
            "worker": role.name,
        }
    )
    from recsys.models.persistence import save_model

    if role.is_chief:
        save_model(model, out, extra_files={"metrics.json": metrics})
    else:  # every worker saves (the standard pattern), only the chief's copy is kept
        scratch = Path(tempfile.mkdtemp(prefix=f"recsys-{role.name}-"))
        try:
            save_model(model, scratch / "model", extra_files={"metrics.json": metrics})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if checkpoint_dir is not None:  # this worker's folder; the parent once it is empty
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            checkpoint_dir.parent.rmdir()
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(
            _table(
                metrics, out if role.is_chief else f"{out} by the chief ({role.name} keeps no copy)"
            )
        )
    return 0


def _check_scale_options(args: argparse.Namespace) -> Any:
    """Validate --distribute (TF_CONFIG) before any data is read; return the role."""
    from recsys.models.distribute import ClusterRole, cluster_role

    if args.distribute == "multiworker":
        return cluster_role()
    return ClusterRole()


def _checkpoint_dir(args: argparse.Namespace, out: Path, role: Any) -> Path | None:
    if args.checkpoint_dir:
        base = Path(args.checkpoint_dir).expanduser()
    elif args.distribute == "multiworker":
        base = out.parent / f".{out.name}.checkpoints"
    else:
        return None
    check_writable_dir(base, what="checkpoint")
    return base / role.name  # one folder per worker: no shared file system needed


def _metrics(
    args: argparse.Namespace,
    dataset: str,
    spec: str,
    split: str,
    n_train: int,
    model: Any,
    report: dict[str, Any],
    fit_seconds: float,
    device: dict[str, Any],
) -> dict[str, Any]:
    from recsys.backend import backend_versions

    training = model.training_
    epochs = training.epochs_run
    steady = [h.ratings_per_second for h in training.history[1:]]
    return {
        "model": model.kind,
        "dataset": dataset,
        "dataset_spec": spec,
        "split": split,
        "seed": args.seed,
        "n_train": int(n_train),
        "n_fit": int(model.n_train_),
        "n_validation": int(model.n_validation_),
        "n_validation_dropped": int(model.n_validation_dropped_),
        "n_test": report["n_test"],
        "rating_scale": list(model.rating_scale_),
        "rmse": report["rmse"],
        "mae": report["mae"],
        "baselines": report["baselines"],
        "test_fallbacks": report["test_fallbacks"],
        "train_seconds": training.train_seconds,
        "ratings_per_second": model.n_train_ * epochs / training.train_seconds,
        "steady_ratings_per_second": (sorted(steady)[len(steady) // 2] if steady else None),
        "epochs_run": epochs,
        "best_epoch": training.best_epoch,
        "stopped_early": training.stopped_early,
        "fit_seconds": fit_seconds,
        "params": model.describe()["params"],
        **device,
        "versions": {**backend_versions(), "python": platform.python_version()},
    }


def _table(m: dict[str, Any], out: Any) -> str:
    rows = [
        (f"{m['model']} model", m["rmse"], m["mae"]),
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
    lines = ["", f"  {'held-out ratings: ' + format(m['n_test'], ','):<28}{'RMSE':>8}{'MAE':>8}"]
    lines += [f"  {name:<28}{r:>8.4f}{a:>8.4f}" for name, r, a in rows]
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
    steady = m["steady_ratings_per_second"]
    lines.append("")
    lines.append(
        f"  training: {m['epochs_run']} epochs (best {m['best_epoch']}) in "
        f"{m['train_seconds']:.2f} s on {m['backend']} {m['device']} "
        f"({m['device_name']}), "
        f"{m['ratings_per_second']:,.0f} ratings/s"
        + (f" ({steady:,.0f}/s per epoch after the first)" if steady else "")
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
