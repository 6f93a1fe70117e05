"""Benchmark the rating models on every installed Keras backend, on whatever device is present.

For each backend (tensorflow, jax, torch: those installed) x dataset (the bundled
ml-latest-small, synthetic sets of 1M and 25M ratings of ml-25m's shape) x model
(``bias``, ``mlp``), one child process (a process holds one Keras backend) fits
``RatingModel`` for a fixed number of epochs (no early stopping) on the ``random:0.1``
split with seed 0 and reports:

- first-epoch seconds (compilation and the copy to the device included),
- steady seconds per epoch (median of the later epochs; each includes the validation
  pass) and training ratings per second at that pace,
- test RMSE beside the bias-only baseline of the same split (same for every backend),
- host peak RSS and device peak memory (JAX ``memory_stats``, ``torch.cuda``,
  ``tf.config.experimental.get_memory_info``; none on a CPU).

ml-latest-small uses each model's default batch size; the synthetic sets use
``--large-batch`` (65,536 by default: a GPU needs large batches to be busy, and it is
what a user training 25M ratings on a GPU would pass). ``--updates dense`` replaces the
row-wise Adam by Keras' dense Adam (to compare the two). The synthetic ratings are
drawn in memory by :mod:`recsys.data.synth` (the same planted model as ``recsys synth``),
once, and shared by the children through a ``.npz`` file.

``--surprise`` adds Surprise's ``SVD`` (100 factors, its defaults: 20 epochs) on the
same training parts, timed over a whole fit, beside the whole-fit rate of each backend's
``bias`` model (``scikit-surprise`` is a benchmark-only dependency).

``--genre`` adds the fused genre model (``genre train --model fusion``) on a labelled set
and feature store built from the shared data (``--genre-dataset``, ``--genre-features``).

    python benchmarks/backends.py --quick              # small, 1M, 25M; bias; 3 epochs
    python benchmarks/backends.py --sizes small,1m --models bias,mlp --surprise

Writes ``benchmarks/results/backends-<device>.json`` and ``.md`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
USERS, MOVIES = 162_541, 59_047
SIZES = {"small": 0, "1m": 1_000_000, "25m": 25_000_095, "100m": 100_000_000}
BACKENDS = ("tensorflow", "jax", "torch")


# ---------------------------------------------------------------------------- data
def synthetic_arrays(n_ratings: int, work: Path) -> Path:
    """Draw (or reuse) a synthetic set of ``n_ratings`` in ml-25m's shape; its .npz path."""
    path = work / f"synth-{n_ratings}.npz"
    if path.is_file():
        return path
    import numpy as np

    from recsys.data.synth import SynthSpec, _ratings_of, _rng, planted_truth, sample_pairs

    users = min(USERS, max(1000, n_ratings // 40))
    movies = min(MOVIES, max(500, n_ratings // 100))
    spec = SynthSpec(users, movies, n_ratings, seed=0)
    spec.check()
    truth = planted_truth(spec)
    codes = sample_pairs(spec, truth)
    u, m = np.divmod(codes, spec.n_movies)
    r = _ratings_of(spec, truth, u, m, _rng(spec, 6, 0))
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, user_id=u.astype(np.int32), movie_id=m.astype(np.int32), rating=r)
    tmp.replace(path)
    return path


def load_ratings(size: str, work: Path) -> Any:
    """The ratings frame of a benchmark dataset."""
    import numpy as np
    import pandas as pd

    if size == "small":
        from recsys.data import load_dataset

        return load_dataset().ratings
    with np.load(synthetic_arrays(SIZES[size], work)) as arrays:
        return pd.DataFrame({k: arrays[k] for k in ("user_id", "movie_id", "rating")})


def split_of(ratings: Any, seed: int = 0) -> tuple[Any, Any]:
    """A seeded random 90/10 split of a ratings frame (``random:0.1``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    test = np.zeros(len(ratings), dtype=bool)
    test[rng.permutation(len(ratings))[: int(round(0.1 * len(ratings)))]] = True
    return ratings[~test], ratings[test]


# ------------------------------------------------------------------------ one run
def device_peak_bytes(backend: str) -> int | None:
    """The accelerator's peak allocated bytes under ``backend`` (``None`` on a CPU)."""
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "gpu":
                return None
            return int((device.memory_stats() or {}).get("peak_bytes_in_use", 0)) or None
        if backend == "torch":
            import torch

            return int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else None
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            return None
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    except Exception:  # a backend without the statistic: report none rather than fail
        return None


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Fit one configuration in this process; return its figures."""
    from recsys.backend import device_info, import_keras, select_backend

    select_backend(args.backend)
    import_keras()
    import numpy as np

    from recsys.models.options import TrainingOptions
    from recsys.models.rating_model import RatingModel

    ratings = load_ratings(args.size, Path(args.work))
    train, test = split_of(ratings)
    batch = None if args.size == "small" else args.large_batch
    model = RatingModel(
        args.model, epochs=args.epochs, patience=args.epochs + 1, batch_size=batch, seed=0
    )
    options = TrainingOptions(precision=args.precision, updates=args.updates)
    started = time.perf_counter()
    model.fit(train, options=options)
    fit_seconds = time.perf_counter() - started
    pred = model.predict(test["user_id"], test["movie_id"])
    truth = test["rating"].to_numpy(dtype=np.float64)
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    u, m = model.user_vocab_, model.movie_vocab_
    baseline = model.baseline_.predict(
        u.index(test["user_id"], missing="negative"), m.index(test["movie_id"], missing="negative")
    )
    bias_rmse = float(np.sqrt(np.mean((np.clip(baseline, *model.rating_scale_) - truth) ** 2)))
    history = model.training_.history
    steady = statistics.median(h.seconds for h in history[1:]) if len(history) > 1 else None
    device = device_info()
    return {
        "backend": args.backend,
        "size": args.size,
        "model": args.model,
        "device": device.kind,
        "device_name": device.name,
        "precision": args.precision,
        "updates": args.updates,
        "n_fit": int(model.n_train_),
        "batch_size": int(model.resolved_params()["batch_size"]),
        "epochs": len(history),
        "first_epoch_s": history[0].seconds,
        "steady_epoch_s": steady,
        "steady_ratings_per_s": model.n_train_ / steady if steady else None,
        "fit_ratings_per_s": model.n_train_ * len(history) / model.training_.train_seconds,
        "fit_seconds": fit_seconds,
        "rmse": rmse,
        "bias_only_rmse": bias_rmse,
        "host_peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "device_peak_gb": ((device_peak_bytes(args.backend) or 0) / 2**30) or None,
    }


def surprise_child(args: argparse.Namespace) -> dict[str, Any]:
    """Fit Surprise's SVD (100 factors, 20 epochs: its defaults) on the same training part."""
    import numpy as np
    from surprise import SVD, Dataset, Reader

    ratings = load_ratings(args.size, Path(args.work))
    train, test = split_of(ratings)
    low, high = float(train["rating"].min()), float(train["rating"].max())
    data = Dataset.load_from_df(
        train[["user_id", "movie_id", "rating"]], Reader(rating_scale=(low, high))
    )
    trainset = data.build_full_trainset()
    algo = SVD(n_factors=100, random_state=0)
    started = time.perf_counter()
    algo.fit(trainset)
    seconds = time.perf_counter() - started
    pred = np.array(
        [algo.predict(u, m).est for u, m in zip(test["user_id"], test["movie_id"], strict=True)]
    )
    rmse = float(np.sqrt(np.mean((pred - test["rating"].to_numpy()) ** 2)))
    return {
        "backend": "surprise-SVD",
        "size": args.size,
        "model": "SVD(100)",
        "device": "CPU",
        "n_fit": len(train),
        "epochs": algo.n_epochs,
        "fit_seconds": seconds,
        "fit_ratings_per_s": len(train) * algo.n_epochs / seconds,
        "rmse": rmse,
        "host_peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def genre_child(args: argparse.Namespace) -> dict[str, Any]:
    """Train the fused genre model with ``genre train`` on this backend; its figures."""
    out = Path(args.work) / f"genre-{args.backend}"
    cmd = [
        sys.executable,
        "-m",
        "genre",
        "train",
        "--model",
        "fusion",
        "--backend",
        args.backend,
        "--dataset",
        args.genre_dataset,
        "--features",
        args.genre_features,
        "--out",
        str(out),
        "--json",
    ]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"backend": args.backend, "model": "fusion", "error": done.stderr[-300:]}
    metrics = json.loads(done.stdout)
    test = metrics.get("test", metrics)
    return {
        "backend": args.backend,
        "size": "genre",
        "model": "fusion",
        "fit_seconds": seconds,
        "micro_f1": test.get("micro_f1") or test.get("f1_micro"),
        "baseline_micro_f1": (metrics.get("baselines") or {}).get("micro_f1"),
    }


# --------------------------------------------------------------------- the driver
def installed_backends() -> list[str]:
    from recsys.backend import backend_installed

    return [b for b in BACKENDS if backend_installed(b)]


def run_child(
    kind: str, work: Path, backend: str, size: str, model: str, options: argparse.Namespace
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--work",
        str(work),
        "--backend",
        backend,
        "--size",
        size,
        "--model",
        model,
        "--epochs",
        str(options.epochs),
        "--large-batch",
        str(options.large_batch),
        "--precision",
        options.precision,
        "--updates",
        options.updates,
        "--genre-dataset",
        options.genre_dataset or "",
        "--genre-features",
        options.genre_features or "",
    ]
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=options.timeout, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"backend": backend, "size": size, "model": model, "error": " | ".join(tail)}
    return dict(json.loads(lines[-1]))


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| backend | device | data | model | batch | first epoch s | steady s/epoch | "
        "ratings/s steady | ratings/s whole fit | RMSE | bias-only RMSE | host GB | "
        "device GB |"
    )
    lines = [head, "|" + "---|" * 13]

    def f(value: Any, spec: str) -> str:
        return "" if value is None else format(value, spec)

    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['backend']} | | {r.get('size', '')} | {r.get('model', '')} | "
                f"error: {r['error'][:120]} |" + " |" * 8
            )
            continue
        metric = f(r.get("rmse"), ".4f") or f"micro-F1 {f(r.get('micro_f1'), '.4f')}"
        lines.append(
            f"| {r['backend']} | {r.get('device_name') or r.get('device', '')} | "
            f"{r['size']} | {r['model']} | {f(r.get('batch_size'), ',')} | "
            f"{f(r.get('first_epoch_s'), '.2f')} | {f(r.get('steady_epoch_s'), '.3f')} | "
            f"{f(r.get('steady_ratings_per_s'), ',.0f')} | "
            f"{f(r.get('fit_ratings_per_s'), ',.0f')} | {metric} | "
            f"{f(r.get('bias_only_rmse'), '.4f')} | {f(r.get('host_peak_gb'), '.2f')} | "
            f"{f(r.get('device_peak_gb'), '.2f')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small, 1m and 25m; bias only; 3 epochs"
    )
    parser.add_argument("--backends", help="comma-separated (default: every installed one)")
    parser.add_argument("--sizes", default="small,1m,25m", help="of small,1m,25m,100m")
    parser.add_argument("--models", default="bias,mlp", help="of dot,bias,mlp")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--large-batch", type=int, default=65_536)
    parser.add_argument(
        "--precision", default="float32", choices=("float32", "mixed_float16", "mixed_bfloat16")
    )
    parser.add_argument("--updates", default="lazy", choices=("lazy", "dense"))
    parser.add_argument("--surprise", action="store_true", help="add Surprise's SVD (CPU)")
    parser.add_argument("--genre-dataset", help="labelled set for the fused genre model")
    parser.add_argument("--genre-features", help="feature store for the fused genre model")
    parser.add_argument("--work", help="folder for the synthetic sets (default: a temp dir)")
    parser.add_argument(
        "--out", help="results file stem (default benchmarks/results/backends-<device>)"
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per child")
    parser.add_argument("--child", choices=("rating", "surprise", "genre"), help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.child:
        run = {"rating": child, "surprise": surprise_child, "genre": genre_child}[args.child]
        print(json.dumps(run(args)), flush=True)
        return 0
    if args.quick:
        args.sizes, args.models, args.epochs = "small,1m,25m", "bias", 3
    backends = args.backends.split(",") if args.backends else installed_backends()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="recsys-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    load = os.getloadavg()
    for size in args.sizes.split(","):
        if size != "small":
            tick = time.perf_counter()
            synthetic_arrays(SIZES[size], work)
            print(
                f"# {size}: synthetic ratings ready in {time.perf_counter() - tick:.1f} s",
                flush=True,
            )
        for model in args.models.split(","):
            if size in ("25m", "100m") and model != "bias" and args.quick:
                continue
            for backend in backends:
                row = run_child("rating", work, backend, size, model, args)
                rows.append(row)
                print(json.dumps(row), flush=True)
        if args.surprise and size in ("small", "1m"):
            row = run_child("surprise", work, "surprise", size, "svd", args)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.genre_dataset and args.genre_features:
        for backend in backends:
            row = run_child("genre", work, backend, "genre", "fusion", args)
            rows.append(row)
            print(json.dumps(row), flush=True)
    device = next((r.get("device_name") for r in rows if r.get("device") == "GPU"), None)
    stem = (
        Path(args.out)
        if args.out
        else (
            REPO
            / "benchmarks"
            / "results"
            / f"backends-{'gpu' if device else 'cpu'}{'-quick' if args.quick else ''}"
        )
    )
    stem.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "rows": rows,
        "seconds": time.perf_counter() - started,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "gpu": device,
            "load_before": load,
            "load_after": os.getloadavg(),
        },
        "options": {k: v for k, v in vars(args).items() if not k.startswith("child")},
    }
    stem.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    stem.with_suffix(".md").write_text(table(rows) + "\n")
    print(table(rows))
    print(f"# {summary['seconds']:.0f} s in all; wrote {stem.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
