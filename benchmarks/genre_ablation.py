"""Fused genre prediction against the classical TF-IDF models, in one ``genre ablate``
table over three seeds (issue 17).

Steps, each through the toolkit's own commands (timed):

1. ``recsys metadata import`` of the TMDB overviews CSV and the posters folder;
2. ``recsys train``: the default bias rating model on the bundled ratings;
3. ``recsys features build``: ``embedding``, ``pca``, ``poster`` (VGG16 with
   ``--cnn-weights none``: random weights, ImageNet weights cannot be downloaded here)
   and ``overview_w2v``;
4. ``genre dataset``: the issue-5 labelled set (MovieLens genres on >= 5% of the
   training movies, split seed 0: 7,353 / 915 / 933);
5. ``genre blocks``: ``tfidf_svd``, ``text_scores`` (out of fold), ``metadata`` and
   ``tags``, fitted on the training movies only;
6. ``genre ablate --seeds 0,1,2``: nb, svm and logreg (TF-IDF on the overview), the fused
   model on each single block, on all blocks but one (so ``all but poster`` is the fused
   model with ImageNet-free blocks only) and on all blocks;
7. ``genre train --model fusion`` on all blocks (seed 0): the time of one fused model.

Writes the ablation folder (``ablation.csv``, ``summary.csv``, ``ablation.md``...),
``results.md`` (the table, the targets and the timings) and ``timings.json`` to ``--out``.
The poster features are cached (``$RECSYS_DATA`` or ``~/.cache/recsys``), so only the first
run pays for the CNN.

Usage::

    python benchmarks/genre_ablation.py --shared ../shared/data --out runs/genre-ablation

``--merge DIR DIR ...`` instead combines ``genre ablate`` folders of one seed each, run
side by side (``genre ablate --seed S --out DIR``), into one table and summary, and writes
the same ``results.md``.
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

from genre.cli import main as genre  # noqa: E402
from genre.fusion.ablation import markdown_table  # noqa: E402
from recsys.cli import main as recsys  # noqa: E402

TARGETS = {"micro_f1": 0.63, "macro_f1": 0.58, "margin_over_classical": 0.02}


def step(label: str, command: object, argv: list[str], seconds: dict[str, float]) -> None:
    """Run a command in-process, time it; stop the benchmark if it fails."""
    name = "recsys" if command is recsys else "genre"
    print(f"\n$ {name} {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    code = command(argv)  # type: ignore[operator]
    if code != 0:
        raise SystemExit(f"{label} failed with exit code {code}")
    seconds[label] = round(time.perf_counter() - start, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("runs/genre-ablation"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the metadata store, rating model, feature store and labelled set of a "
        "previous run in --out (steps 1-4)",
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="combine these one-seed genre ablate folders instead of running anything",
    )
    args = parser.parse_args()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        return merge(args.merge, out)
    csv = args.shared / "tmdb-overviews" / "movies_enriched.csv"
    store, model_dir = out / "metadata.sqlite", out / "bias-model"
    features, dataset, ablation = out / "features", out / "dataset", out / "ablation"
    seconds: dict[str, float] = {}
    reuse = args.reuse and (features / "manifest.json").is_file() and dataset.is_dir()
    if not reuse:
        step(
            "metadata import",
            recsys,
            [
                "metadata",
                "import",
                "--csv",
                str(csv),
                "--posters-dir",
                str(args.shared / "posters" / "images"),
                "--store",
                str(store),
                "--quiet",
            ],
            seconds,
        )
        step("rating model", recsys, ["train", "--out", str(model_dir), "--quiet"], seconds)
        step(
            "features build",
            recsys,
            [
                "features",
                "build",
                "--blocks",
                "embedding,pca,poster,overview_w2v",
                "--model",
                str(model_dir),
                "--metadata",
                str(store),
                "--cnn-weights",
                "none",
                "--image-size",
                "128",
                "--word-vectors",
                "train",
                "--w2v-tags",
                "--out",
                str(features),
            ],
            seconds,
        )
        step(
            "genre dataset",
            genre,
            ["dataset", "--metadata", str(csv), "--seed", "0", "--out", str(dataset)],
            seconds,
        )
    step(
        "genre blocks",
        genre,
        ["blocks", "--dataset", str(dataset), "--features", str(features), "--metadata", str(csv)],
        seconds,
    )
    step(
        "genre ablate",
        genre,
        [
            "ablate",
            "--dataset",
            str(dataset),
            "--features",
            str(features),
            "--seeds",
            args.seeds,
            "--quiet",
            "--out",
            str(ablation),
        ],
        seconds,
    )
    step(
        "one fused model (genre train)",
        genre,
        [
            "train",
            "--model",
            "fusion",
            "--dataset",
            str(dataset),
            "--features",
            str(features),
            "--quiet",
            "--out",
            str(out / "fused-model"),
        ],
        seconds,
    )

    summary = pd.read_csv(ablation / "summary.csv")
    table = pd.read_csv(ablation / "ablation.csv")
    n_seeds = len(args.seeds.split(","))
    checks = {
        "ablation (per seed) < 10 min": bool(seconds["genre ablate"] / n_seeds < 600),
        "one fused model < 2 min": bool(seconds["one fused model (genre train)"] < 120),
    }
    write_results(summary, table, seconds, checks, out, args.seeds)
    return 0


def merge(folders: list[Path], out: Path) -> int:
    """Combine one-seed ``genre ablate`` folders into one ablation (see ``--merge``)."""
    from genre.fusion.ablation import COLUMNS, INTEGER_COLUMNS, AblationResult, write_ablation

    tables: list[pd.DataFrame] = []
    reports: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for folder in folders:
        saved = json.loads((folder / "ablation.json").read_text())
        table = pd.DataFrame(saved["table"])
        seeds = sorted({int(v) for v in table["seed"].dropna()})
        tables.append(table)
        reports.update(
            {
                (k if "[seed " in k else f"{k} [seed {seeds[0]}]"): v
                for k, v in saved["reports"].items()
            }
        )
        config = config or saved["config"]
    prior = tables[0][tables[0]["kind"] == "benchmark"]
    rows = pd.concat([t[t["kind"] != "benchmark"] for t in tables] + [prior], ignore_index=True)
    rows = rows[list(COLUMNS)].astype({c: "Int64" for c in INTEGER_COLUMNS})
    config["seeds"] = sorted({int(v) for v in rows["seed"].dropna()})
    config["merged_from"] = [str(f) for f in folders]
    result = AblationResult(rows, reports, config)
    write_ablation(result, out / "ablation")
    seconds = {
        f"seed {s}, {int((rows['seed'] == s).sum())} rows (sum of row times)": float(
            pd.to_numeric(rows[rows["seed"] == s]["seconds"], errors="coerce").sum()
        )
        for s in config["seeds"]
    }
    fused = rows[(rows["kind"] == "fused") & (rows["n_blocks"] == rows["n_blocks"].max())]
    seconds["one fused model, all blocks (mean over seeds)"] = float(fused["seconds"].mean())
    checks = {
        "one fused model < 2 min": seconds["one fused model, all blocks (mean over seeds)"] < 120,
    }
    write_results(result.summary, rows, seconds, checks, out, ",".join(map(str, config["seeds"])))
    return 0


def write_results(
    summary: pd.DataFrame,
    table: pd.DataFrame,
    seconds: dict[str, float],
    timing: dict[str, bool],
    out: Path,
    seeds: str,
) -> None:
    """Write ``results.md`` and ``timings.json``: the table, targets and timings."""
    fused = summary[summary["kind"] == "fused"]
    headline = fused.loc[fused["n_blocks"].idxmax()]
    no_poster = fused[
        fused["blocks"] == "+".join(b for b in str(headline["blocks"]).split("+") if b != "poster")
    ]
    classical = summary[summary["kind"] == "classical"]
    if classical.empty:
        raise SystemExit("the ablation has no classical row; run genre ablate with --classical.")
    best_classical = classical.loc[classical["micro_f1"].idxmax()]
    per_seed = table[(table["blocks"] == headline["blocks"])][["seed", "micro_f1", "macro_f1"]]
    checks = {
        "fused micro_f1 >= 0.63": bool(headline["micro_f1"] >= TARGETS["micro_f1"]),
        "fused macro_f1 >= 0.58": bool(headline["macro_f1"] >= TARGETS["macro_f1"]),
        "fused micro_f1 >= best classical + 0.02": bool(
            headline["micro_f1"] >= best_classical["micro_f1"] + TARGETS["margin_over_classical"]
        ),
        **timing,
    }
    lines = [
        "# Fused genre prediction vs the classical models (issue 17)",
        "",
        "Labelled set: ml-latest-small with TMDB overviews, 13 MovieLens genres on >= 5% of "
        "the training movies, split seed 0 (train 7,353, val 915, test 933). Every row: "
        "thresholds per genre on validation, test scored once. Seeds "
        f"{seeds} (network initialisation, dropout and batch order; the classical "
        "solvers); cells are mean ± standard deviation over the seeds. Poster CNN: VGG16 "
        "with random weights (no ImageNet here).",
        "",
        markdown_table(summary),
        "",
        f"Fused, all blocks ({headline['blocks']}): micro-F1 {headline['micro_f1']:.4f} "
        f"± {headline['micro_f1_std']:.4f} (min {headline['micro_f1_min']:.4f}), macro-F1 "
        f"{headline['macro_f1']:.4f} ± {headline['macro_f1_std']:.4f} (min "
        f"{headline['macro_f1_min']:.4f}).",
    ]
    if len(no_poster):
        row = no_poster.iloc[0]
        lines.append(
            f"Fused without the poster (ImageNet-free blocks only): micro-F1 "
            f"{row['micro_f1']:.4f} ± {row['micro_f1_std']:.4f}, macro-F1 "
            f"{row['macro_f1']:.4f} ± {row['macro_f1_std']:.4f}."
        )
    lines += [
        f"Best classical row ({best_classical['blocks']}): micro-F1 "
        f"{best_classical['micro_f1']:.4f}, macro-F1 {best_classical['macro_f1']:.4f}.",
        "",
        "Per seed (all blocks): "
        + ", ".join(
            f"seed {int(r.seed)}: {r.micro_f1:.4f} / {r.macro_f1:.4f}"
            for r in per_seed.itertuples()
        ),
        "",
        "Targets: " + "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()),
        "",
        "Seconds (2 shared CPU cores): " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()),
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "timings.json").write_text(
        json.dumps({"seconds": seconds, "checks": checks}, indent=2) + "\n"
    )
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
