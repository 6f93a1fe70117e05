"""``recsys compare``: several models and the baselines on the same split or folds."""

from __future__ import annotations

import argparse

from recsys.cli.data_args import add_data_arguments
from recsys.cli.evaluate import add_protocol_arguments, protocol_from_args
from recsys.errors import DataError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    parser = subparsers.add_parser(
        "compare",
        help="train several models and the baselines on the same folds; one table",
        description="Train each model and fit each baseline (global_mean, bias_only, "
        "popularity, random) on the same split or folds, score them with rating and "
        "top-N metrics, and write DIR/compare.csv (mean and std per model), "
        "DIR/folds.csv (one row per model and fold) and DIR/compare.png.",
    )
    add_data_arguments(parser)
    parser.set_defaults(split=None)  # a split or folds, checked in run
    parser.add_argument(
        "--models",
        default="bias,dot,mlp",
        metavar="LIST",
        help="comma-separated: bias, dot, mlp (trained on ratings), bias-bpr, dot-bpr, "
        "mlp-bpr (trained for ranking); default bias,dot,mlp",
    )
    parser.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="K-fold cross-validation instead of --split: the dataset's predefined folds "
        "when it has them (ml-100k u1..u5 for 5), else a seeded K-fold",
    )
    parser.add_argument(
        "--fold-by",
        choices=("ratings", "user"),
        default="ratings",
        help="K-fold over all ratings (default) or within each user's ratings "
        "(a per-user holdout of 1/K in every fold)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of folds and models (default 0)")
    parser.add_argument("--epochs", type=int, help="maximum epochs of every model")
    add_protocol_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(
        func=run,
        parameter_flags={
            "directory": "--out",
            "folds": "--folds",
            "models": "--models",
            "k": "-k",
            "relevance": "--relevance",
            "candidates": "--candidates",
        },
    )


def run(args: argparse.Namespace) -> int:
    """Check every option, compare, write the outputs and print the table."""
    from recsys.fileio import check_writable_dir
    from recsys.workflows import load_and_split
    from recsys.workflows.evaluation import compare, comparison_splits, parse_model_names

    if args.folds is not None and args.split is not None:
        raise DataError("give --split or --folds, not both.")
    if args.folds is not None and args.folds < 2:
        raise DataError(f"--folds must be 2 or more, got {args.folds}.")
    if args.epochs is not None and args.epochs < 1:
        raise DataError(f"--epochs must be 1 or more, got {args.epochs}.")
    names = parse_model_names(args.models)
    protocol = protocol_from_args(args, seed=args.seed)
    check_writable_dir(args.out, what="comparison", marker="compare.csv", parameter="directory")
    split = args.split if args.folds is None else None
    dataset, _ = load_and_split(
        dataset=args.data or args.dataset,
        ratings=args.ratings,
        sep=args.sep,
        columns=args.columns,
        split=split or "random:0.1",
        seed=args.seed,
    )
    splits = comparison_splits(
        dataset,
        split=split or ("random:0.1" if args.folds is None else None),
        folds=args.folds,
        fold_by=args.fold_by,
        seed=args.seed,
    )
    for part in splits:  # the relevance must fit each training scale before training
        protocol.prepare(part.train, part.test)
    params = {name: {"epochs": args.epochs} for name in names} if args.epochs else None
    if not args.quiet:
        print(
            f"recsys compare: {', '.join(names)} and the baselines on {dataset.name}, "
            f"{len(splits)} split(s) ({splits[0].name}{', ...' if len(splits) > 1 else ''}), "
            f"seed {args.seed}",
            flush=True,
        )
    result = compare(
        dataset,
        names,
        splits,
        protocol=protocol,
        seed=args.seed,
        params=params,
        on_progress=None if args.quiet else (lambda line: print(line, flush=True)),
    )
    out = result.write(args.out)
    print()
    print(result.table())
    print(f"\n  written to {out}/compare.csv, folds.csv, compare.png")
    return 0
