"""Poster CNNs trained end to end (issue 18) against the prior benchmark and the frozen
random-weight poster block, on the shared posters.

Steps:

1. ``genre dataset`` on the shared TMDB overviews CSV (MovieLens genres, split seed 0:
   the labelled set of the other genre benchmarks), unless ``--dataset`` is given; the
   movies with a decodable poster keep their split (about 2,232 / 275 / 260);
2. the posters decoded once at ``--image-size`` (:func:`genre.poster.images.load_poster_images`);
3. the frozen random-weight poster block, as ``genre ablate``'s ``poster`` row measures
   it: VGG16 with seeded random weights (``--cnn-weights none``), average pooling, at 128
   px (the feature store's size), into the fused model on that one block
   (:func:`genre.fusion.experiment.run_fusion_experiment`), on the same movies and split;
4. ``poster-cnn`` scratch and vgg16 (``weights="none"``: ImageNet weights cannot be
   downloaded here) for each seed (:func:`genre.poster.experiment.run_poster_experiment`).

Every row picks its thresholds on validation and scores the test part once; the prior
benchmark of the same movies is reported beside. Writes ``results.json``, ``runs.csv``,
``results.md`` and the learning curves of the first seed to ``--out``.

Usage::

    nice python benchmarks/poster_cnn.py --shared ../shared/data --out benchmarks/results/poster_cnn

On 2 CPU cores the defaults are reduced (32 px, 12 epochs scratch, 3 + 2 epochs vgg16);
on a GPU use ``--image-size 128 --epochs 50 --vgg-epochs 20 --fine-tune-epochs 10``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

METRICS = ("micro_f1", "macro_f1", "samples_f1", "mean_roc_auc", "top1_accuracy", "hamming_loss")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--dataset", type=Path, help="a labelled set (default: built)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/poster_cnn")
    parser.add_argument("--work", type=Path, default=Path("runs/poster_cnn"))
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the scratch rows")
    parser.add_argument("--vgg-seeds", default=None, help="seeds of the vgg16 rows (--seeds)")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=12, help="scratch: most epochs")
    parser.add_argument("--vgg-epochs", type=int, default=3, help="vgg16: top epochs")
    parser.add_argument("--fine-tune-epochs", type=int, default=2)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--architectures", default="scratch,vgg16")
    return parser.parse_args(argv)


def row(name: str, seed: int, report: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": name, "seed": seed, **{m: report[m] for m in METRICS}, **extra}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from genre.cli import main as genre
    from genre.data.dataset import LabelledSet, load_labelled
    from genre.poster.experiment import load_split_posters, run_poster_experiment
    from genre.poster.images import find_posters
    from genre.poster.plots import plot_learning_curves

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    vgg_seeds = [int(s) for s in (args.vgg_seeds or args.seeds).split(",") if s.strip()]
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    dataset = args.dataset or args.work / "dataset"
    if args.dataset is None and not (dataset / "manifest.json").is_file():
        csv = args.shared / "tmdb-overviews" / "movies_enriched.csv"
        assert genre(["dataset", "--metadata", str(csv), "--seed", "0", "--out", str(dataset)]) == 0
    data = load_labelled(dataset)
    posters = args.shared / "posters"
    started = time.perf_counter()
    images, _ = load_split_posters(data, posters, args.image_size)
    decode_seconds = time.perf_counter() - started
    # the labelled set's movies that have a decodable poster, split kept
    keep = data.frame["movie_id"].isin(images.movie_ids)
    sub = LabelledSet(data.frame[keep].reset_index(drop=True), data.vocabulary, data.manifest)
    counts = sub.counts()
    print(f"posters: {len(images)} decoded ({decode_seconds:.0f}s), {len(images.failures)} "
          f"skipped; movies with a poster: {counts}", flush=True)  # fmt: skip
    rows: list[dict[str, Any]] = []

    # ---- the frozen random-weight poster block (genre ablate's 'poster' row)
    from genre.fusion.block_inputs import BlockInputs
    from genre.fusion.experiment import run_fusion_experiment
    from recsys.features.posters import CNNSpec, extract_poster_features

    spec = CNNSpec(weights="none", image_size=128, seed=0)
    files = find_posters(posters, sub.frame["movie_id"])
    paths = [str(files[m]) for m in sub.frame["movie_id"]]
    values, mask, _ = extract_poster_features(paths, spec, progress=False)
    inputs = BlockInputs(
        sub.frame["movie_id"].to_numpy(), {"poster": values}, {"poster": mask},
        {"poster": spec.describe()},
    )  # fmt: skip
    prior = None
    for seed in seeds:
        tick = time.perf_counter()
        run = run_fusion_experiment(sub, inputs, model="fusion", seed=seed)
        rows.append(row("frozen random-weight VGG16 block (fused, 128 px)", seed, run.report,
                        epochs=run.report["training"]["epochs_run"],
                        seconds=time.perf_counter() - tick))  # fmt: skip
        prior = run.report["benchmarks"]["prior"]
        print(f"  frozen block seed {seed}: micro_f1 {rows[-1]['micro_f1']:.4f}", flush=True)
    assert prior is not None
    rows.append(row("prior benchmark", -1, prior))

    # ---- poster CNNs trained end to end
    settings = {
        "scratch": {"epochs": args.epochs},
        "vgg16": {"epochs": args.vgg_epochs, "fine_tune_epochs": args.fine_tune_epochs,
                  "weights": "none"},
    }  # fmt: skip
    for arch in [a.strip() for a in args.architectures.split(",") if a.strip()]:
        for number, seed in enumerate(seeds if arch == "scratch" else vgg_seeds):
            tick = time.perf_counter()
            result = run_poster_experiment(
                sub, images, architecture=arch, image_size=args.image_size, seed=seed,
                batch_size=args.batch_size, patience=args.patience, **settings[arch],
            )  # fmt: skip
            training = result.report["training"]
            rows.append(row(f"poster-cnn {arch} ({args.image_size} px)", seed, result.report,
                            epochs=training["epochs_run"], best_epoch=training["best_epoch"],
                            seconds_per_epoch=training["median_seconds_per_epoch"],
                            seconds=time.perf_counter() - tick))  # fmt: skip
            print(f"  {arch} seed {seed}: micro_f1 {rows[-1]['micro_f1']:.4f} roc_auc "
                  f"{rows[-1]['mean_roc_auc']:.4f} ({training['epochs_run']} epochs, "
                  f"{training['median_seconds_per_epoch']:.1f} s/epoch)", flush=True)  # fmt: skip
            if number == 0:
                plot_learning_curves(result.classifier.history_, args.out / f"curves_{arch}.png")
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "runs.csv", index=False, float_format="%.6f")
    summary = table.groupby("model", sort=False).agg(
        **{m: (m, "mean") for m in METRICS},
        **{f"{m}_std": (m, "std") for m in ("micro_f1", "mean_roc_auc")},
        seeds=("seed", "count"),
    )
    payload = {
        "settings": vars(args) | {"shared": str(args.shared), "out": str(args.out),
                                  "work": str(args.work), "dataset": str(dataset)},
        "posters": {"decoded": len(images), "skipped": len(images.failures),
                    "decode_seconds": decode_seconds, "movies": counts},
        "runs": rows,
    }  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    lines = [
        "# Poster CNNs trained end to end (issue 18)",
        "",
        f"Movies of the labelled set (split seed 0) with a poster: train {counts['train']}, "
        f"val {counts['val']}, test {counts['test']}. Thresholds on validation, test once. "
        f"Images {args.image_size} px; scratch up to {args.epochs} epochs, vgg16 "
        f"{args.vgg_epochs} + {args.fine_tune_epochs} fine-tuning epochs with random base "
        f"weights (no ImageNet here); patience {args.patience}. Mean over seeds (std of "
        "micro-F1 and ROC-AUC):",
        "",
        "| model | seeds | micro-F1 | macro-F1 | samples-F1 | ROC-AUC | top-class acc | Hamming |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in summary.iterrows():

        def std(metric: str, r: Any = r) -> str:
            return f" ± {r[metric + '_std']:.4f}" if r["seeds"] > 1 else ""

        lines.append(
            f"| {name} | {int(r['seeds']) if name != 'prior benchmark' else '-'} | "
            f"{r['micro_f1']:.4f}{std('micro_f1')} | {r['macro_f1']:.4f} | {r['samples_f1']:.4f} | "
            f"{r['mean_roc_auc']:.4f}{std('mean_roc_auc')} | {r['top1_accuracy']:.4f} | "
            f"{r['hamming_loss']:.4f} |"
        )
    timed = table.dropna(subset=["seconds_per_epoch"]) if "seconds_per_epoch" in table else table
    lines += ["", "Seconds per epoch (median over epochs and seeds, 2 shared CPU cores):", ""]
    for name, group in timed.groupby("model", sort=False):
        lines.append(f"- {name}: {group['seconds_per_epoch'].median():.1f} s")
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
