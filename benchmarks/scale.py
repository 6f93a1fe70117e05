"""Benchmark ``recsys`` at scale: synthetic sets of 1M, 5M and 25M ratings.

Every size uses ml-25m's catalogue (162,541 users, 59,047 movies), so the embedding
tables are the same and time per epoch should grow with the number of ratings alone;
25M is ml-25m's shape (25,000,095 ratings). For each size, each step in its own
process (peak memory is the child's ``ru_maxrss`` from ``os.wait4``):

1. ``recsys synth`` writes the set (reused when ``synth.json`` matches);
2. ingest: the first ``load_dataset`` of the directory (CSV parse + columnar cache
   write) in an empty cache, then the re-read from the cache;
3. ``recsys train --model bias --epochs E --patience E`` on the cached set: peak RSS,
   seconds per epoch (median of the epochs after the first, each including the
   validation pass) and ratings per second.

    python benchmarks/scale.py [--sizes 1m,5m,25m] [--epochs 3] [--work DIR]

Writes ``benchmarks/results/scale.json`` and ``scale.md`` (with the machine's load
average before and after, since the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USERS, MOVIES = 162_541, 59_047
SIZES = {"1m": 1_000_000, "5m": 5_000_000, "25m": 25_000_095}
INGEST = (
    "import sys, time; from recsys.data import load_dataset; t = time.perf_counter(); "
    "d = load_dataset(sys.argv[1], columnar=True); "
    "print(len(d.ratings), time.perf_counter() - t)"
)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``cmd``; return (wall seconds, peak RSS in GB, stdout). Raise on failure."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text = out.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read().decode()[-3000:]}")
    return wall, usage.ru_maxrss / 1024 / 1024, text


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def bench_size(name: str, n: int, work: Path, epochs: int, env: dict[str, str]) -> dict:
    py = sys.executable
    data = work / f"synth-{name}"
    spec = {"n_users": USERS, "n_movies": MOVIES, "n_ratings": n, "seed": 0}
    meta = data / "synth.json"
    result: dict = {"ratings": n, "users": USERS, "movies": MOVIES}
    if not (
        meta.is_file() and all(json.loads(meta.read_text()).get(k) == v for k, v in spec.items())
    ):
        wall, rss, _ = run(
            [
                py,
                "-m",
                "recsys",
                "synth",
                "--users",
                str(USERS),
                "--movies",
                str(MOVIES),
                "--ratings",
                str(n),
                "--out",
                str(data),
                "--quiet",
            ],
            env,
        )
        result["synth_seconds"], result["synth_peak_gb"] = wall, rss
    result["csv_mb"] = (data / "ratings.csv").stat().st_size / 1e6
    cache = Path(tempfile.mkdtemp(prefix="recsys-scale-cache-", dir=work))
    env = {**env, "RECSYS_DATA": str(cache)}
    try:
        wall, rss, out = run([py, "-c", INGEST, str(data)], env)
        result["ingest_seconds"], result["ingest_peak_gb"] = wall, rss
        result["ingest_load_seconds"] = float(out.split()[1])
        wall, rss, out = run([py, "-c", INGEST, str(data)], env)
        result["reread_seconds"], result["reread_peak_gb"] = wall, rss
        result["reread_load_seconds"] = float(out.split()[1])
        model_dir = work / f"model-{name}"
        wall, rss, _ = run(
            [
                py,
                "-m",
                "recsys",
                "train",
                "--data",
                str(data),
                "--model",
                "bias",
                "--epochs",
                str(epochs),
                "--patience",
                str(epochs),
                "--json",
                "--out",
                str(model_dir),
            ],
            env,
        )
        history = json.loads((model_dir / "recsys_model.json").read_text())["training"]["history"]
        metrics = json.loads((model_dir / "metrics.json").read_text())
        later = [h["seconds"] for h in history[1:]] or [history[0]["seconds"]]
        epoch_seconds = statistics.median(later)
        result.update(
            {
                "train_command_seconds": wall,
                "train_peak_gb": rss,
                "n_fit": metrics["n_fit"],
                "epochs": len(history),
                "first_epoch_seconds": history[0]["seconds"],
                "epoch_seconds": epoch_seconds,
                "ratings_per_second": metrics["n_fit"] / epoch_seconds,
                "epoch_seconds_per_million": epoch_seconds / metrics["n_fit"] * 1e6,
                "rmse": metrics["rmse"],
                "bias_only_rmse": metrics["baselines"]["bias_only"]["rmse"],
                "global_mean_rmse": metrics["baselines"]["global_mean"]["rmse"],
            }
        )
        shutil.rmtree(model_dir, ignore_errors=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return result


def markdown(results: dict) -> str:
    lines = [
        f"Machine: {results['machine']['cpus']} CPUs, Python "
        f"{results['machine']['python']}; load average before {results['load_before']}, "
        f"after {results['load_after']}. Catalogue fixed at {USERS:,} users x "
        f"{MOVIES:,} movies; `recsys train --model bias --epochs "
        f"{results['epochs']}` on the cached set.",
        "",
        "| ratings | CSV MB | ingest s (peak GB) | re-read s | train peak GB | "
        "s / epoch | ratings/s per epoch | s / epoch / 1M ratings | test RMSE | "
        "bias-only RMSE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["sizes"].values():
        lines.append(
            f"| {r['ratings']:,} | {r['csv_mb']:.0f} | {r['ingest_seconds']:.1f} "
            f"({r['ingest_peak_gb']:.2f}) | {r['reread_seconds']:.1f} | "
            f"{r['train_peak_gb']:.2f} | {r['epoch_seconds']:.1f} | "
            f"{r['ratings_per_second']:,.0f} | {r['epoch_seconds_per_million']:.2f} | "
            f"{r['rmse']:.4f} | {r['bias_only_rmse']:.4f} |"
        )
    per_million = [r["epoch_seconds_per_million"] for r in results["sizes"].values()]
    if len(per_million) > 1:
        lines += [
            "",
            f"Linearity: seconds per epoch per million ratings range "
            f"{min(per_million):.2f}..{max(per_million):.2f} (max/min "
            f"{max(per_million) / min(per_million):.2f}; 1.00 is perfectly linear).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,5m,25m")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--work",
        default=str(Path(tempfile.gettempdir()) / "recsys-scale"),
        help="where the synthetic sets are kept between runs",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "epochs": args.epochs,
        "load_before": load(),
        "sizes": {},
    }
    for name in args.sizes.split(","):
        results["sizes"][name] = bench_size(name, SIZES[name], work, args.epochs, env)
        print(name, json.dumps(results["sizes"][name]), flush=True)
    results["load_after"] = load()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "scale.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
