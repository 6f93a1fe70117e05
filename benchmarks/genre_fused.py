"""Fused genre model on ml-latest-small: the shared feature store and the issue-6 ablation.

Steps (every one through the toolkit's own commands or library functions):

1. ``recsys metadata import`` of the TMDB overviews CSV and the posters folder;
2. ``recsys train`` of the default bias rating model on the bundled ratings;
3. the issue-5 labelled set (MovieLens genres on at least 5% of movies, seed 0);
4. ``recsys features build`` of the blocks ``embedding``, ``pca``, ``poster`` (VGG16,
   ``--cnn-weights none``: random weights, ImageNet weights cannot be downloaded here)
   and ``overview_w2v`` (Word2Vec trained on the overviews and tags, or a word-vector
   file), plus an ``overview_glove`` block (mean GloVe vectors of the small GloVe file)
   for comparison;
5. the ablation: the fused model on every single block, every pair and all blocks (same
   split and seed), plus GloVe instead of the trained vectors, and single-modality
   MLPs (``--model mlp``: poster 1024-256-N, overview 1024-256-N).

Writes ``ablation.csv/.json/.md/.png``, ``mlp.csv`` and ``results.md`` to ``--out``
(default ``runs/genre-fused``). Poster features are cached (``$RECSYS_DATA`` or
``~/.cache/recsys``), so only the first run pays for the CNN (about 13 minutes for 2,923
posters at 128 x 128 on two busy CPU cores).

Usage::

    python benchmarks/genre_fused.py --shared ../shared/data --out runs/genre-fused
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genre.data.dataset import build_labelled, load_labelled, save_labelled  # noqa: E402
from genre.data.sources import read_metadata  # noqa: E402
from genre.fusion.ablation import block_sets, markdown_table, run_ablation, write_ablation  # noqa: E402
from genre.fusion.block_inputs import load_block_inputs  # noqa: E402
from genre.fusion.experiment import run_fusion_experiment  # noqa: E402
from recsys.cli import main as recsys  # noqa: E402
from recsys.data import load_dataset  # noqa: E402
from recsys.features import FeatureStore  # noqa: E402

METRICS = ["micro_f1", "macro_f1", "samples_f1", "mean_roc_auc", "hamming_loss"]


def step(label: str, argv: list[str]) -> float:
    """Run a ``recsys`` command in-process; stop the benchmark if it fails."""
    print(f"\n$ recsys {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    code = recsys(argv)
    if code != 0:
        raise SystemExit(f"{label} failed with exit code {code}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="the shared data folder (default ../shared/data)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/genre-fused"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--image-size",
        type=int,
        default=128,
        help="poster size for the CNN (default 128; 224 is ~4x slower)",
    )
    parser.add_argument(
        "--word-vectors",
        default="train",
        help="overview_w2v: 'train' (default) or a word2vec-format file",
    )
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    shared = args.shared
    csv = shared / "tmdb-overviews" / "movies_enriched.csv"
    glove = shared / "word-vectors" / "glove-6B-50d-5k.txt"
    store_path, model_dir, features = out / "metadata.sqlite", out / "bias-model", out / "features"
    seconds: dict[str, float] = {}

    seconds["metadata import"] = step(
        "metadata import",
        [
            "metadata",
            "import",
            "--csv",
            str(csv),
            "--posters-dir",
            str(shared / "posters" / "images"),
            "--store",
            str(store_path),
            "--quiet",
        ],
    )
    seconds["rating model"] = step(
        "recsys train", ["train", "--out", str(model_dir), "--seed", str(args.seed), "--quiet"]
    )
    blocks_argv = [
        "features",
        "build",
        "--blocks",
        "embedding,pca,poster,overview_w2v",
        "--model",
        str(model_dir),
        "--metadata",
        str(store_path),
        "--cnn-weights",
        "none",
        "--image-size",
        str(args.image_size),
        "--word-vectors",
        args.word_vectors,
        "--seed",
        str(args.seed),
        "--out",
        str(features),
    ]
    if args.word_vectors == "train":
        blocks_argv.append("--w2v-tags")
    seconds["feature store"] = step("features build", blocks_argv)

    # GloVe for comparison, as an extra block (same builder, another name)
    from recsys.features.blocks import overview_block
    from recsys.metadata import load_metadata

    meta = load_metadata(store_path)
    glove_block, glove_report = overview_block(
        meta["movie_id"].to_numpy(),
        meta["overview"].tolist(),
        word_vectors=glove,
        name="overview_glove",
    )
    FeatureStore.write(features, [glove_block])
    print(f"overview_glove: {glove_report.summary()}")
    step("features info", ["features", "info", str(features)])

    movielens = load_dataset()
    data = build_labelled(
        read_metadata(csv),
        movielens.movies,
        tags=movielens.read_tags(),
        min_genre_fraction=0.05,
        seed=args.seed,
        sources={"metadata": str(csv)},
    )
    save_labelled(data, out / "dataset")
    data = load_labelled(out / "dataset")
    counts = data.counts()
    print(
        f"\nlabelled set: {len(data.frame)} movies, {len(data.genres)} genres; train "
        f"{counts['train']}, val {counts['val']}, test {counts['test']}",
        flush=True,
    )

    main_blocks = ["embedding", "pca", "poster", "overview_w2v"]
    store = FeatureStore(features)
    inputs = load_block_inputs(store, [*main_blocks, "overview_glove"], data.frame["movie_id"])
    sets = [
        *block_sets(main_blocks),
        ("overview_glove",),
        ("embedding", "pca", "poster", "overview_glove"),
    ]

    import keras

    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()

    def show(row: dict) -> None:
        print(
            f"  {row['blocks']:<40} micro_f1={row['micro_f1']:.4f} "
            f"macro_f1={row['macro_f1']:.4f} mean_roc_auc={row['mean_roc_auc']:.4f} "
            f"({row['epochs_run']} epochs)",
            flush=True,
        )

    print(f"ablation: {len(sets)} block sets", flush=True)
    result = run_ablation(data, inputs, sets, on_row=show, seed=args.seed, epochs=args.epochs)
    seconds["ablation"] = time.perf_counter() - start
    result.config.update(
        {"features": str(features.resolve()), "labelled_set": str((out / "dataset").resolve())}
    )
    write_ablation(result, out)

    # single-modality MLPs (one block, 1024-256-N)
    mlp_rows = []
    for block in ("poster", "overview_w2v"):
        run = run_fusion_experiment(
            data, inputs, model="mlp", blocks=[block], seed=args.seed, epochs=args.epochs
        )
        mlp_rows.append(
            {"model": f"mlp 1024-256 on {block}", **{m: run.report[m] for m in METRICS}}
        )
        print(
            f"  mlp {block:<36} micro_f1={run.report['micro_f1']:.4f} "
            f"macro_f1={run.report['macro_f1']:.4f}",
            flush=True,
        )
    pd.DataFrame(mlp_rows).to_csv(out / "mlp.csv", index=False, float_format="%.6f")

    table = result.table
    runs = table[table["n_blocks"] > 0]
    singles = runs[runs["n_blocks"] == 1]
    fused = runs[runs["blocks"] == "+".join(main_blocks)].iloc[0]
    best = {m: singles.loc[singles[m].idxmax()] for m in ("micro_f1", "macro_f1")}
    verdict = {m: bool(fused[m] > best[m][m]) for m in best}
    lines = [
        "# Fused genre model on ml-latest-small (issue 6)",
        "",
        f"Labelled set: {len(data.frame)} movies, {len(data.genres)} genres (MovieLens, "
        f">= 5% of movies), split seed {args.seed}: train {counts['train']}, val "
        f"{counts['val']}, test {counts['test']}. Thresholds per genre on validation; test "
        "scored once per row. Poster CNN: VGG16, include_top=False, random weights "
        f"(weights=None, seed {args.seed}), global average pooling, {args.image_size} px.",
        "",
        markdown_table(table),
        "",
        "Single-modality MLPs (one block, 1024-256-N):",
        "",
        "| model | " + " | ".join(METRICS) + " |",
        "|" + "---|" * (len(METRICS) + 1),
        *[
            f"| {r['model']} | " + " | ".join(f"{r[m]:.4f}" for m in METRICS) + " |"
            for r in mlp_rows
        ],
        "",
        f"All four blocks ({fused['blocks']}): micro_f1 {fused['micro_f1']:.4f}, "
        f"macro_f1 {fused['macro_f1']:.4f}.",
        f"Best single block on micro_f1: {best['micro_f1']['blocks']} "
        f"{best['micro_f1']['micro_f1']:.4f}; on macro_f1: {best['macro_f1']['blocks']} "
        f"{best['macro_f1']['macro_f1']:.4f}.",
        f"Fused beats the best single block: micro_f1 {verdict['micro_f1']}, "
        f"macro_f1 {verdict['macro_f1']}.",
        "",
        "Seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()),
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "timings.json").write_text(json.dumps(seconds, indent=2) + "\n")
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
