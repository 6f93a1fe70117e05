"""``genre ablate``: the fused model on every single block, every pair and all blocks."""

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
            "On one labelled set (one split, one seed), train the fused model on every "
            "single block, every pair of blocks and all blocks together; each run stops "
            "early and picks thresholds on validation and is scored once on test. Writes "
            "DIR/ablation.csv (blocks, micro_f1, macro_f1, samples_f1, mean_roc_auc, "
            "hamming_loss, ...; the last row is the prior benchmark), ablation.json, "
            "ablation.md and the bar chart ablation.png. Needs --dataset (labels and "
            "split) and --features."
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
        "--no-pairs", action="store_true", help="only single blocks and all blocks (no pairs)"
    )
    parser.add_argument("--class-weight", choices=("none", "balanced"), default="none")
    parser.add_argument(
        "--threshold-by",
        choices=("f1", "accuracy"),
        default="f1",
        help="per-genre thresholds maximise this on validation (default f1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="one seed for every run")
    add_network_arguments(parser)
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output directory (an existing one is replaced only if it is a 'genre ablate' output)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-run lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train the fused model on each block subset, write the table and chart; return 0."""
    from genre.data.dataset import load_labelled
    from genre.fusion.ablation import MARKER
    from genre.fusion.block_inputs import choose_blocks, load_block_inputs
    from recsys.features import FeatureStore
    from recsys.fileio import check_writable_dir

    params = network_params(args)
    params["verbose"] = False
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

    sets = block_sets(names, pairs=not args.no_pairs)
    counts = data.counts()
    print(
        f"ablation: {len(sets)} block sets of {', '.join(names)} "
        f"({keras.backend.backend()} backend); train {counts['train']}, "
        f"val {counts['val']}, test {counts['test']} movies",
        flush=True,
    )

    def show(row: dict) -> None:
        if not args.quiet:
            print(
                f"  {row['blocks']:<40} micro_f1={row['micro_f1']:.4f} "
                f"macro_f1={row['macro_f1']:.4f} mean_roc_auc={row['mean_roc_auc']:.4f} "
                f"({row['epochs_run']} epochs)",
                flush=True,
            )

    result = run_ablation(data, inputs, sets, threshold_by=args.threshold_by, on_row=show, **params)
    result.config["features"] = str(store.path.resolve())
    result.config["dataset"] = args.dataset
    paths = write_ablation(result, out)
    from genre.fusion.ablation import markdown_table

    print(markdown_table(result.table))
    best = result.best_single("micro_f1")
    every = result.all_blocks()
    print(
        f"all blocks vs best single block ({best['blocks']}): micro_f1 "
        f"{every['micro_f1']:.4f} vs {best['micro_f1']:.4f}, macro_f1 "
        f"{every['macro_f1']:.4f} vs {result.best_single('macro_f1')['macro_f1']:.4f}"
    )
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
