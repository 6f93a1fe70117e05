"""``recsys tune``: choose a rating model's hyper-parameters on validation data carved
from the training part, then train, evaluate and save the model with them."""

from __future__ import annotations

import argparse
import json
from typing import Any

from recsys.cli.data_args import add_data_arguments, parse_rating_scale
from recsys.cli.framework import add_backend_argument, default_of
from recsys.errors import DataError
from recsys.tuning import FINAL_MEMBERS, TrialLog, tune_rating_model
from recsys.workflows import (
    build_model,
    default_model_dir,
    device_and_precision,
    load_and_split,
    model_default,
    prepare_model_dir,
    save_run,
    train_and_evaluate,
)

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tune`` command."""
    parser = subparsers.add_parser(
        "tune",
        help="search hyper-parameters on validation data, then train and save",
        description="Search a rating model's hyper-parameters with Optuna (TPE, seeded) "
        "on a validation part carved from the training part only; the first trial is "
        "the defaults. Then train the chosen model on the whole training part, evaluate "
        "it on the test part once (beside the baselines) and save it with tuning.json "
        "(chosen values and the trial table).",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--model",
        choices=("dot", "bias", "mlp"),
        help=f"model kind (default {model_default('kind')})",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=default_of(tune_rating_model, "n_trials"),
        help="trial budget (default %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="time budget: no trial starts after it (default: none)",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=default_of(tune_rating_model, "validation_fraction"),
        help="share of the training part that ranks the trials (default %(default)s)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help=f"maximum epochs of each trial and of the final model "
        f"(default {model_default('epochs')}; early stopping ends most sooner)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help=f"seed of split, search and models (default {model_default('seed')})",
    )
    parser.add_argument(
        "--members",
        type=int,
        help="train the final model as N networks with the chosen values and predict "
        "with the mean of their scores (the trials train one each; "
        f"default {FINAL_MEMBERS['bias']} for dot and bias, {FINAL_MEMBERS['mlp']} for mlp)",
    )
    parser.add_argument(
        "--day-bias",
        choices=("auto", "off"),
        help="(user, day) biases of every trial and of the final model: auto (default) "
        "or off (see recsys train --help)",
    )
    add_backend_argument(parser)
    parser.add_argument(
        "--out", metavar="DIR", help="model directory (default runs/<dataset>-<model>-tuned)"
    )
    parser.add_argument("--json", action="store_true", help="print tuning.json to stdout")
    parser.set_defaults(
        func=run,
        parameter_flags={
            "directory": "--out",
            "n_trials": "--trials",
            "timeout": "--timeout",
            "validation_fraction": "--validation-fraction",
        },
    )


def _progress(log: TrialLog) -> None:
    values = ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in log.params.items()
    )
    print(
        f"trial {log.number:>3}  val_rmse {log.rmse:.4f}  best {log.best_rmse:.4f}  "
        f"{log.epochs:>2} epochs {log.seconds:6.1f}s  {values}",
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    """Tune, train with the chosen values, evaluate, save and print the summary."""
    if args.trials < 1:
        raise DataError(f"--trials {args.trials}: give at least 1 trial.")
    if args.timeout is not None and not args.timeout > 0:
        raise DataError(f"--timeout {args.timeout:g}: give a positive number of seconds.")
    dataset, split = load_and_split(
        dataset=args.data or args.dataset,
        ratings=args.ratings,
        sep=args.sep,
        columns=args.columns,
        split=args.split,
        seed=args.seed,
    )
    kind = args.model or model_default("kind")
    members = FINAL_MEMBERS[kind] if args.members is None else args.members
    build_model(kind, {"members": members})  # refused before the search, not after it
    out = prepare_model_dir(args.out or f"{default_model_dir(dataset.name, kind)}-tuned")
    rating_scale = parse_rating_scale(args.rating_scale)
    seed = model_default("seed") if args.seed is None else args.seed
    fixed: dict[str, Any] = {} if args.epochs is None else {"epochs": args.epochs}
    if args.day_bias is not None:
        fixed["day_bias"] = args.day_bias
    device, _ = device_and_precision(None, None)
    if not args.json:
        print(
            f"recsys tune: {kind} model on {dataset.name} (split {split.name}, seed {seed}); "
            f"{args.trials} trials on a {args.validation_fraction:g} validation part of the "
            f"{len(split.train):,} training ratings (the test part is not read)",
            flush=True,
        )
    result = tune_rating_model(
        kind,
        split.train,
        n_trials=args.trials,
        timeout=args.timeout,
        seed=seed,
        validation_fraction=args.validation_fraction,
        rating_scale=rating_scale,
        fixed=fixed,
        callback=None if args.json else _progress,
    )
    model = build_model(
        kind,
        {
            **result.best_params,
            "seed": seed,
            "verbose": False,
            "members": members,
        },
        validation_split="auto",
        split_name=split.name,
        has_side_features=False,
    )
    run_ = train_and_evaluate(model, dataset, split, rating_scale=rating_scale, device=device)
    metrics = run_.metrics()
    tuning = {**result.to_json(), "final_members": members}
    metrics["tuning"] = {k: v for k, v in tuning.items() if k != "trials"}
    save_run(run_, out, metrics=metrics, extra_files={"tuning.json": tuning})
    if args.json:
        print(json.dumps(tuning, indent=2))
        return 0
    chosen = ", ".join(f"{k}={v}" for k, v in tuning["best_params"].items())
    val = tuning["validation_rmse"]
    base = metrics["baselines"]["bias_only"]["rmse"]
    days = metrics.get("day_biases") or {}
    plain = (
        f" ({days['without']['rmse']:.4f} without its (user, day) biases; bias-only "
        f"baseline with them {days['bias_only_with_day_biases']['rmse']:.4f})"
        if "without" in days
        else ""
    )
    print(
        f"\n  chosen: {chosen}\n"
        f"  validation RMSE: chosen {val['best']:.4f}, defaults {val['defaults']:.4f}, "
        f"bias-only baseline {val['bias_only_baseline']:.4f} "
        f"({tuning['n_trials']} trials in {tuning['seconds']:.0f} s)\n"
        f"  test RMSE: {kind} model ({members} member{'s' * (members > 1)}) "
        f"{metrics['rmse']:.4f}{plain}, bias-only baseline {base:.4f} "
        f"(global mean {metrics['baselines']['global_mean']['rmse']:.4f})\n"
        f"  saved to {out} (tuning.json holds the trial table)"
    )
    return 0
