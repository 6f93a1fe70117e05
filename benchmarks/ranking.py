"""Top-N comparison on ml-latest-small: rating models, ranking models and baselines on
the same 5 folds, for a random and a per-user holdout.

For each holdout (``--fold-by ratings``: a seeded 5-fold over all ratings;
``--fold-by user``: each user's ratings cut into 5 parts, i.e. a ``user:0.2`` holdout
in every fold) it runs :func:`recsys.workflows.evaluation.compare` (what ``recsys
compare`` runs) with the default top-N protocol (relevant: test rating >= 4 on 0.5-5,
candidates: every training movie the user did not rate, k = 10) and writes the mean
and standard deviation over folds of every metric and of the fit time per model.

    python benchmarks/ranking.py [--models bias,dot,mlp,bias-bpr,dot-bpr] [--folds 5]
                                 [--fold-by ratings,user]

Results go to ``benchmarks/results/ranking-<fold-by>.csv`` (the summary),
``ranking-<fold-by>-folds.csv`` (one row per model and fold) and ``ranking.md`` (the
tables, with the machine and the command).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import pandas as pd

from recsys.data import load_dataset
from recsys.evaluation.protocol import TopNProtocol
from recsys.workflows.evaluation import compare, comparison_splits

COLUMNS = [
    "ndcg@10",
    "precision@10",
    "recall@10",
    "map@10",
    "mrr@10",
    "hit_rate@10",
    "coverage@10",
    "rmse",
    "mae",
    "fit_seconds",
]


def markdown(summary: pd.DataFrame) -> str:
    """The summary as a markdown table of ``mean ± std``."""
    head = "| model | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for _, row in summary.iterrows():
        cells = []
        for column in COLUMNS:
            mean, std = row[f"{column}_mean"], row[f"{column}_std"]
            digits = 1 if column == "fit_seconds" else 4
            cells.append("" if pd.isna(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}")
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bias,dot,mlp,bias-bpr,dot-bpr")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-by", default="ratings,user")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_dataset()
    models = [m for m in args.models.split(",") if m]
    sections = [
        "# Top-N comparison on ml-latest-small",
        "",
        f"`python benchmarks/ranking.py --models {args.models} --folds {args.folds} "
        f"--fold-by {args.fold_by}`; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Keras backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}. Mean ± standard "
        "deviation over the folds; fit_seconds is the wall time of fit (the baselines: "
        "fit and scoring), measured while other jobs shared the CPUs.",
    ]
    for by in args.fold_by.split(","):
        started = time.perf_counter()
        splits = comparison_splits(data, folds=args.folds, fold_by=by, seed=args.seed)
        result = compare(
            data,
            models,
            splits,
            protocol=TopNProtocol(k=10, seed=args.seed),
            seed=args.seed,
            on_progress=lambda line: print(line, flush=True),
        )
        seconds = time.perf_counter() - started
        summary = result.summary()
        summary.to_csv(out / f"ranking-{by}.csv", index=False)
        result.folds.to_csv(out / f"ranking-{by}-folds.csv", index=False)
        holdout = "random 5-fold over ratings" if by == "ratings" else "per-user 5-fold (user:0.2)"
        sections += ["", f"## {holdout} ({seconds:.0f} s in all)", "", markdown(summary)]
        print(result.table(), flush=True)
        (out / "ranking.md").write_text("\n".join(sections) + "\n")


if __name__ == "__main__":
    main()
