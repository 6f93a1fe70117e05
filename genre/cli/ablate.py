"""``genre ablate``: the fused model on every single block, every block left out (or every
pair) and all blocks, beside the classical TF-IDF models, over one or more seeds."""

from __future__ import annotations

import argparse

from genre.cli.train import add_network_arguments, network_params

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``genre ablate`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "ablate",
        help="which feature blocks help: the fused model on each block set",
        description=(
            "On one labelled set (one split), train the fused model on every single "
            "block, all blocks but one (--sets leave-one-out, the default) or every pair "
            "(--sets pairs), and all blocks together, and the classical TF-IDF models "
            "(--classical, default nb,svm,logreg) in the same table; each run picks "
            "thresholds (and stops early, or tunes, on validation) and is scored once on "
            "test, for every seed of --seeds. Writes DIR/ablation.csv (one row per seed "
            "and row: blocks, micro_f1, macro_f1, samples_f1, mean_roc_auc, "
            "hamming_loss, ...; the last row is the prior benchmark), summary.csv (mean "
            "and spread over the seeds), ablation.json, ablation.md and the bar chart "
            "ablation.png. Needs --dataset (labels and split) and --features."
        ),
    )
    parser.add_argument(
        "--dataset",
        required=True,
        metavar="DIR",
        help="labelled set written by 'genre dataset' (labels and split)",
    )
    parser.add_argument(
        "--features",
        required=True,
        metavar="FEATURES_DIR",
        help="feature store written by 'recsys features build'",
    )
    parser.add_argument(
        "--sets",
        choices=("leave-one-out", "pairs", "singles"),
        default="leave-one-out",
        help="block sets besides each single block and all blocks: all blocks but one "
        "(default), every pair, or none",
    )
    parser.add_argument(
        "--no-pairs",
        action="store_true",
        help="the same as --sets singles: only single blocks and all blocks",
    )
    parser.add_argument(
        "--classical",
        default="nb,svm,logreg",
        metavar="LIST",
        help="classical TF-IDF models in the same table (default nb,svm,logreg; none for "
        "no classical row)",
    )
    parser.add_argument(
        "--classical-text",
        choices=("overview", "tags", "overview+tags"),
        default="overview",
        help="text of the classical models (default overview)",
    )
    parser.add_argument(
        "--seeds",
        metavar="LIST",
        help="run every row once per seed, e.g. 0,1,2 (default: --seed)",
    )
    parser.add_argument(
        "--class-weight",
        choices=("none", "balanced"),
        default="none",
        help="fused rows: weight each genre's positives and negatives by their inverse "
        "frequency in the training part (balanced) or not (default none)",
    )
    parser.add_argument(
        "--threshold-by",
        choices=("f1", "accuracy"),
        default="f1",
        help="per-genre thresholds maximise this on validation (default f1)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the seed when --seeds is not given (default 0)"
    )
    parser.add_argument(
        "--jobs",
        default="auto",
        metavar="N",
        help="rows run at once, each in its own worker process (same results as one at a "
        "time); auto: the number of CPU cores this process may use, at most 4 "
        "(default auto)",
    )
    add_network_arguments(parser)
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output directory (an existing one is replaced only if it is a 'genre ablate' output)",
    )
    parser.add_argument(
        "--posters",
        metavar="DIR",
        help="also a poster-cnn row per seed: the poster CNN (scratch, --poster-image-size) "
        "trained end to end on this posters folder (default: no such row)",
    )
    parser.add_argument(
        "--poster-image-size", type=int, default=64, help="poster-cnn row: image side (default 64)"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-run lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train the fused model on each block subset, write the table and chart; return 0."""
    from genre.data.dataset import load_labelled
    from genre.fusion.ablation import CLASSICAL_MODELS, MARKER
    from genre.fusion.block_inputs import choose_blocks, load_block_inputs
    from recsys.cli.framework import UsageError
    from recsys.features import FeatureStore
    from recsys.fileio import check_writable_dir

    params = network_params(args)
    params["verbose"] = False
    classical = [m.strip() for m in args.classical.split(",") if m.strip()]
    if classical == ["none"]:
        classical = []
    unknown = [m for m in classical if m not in CLASSICAL_MODELS]
    if unknown:
        raise UsageError(
            f"--classical: unknown model {unknown[0]!r}; give some of "
            f"{','.join(CLASSICAL_MODELS)} or none."
        )
    seeds = [params.pop("seed")]
    if args.seeds is not None:
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            seeds = []
        if not seeds or any(s < 0 for s in seeds):
            raise UsageError(
                f"--seeds must be non-negative integers like 0,1,2; received {args.seeds!r}."
            )
    jobs = _jobs(args.jobs)
    out = check_writable_dir(
        args.out, what="ablation", marker=MARKER, inputs=[args.dataset, args.features]
    )
    data = load_labelled(args.dataset)
    store = FeatureStore(args.features)
    names = choose_blocks(store, args.blocks)
    inputs = load_block_inputs(store, names, data.frame["movie_id"])

    from recsys.backend import import_keras

    # On --backend / KERAS_BACKEND (chosen by run_cli). No global seeding: the model
    # seeds its initialisers, dropout and batch order from --seed itself, and
    # keras.utils.set_random_seed would import TensorFlow on every backend.
    keras = import_keras()

    from genre.fusion.ablation import block_sets, run_ablation, write_ablation

    mode = "singles" if args.no_pairs else args.sets
    sets = block_sets(names, pairs=mode == "pairs", leave_one_out=mode == "leave-one-out")
    counts = data.counts()
    print(
        f"ablation: {len(sets)} block sets of {', '.join(names)}"
        f"{' and ' + ', '.join(classical) if classical else ''}, seeds "
        f"{','.join(map(str, seeds))} ({keras.backend.backend()} backend, {jobs} at once); train "
        f"{counts['train']}, val {counts['val']}, test {counts['test']} movies",
        flush=True,
    )

    def show(row: dict) -> None:
        if not args.quiet:
            how = f"{row['epochs_run']} epochs" if row.get("epochs_run") else "tuned on validation"
            print(
                f"  seed {row['seed']} {row['blocks']:<40} micro_f1={row['micro_f1']:.4f} "
                f"macro_f1={row['macro_f1']:.4f} mean_roc_auc={row['mean_roc_auc']:.4f} "
                f"({how}, {row['seconds']:.0f}s)",
                flush=True,
            )

    poster_params = None
    if args.posters:
        from genre.poster.spec import check_image_size

        check_image_size("scratch", args.poster_image_size)
        poster_params = {k: v for k, v in params.items() if k in ("batch_size", "epochs",
                         "patience", "learning_rate", "class_weight")}  # fmt: skip
        poster_params["image_size"] = args.poster_image_size
    result = run_ablation(
        data,
        inputs,
        sets,
        posters=args.posters,
        poster_params=poster_params,
        classical=classical,
        classical_text=args.classical_text,
        seeds=seeds,
        threshold_by=args.threshold_by,
        on_row=show,
        n_jobs=jobs,
        **params,
    )
    result.config["features"] = str(store.path.resolve())
    result.config["dataset"] = args.dataset
    paths = write_ablation(result, out)
    from genre.fusion.ablation import markdown_table

    print(markdown_table(result.summary))
    best = result.best_single("micro_f1")
    every = result.all_blocks()
    print(
        f"all blocks vs best single block ({best['blocks']}): micro_f1 "
        f"{every['micro_f1']:.4f} vs {best['micro_f1']:.4f}, macro_f1 "
        f"{every['macro_f1']:.4f} vs {result.best_single('macro_f1')['macro_f1']:.4f}"
    )
    if classical:
        top = result.best_classical("micro_f1")
        print(
            f"all blocks vs best classical model ({top['blocks']}): micro_f1 "
            f"{every['micro_f1']:.4f} vs {top['micro_f1']:.4f}, macro_f1 "
            f"{every['macro_f1']:.4f} vs {result.best_classical('macro_f1')['macro_f1']:.4f}"
        )
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _jobs(value: str) -> int:
    """``--jobs``: a positive integer, or ``auto`` (usable CPU cores, at most 4)."""
    import os

    from recsys.cli.framework import UsageError

    if value.strip().lower() == "auto":
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        return max(1, min(cores, 4))
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise UsageError(f"--jobs must be a positive integer or auto; received {value!r}.")
    return jobs
