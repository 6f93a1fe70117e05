"""Benchmark the three rating models on ml-latest-small (``random:0.1``, seed 0).

For each model kind with its default hyper-parameters it records test RMSE and MAE, the
two baselines, training time, epochs, and ratings per second two ways:

* ``ratings_per_second``: training ratings x epochs / training seconds, where training
  seconds is the whole ``fit`` loop including the one-off graph building of the first
  epoch and the per-epoch validation (the figure ``recsys train`` writes to metrics.json);
* ``steady_ratings_per_second``: the median throughput of the epochs after the first
  (what each further epoch costs).

    python benchmarks/rating_models.py [--kinds bias,dot,mlp] [--repeats 3]

Results go to ``benchmarks/results/rating_models.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from recsys.data import load_dataset, parse_split
from recsys.evaluation import evaluate_model
from recsys.models.rating_model import RatingModel


def run_once(kind: str, split: object, movies: object) -> dict[str, float]:
    start = time.perf_counter()
    model = RatingModel(kind, seed=0).fit(split.train, movies=movies)  # type: ignore[attr-defined]
    wall = time.perf_counter() - start
    report = evaluate_model(model, split.train, split.test)  # type: ignore[attr-defined]
    history = model.training_.history
    steady = [h.ratings_per_second for h in history[1:]]
    return {
        "rmse": report["rmse"],
        "mae": report["mae"],
        "bias_only_rmse": report["baselines"]["bias_only"]["rmse"],
        "global_mean_rmse": report["baselines"]["global_mean"]["rmse"],
        "epochs": model.training_.epochs_run,
        "best_epoch": model.training_.best_epoch,
        "train_seconds": model.training_.train_seconds,
        "first_epoch_seconds": history[0].seconds,
        "ratings_per_second": model.n_train_ * len(history) / model.training_.train_seconds,
        "steady_ratings_per_second": statistics.median(steady) if steady else float("nan"),
        "fit_wall_seconds": wall,
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
    data = load_dataset()
    split = parse_split("random:0.1").split(data, seed=0)
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
        runs = [run_once(kind, split, data.movies) for _ in range(args.repeats)]
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
