"""Cold-start benchmark: rating movies nobody has rated, from movie side features.

On ml-latest-small with ``--split movies:0.1`` (seed 0: every rating of 10% of the
movies is held out), each rating model kind is trained with side features from the
feature blocks (``genres``; ``genres`` + ``overview_w2v``; + ``poster`` where present)
and scored on the held-out movies next to the global-mean, genre-mean and bias-only
baselines (for a movie never rated the bias-only baseline is ``mean + user bias``).

Honest selection: the validation part is carved from the training part *by movies*
(10% of the training movies, cold for the fit), and every choice below (learning rate,
side-feature L2, id dropout, early stopping) is made on the validation RMSE of those
movies. The test movies are scored once per (kind, block set), with the chosen setting.

    python benchmarks/cold_start.py [--kinds bias,dot,mlp] [--features DIR]
        [--sets "genres;genres,overview_w2v;genres,overview_w2v,poster"]

Blocks come from a feature store (``--features DIR``, e.g. made by ``recsys features
build --blocks genres,overview_w2v,poster ...``) when given. Without one, the script
builds ``genres`` from the dataset and ``overview_w2v`` (mean GloVe vectors of the TMDB
overviews in ``../shared/data``) with :mod:`recsys.features.blocks`; a set naming a block
that is not available (``poster`` without a store that has it: poster features take
minutes to compute) is skipped with a note. Results go to
``benchmarks/results/cold_start.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data import load_dataset, parse_split
from recsys.evaluation import evaluate_model
from recsys.features import FeatureBlock, FeatureStore
from recsys.models.rating_model import RatingModel
from recsys.paths import shared_data_dir

#: The grid searched on the cold-start validation movies for each (kind, block set).
LEARNING_RATES = (0.01, 0.003, 0.001)
SIDE_L2 = (1e-3, 1e-2, 1e-1)
ID_DROPOUT = (0.25, 0.5, 0.75)  # tried at the best (learning rate, side L2) without it


def fit(
    kind: str, train: pd.DataFrame, blocks: list[FeatureBlock], **params: Any
) -> tuple[RatingModel, float, float]:
    """Fit with validation by movies; returns the model, its best validation RMSE, time."""
    start = time.perf_counter()
    model = RatingModel(
        kind, validation_split="movies", validation_fraction=0.1, seed=0, **params
    ).fit(train, side_features=blocks)
    best = min(h.val_rmse for h in model.training_.history if h.val_rmse is not None)
    return model, best, time.perf_counter() - start


def select(
    kind: str, train: pd.DataFrame, blocks: list[FeatureBlock]
) -> tuple[RatingModel, dict[str, Any], list[dict[str, Any]]]:
    """Grid search on the validation movies; returns the chosen model, params, trials."""
    trials: list[dict[str, Any]] = []
    best: tuple[float, RatingModel | None, dict[str, Any]] = (np.inf, None, {})

    def trial(params: dict[str, Any]) -> None:
        nonlocal best
        model, val, seconds = fit(kind, train, blocks, **params)
        trials.append(
            {
                **params,
                "val_rmse": val,
                "epochs": model.training_.epochs_run,
                "best_epoch": model.training_.best_epoch,
                "seconds": seconds,
            }
        )
        print(
            f"    {params} val {val:.4f} ({model.training_.best_epoch} epochs, {seconds:.0f}s)",
            flush=True,
        )
        if val < best[0]:
            best = (val, model, params)

    for lr, side_l2 in itertools.product(LEARNING_RATES, SIDE_L2):
        trial({"learning_rate": lr, "side_l2": side_l2, "id_dropout": 0.0})
    chosen = dict(best[2])
    for rate in ID_DROPOUT:  # does dropping the id part help the cold movies?
        trial({**chosen, "id_dropout": rate})
    assert best[1] is not None
    return best[1], best[2], trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="bias,dot,mlp")
    parser.add_argument("--sets", default="genres;genres,overview_w2v;genres,overview_w2v,poster")
    parser.add_argument("--features", metavar="DIR", help="a feature store to read blocks from")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()

    data = load_dataset()
    split = parse_split("movies:0.1").split(data, seed=0)
    available = load_blocks(args.features, data.movies)
    described = (f"{n} ({b.dim}-d, {b.coverage:,} movies)" for n, b in available.items())
    print(f"blocks: {', '.join(described)}", flush=True)
    results: dict[str, Any] = {
        "split": "movies:0.1 seed 0 on ml-latest-small",
        "blocks_from": (
            f"feature store {args.features}"
            if args.features
            else "recsys.features.blocks (genres_block, overview_block with GloVe)"
        ),
        "n_train": len(split.train),
        "n_test": len(split.test),
        "n_test_movies": int(split.test["movie_id"].nunique()),
        "blocks": {
            n: {"dim": b.dim, "n_present": b.coverage, "provenance": b.provenance}
            for n, b in available.items()
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "grid": {"learning_rate": LEARNING_RATES, "side_l2": SIDE_L2, "id_dropout": ID_DROPOUT},
        "runs": [],
        "skipped": [],
    }
    baselines: dict[str, Any] | None = None
    for kind in args.kinds.split(","):
        for names in (s.split(",") for s in args.sets.split(";")):
            missing = [n for n in names if n not in available]
            if missing:
                note = f"{kind} [{'+'.join(names)}]: no block {', '.join(missing)}; skipped"
                print(note, flush=True)
                results["skipped"].append(note)
                continue
            print(f"{kind} [{'+'.join(names)}]", flush=True)
            blocks = [available[n] for n in names]
            model, _, trials = select(kind, split.train, blocks)
            # what `recsys train --features ... --split movies:0.1` does, untuned
            default_model = RatingModel(kind, validation_split="movies", seed=0).fit(
                split.train, side_features=blocks
            )
            default_val = min(
                h.val_rmse for h in default_model.training_.history if h.val_rmse is not None
            )
            for setting, chosen, val, trial_log in (
                ("tuned", model, min(t["val_rmse"] for t in trials), trials),
                ("defaults", default_model, default_val, []),
            ):
                report = evaluate_model(chosen, split.train, split.test, movies=data.movies)
                cold = report["cold_start"]
                baselines = cold["baselines"]
                used = chosen.resolved_params()
                results["runs"].append(
                    {
                        "kind": kind,
                        "blocks": names,
                        "setting": setting,
                        "params": {k: used[k] for k in ("learning_rate", "side_l2", "id_dropout")},
                        "val_rmse": val,
                        "rmse": cold["rmse"],
                        "mae": cold["mae"],
                        "n_test": cold["n_test"],
                        "fallbacks": report["test_fallbacks"],
                        "epochs": chosen.training_.epochs_run,
                        "trials": trial_log,
                    }
                )
                print(
                    f"  -> {setting}: test RMSE {cold['rmse']:.4f} (genre mean "
                    f"{baselines['genre_mean']['rmse']:.4f}, global mean "
                    f"{baselines['global_mean']['rmse']:.4f}, bias-only "
                    f"{baselines['bias_only']['rmse']:.4f})",
                    flush=True,
                )
    results["baselines"] = baselines
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cold_start.json").write_text(json.dumps(results, indent=2))
    (out / "cold_start.md").write_text(table(results))
    print(table(results))


def table(results: dict[str, Any]) -> str:
    blocks = "; ".join(
        f"{n}: {b['dim']}-d, {b['n_present']:,} movies" for n, b in results["blocks"].items()
    )
    lines = [
        f"Held-out movies: {results['n_test_movies']:,} ({results['n_test']:,} ratings), "
        f"{results['split']}.",
        "",
        f"Blocks from {results.get('blocks_from', '?')} ({blocks}).",
        "",
        "| model | side features | setting | lr | side_l2 | id_dropout | "
        "val RMSE (cold) | test RMSE | test MAE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        p = r["params"]
        lines.append(
            f"| {r['kind']} | {' + '.join(r['blocks'])} | {r['setting']} | "
            f"{p['learning_rate']:g} | {p['side_l2']:g} | {p['id_dropout']:g} | "
            f"{r['val_rmse']:.4f} | {r['rmse']:.4f} | {r['mae']:.4f} |"
        )
    names = {
        "bias_only": "bias-only baseline (mean + user bias)",
        "genre_mean": "genre-mean baseline",
        "global_mean": "global-mean baseline",
    }
    for key, b in (results.get("baselines") or {}).items():
        lines.append(f"| {names[key]} | | | | | | | {b['rmse']:.4f} | {b['mae']:.4f} |")
    if results["skipped"]:
        lines += ["", *[f"- {s}" for s in results["skipped"]]]
    return "\n".join(lines) + "\n"


def load_blocks(features: str | None, movies: pd.DataFrame) -> dict[str, FeatureBlock]:
    """Blocks of ``--features``, else ``genres`` and ``overview_w2v`` built here."""
    from recsys.features.blocks import genres_block, overview_block

    if features:
        store = FeatureStore(features)
        return {name: store[name] for name in store.names}
    blocks = {"genres": genres_block(movies, source="ml-latest-small (bundled)")}
    shared = shared_data_dir(Path(__file__).resolve().parent)
    if shared is None:
        print("no ../shared/data (or $RECSYS_SHARED_DATA): overview_w2v skipped", file=sys.stderr)
        return blocks
    frame = pd.read_csv(
        shared / "tmdb-overviews" / "movies_enriched.csv", usecols=["movieId", "overview"]
    )
    blocks["overview_w2v"], _ = overview_block(
        frame["movieId"].to_numpy(),
        frame["overview"].fillna("").tolist(),
        word_vectors=shared / "word-vectors" / "glove-6B-50d-5k.txt",
    )
    return blocks


if __name__ == "__main__":
    main()
