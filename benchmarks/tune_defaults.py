"""Choose the default hyper-parameters of each rating model on validation data only.

The test part of the benchmark split (``random:0.1``, seed 0, ml-latest-small) is never
read here: the training part is split again (10% validation, seed 1), each candidate is
fitted on the rest (with its own early-stopping carve) and ranked by validation RMSE.

    python benchmarks/tune_defaults.py [--kinds bias,dot,mlp] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from recsys.data import Dataset, load_dataset, parse_split
from recsys.evaluation import rmse
from recsys.models.rating_model import RatingModel

GRIDS = {
    "bias": {
        "factors": [32, 64, 128],
        "l2": [0.05, 0.1, 0.15, 0.2, 0.3],
        "bias_l2": [0.001, 0.005, 0.02],
        "learning_rate": [0.005, 0.01, 0.02],
        "batch_size": [4096, 8192],
    },
    "dot": {
        "factors": [64, 128, 256],
        "l2": [0.05, 0.1, 0.2, 0.3],
        "learning_rate": [0.002, 0.005, 0.01],
        "batch_size": [4096, 8192],
    },
    "mlp": {
        "factors": [16, 32, 64],
        "l2": [0.0, 0.001, 0.01],
        "learning_rate": [0.003, 0.01, 0.02],
        "hidden": [64, 128, 256],
        "dropout": [(0.0, 0.2), (0.1, 0.3), (0.3, 0.75)],
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="bias,dot,mlp")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument(
        "--compare-output",
        action="store_true",
        help="instead of the grids: refit each kind's best setting with the "
        "sigmoid output and compare validation RMSE with the linear one",
    )
    args = parser.parse_args()
    data = load_dataset()
    train = parse_split("random:0.1").split(data, seed=0).train  # the benchmark's train part
    inner = parse_split("random:0.1").split(Dataset("train", train, data.movies, "train"), seed=1)
    if args.compare_output:
        compare_outputs(args.kinds.split(","), inner, Path(args.out))
        return
    results = {}
    for kind in args.kinds.split(","):
        grid = GRIDS[kind]
        rows = []
        for values in itertools.product(*grid.values()):
            params = dict(zip(grid, values, strict=True))
            start = time.perf_counter()
            model = RatingModel(kind, seed=0, **params).fit(inner.train)
            score = rmse(
                inner.test["rating"], model.predict(inner.test["user_id"], inner.test["movie_id"])
            )
            rows.append(
                {
                    **params,
                    "val_rmse": score,
                    "epochs": model.training_.epochs_run,
                    "seconds": time.perf_counter() - start,
                }
            )
            print(kind, params, f"val_rmse={score:.4f}", flush=True)
        rows.sort(key=lambda r: r["val_rmse"])
        results[kind] = {"best": rows[0], "top5": rows[:5], "n_candidates": len(rows)}
        print(f"best {kind}: {rows[0]}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tune_defaults.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**previous, **results}, indent=2, default=float))


def compare_outputs(kinds: list[str], inner: object, out: Path) -> None:
    """Linear vs sigmoid output for the best setting of each kind, on validation."""
    path = out / "tune_defaults.json"
    results = json.loads(path.read_text())
    for kind in kinds:
        best = {
            k: v
            for k, v in results[kind]["best"].items()
            if k not in ("val_rmse", "epochs", "seconds")
        }
        if "dropout" in best:
            best["dropout"] = tuple(best["dropout"])
        rows = {}
        for output in ("linear", "sigmoid"):
            model = RatingModel(kind, seed=0, output=output, **best).fit(inner.train)
            rows[output] = rmse(
                inner.test["rating"], model.predict(inner.test["user_id"], inner.test["movie_id"])
            )
            print(kind, output, f"val_rmse={rows[output]:.4f}", flush=True)
        results[kind]["output_comparison"] = rows
    path.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
