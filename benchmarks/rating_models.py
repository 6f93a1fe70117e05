"""Benchmark the three rating models on ml-latest-small (``random:0.1``, seed 0).

For each model kind with its default hyper-parameters it records test RMSE and MAE, the
two baselines, training time, epochs, and ratings per second two ways:

* ``ratings_per_second``: training ratings x epochs / training seconds, where training
  seconds is the whole ``fit`` loop including the one-off graph building of the first
  epoch and the per-epoch validation (the figure ``recsys train`` writes to metrics.json);
* ``steady_ratings_per_second``: the median throughput of the epochs after the first
  (what each further epoch costs; the upper median for an even count, as in metrics.json).

    python benchmarks/rating_models.py [--kinds bias,dot,mlp] [--repeats 3]

Results go to ``benchmarks/results/rating_models.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

from recsys.data import Dataset, TrainTestSplit
from recsys.workflows import build_model, load_and_split, train_and_evaluate


def run_once(kind: str, data: Dataset, split: TrainTestSplit) -> dict[str, float]:
    """One fit of ``kind`` with its default hyper-parameters, through the workflow
    ``recsys train`` uses (so the figures are those of its metrics.json)."""
    run = train_and_evaluate(build_model(kind, {"seed": 0}), data, split)
    metrics = run.metrics()
    steady = metrics["steady_ratings_per_second"]
    return {
        "rmse": metrics["rmse"],
        "mae": metrics["mae"],
        "bias_only_rmse": metrics["baselines"]["bias_only"]["rmse"],
        "global_mean_rmse": metrics["baselines"]["global_mean"]["rmse"],
        "epochs": metrics["epochs_run"],
        "best_epoch": metrics["best_epoch"],
        "train_seconds": metrics["train_seconds"],
        "first_epoch_seconds": run.model.training_.history[0].seconds,
        "ratings_per_second": metrics["ratings_per_second"],
        "steady_ratings_per_second": float("nan") if steady is None else steady,
        "fit_wall_seconds": metrics["fit_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="bias,dot,mlp")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fits per kind; timings are the median, accuracy is identical",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    data, split = load_and_split(split="random:0.1", seed=0)
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "split": "random:0.1 seed 0 on ml-latest-small",
        "models": {},
    }
    for kind in args.kinds.split(","):
        runs = [run_once(kind, data, split) for _ in range(args.repeats)]
        merged = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        merged["rmse_spread"] = max(r["rmse"] for r in runs) - min(r["rmse"] for r in runs)
        results["models"][kind] = merged
        print(kind, json.dumps(merged), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rating_models.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| model | test RMSE | MAE | bias-only RMSE | global-mean RMSE | epochs | "
        "train s | ratings/s (whole fit) | ratings/s (per epoch after the first) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in results["models"].items():
        lines.append(
            f"| {kind} | {r['rmse']:.4f} | {r['mae']:.4f} | {r['bias_only_rmse']:.4f} "
            f"| {r['global_mean_rmse']:.4f} | {r['epochs']:.0f} | "
            f"{r['train_seconds']:.2f} | {r['ratings_per_second']:,.0f} | "
            f"{r['steady_ratings_per_second']:,.0f} |"
        )
    (out / "rating_models.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
