"""``genre train``: fit a text model on train, tune on validation, score once on test."""

from __future__ import annotations

import argparse

from recsys.cli.framework import UsageError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a TF-IDF / bag-of-words genre classifier (nb, svm, logreg)",
        description=(
            "Fit on the training part; choose hyper-parameters and per-genre thresholds "
            "on the validation part; evaluate once on the test part beside the trivial "
            "benchmarks. Writes the model and DIR/metrics.json."),
    )
    parser.add_argument("--dataset", required=True, metavar="DIR",
                        help="labelled set written by 'genre dataset'")
    parser.add_argument("--features", choices=("tfidf", "bow"), default="tfidf")
    parser.add_argument("--text", choices=("overview", "tags", "overview+tags"),
                        default="overview", help="text field (default overview)")
    parser.add_argument("--model", choices=("nb", "svm", "logreg"), default="logreg")
    parser.add_argument("--class-weight", choices=("none", "balanced"), default="none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--select-by", choices=("mean_roc_auc", "micro_f1", "macro_f1"),
                        default="mean_roc_auc",
                        help="validation metric choosing the hyper-parameters "
                             "(default mean_roc_auc)")
    parser.add_argument("--threshold-by", choices=("f1", "accuracy"), default="f1",
                        help="per-genre thresholds maximise this on validation (default f1)")
    parser.add_argument("--C", dest="C", default=None, metavar="LIST",
                        help="comma-separated C values for svm/logreg (default: a grid)")
    parser.add_argument("--alpha", default=None, metavar="LIST",
                        help="comma-separated smoothing values for nb (default: a grid)")
    parser.add_argument("--min-df", default=None, metavar="LIST",
                        help="comma-separated min_df values (ints are counts, default 2,5)")
    parser.add_argument("--ngram-max", default=None, metavar="LIST",
                        help="comma-separated largest n-gram sizes (default 1,2)")
    parser.add_argument("--out", required=True, metavar="DIR", help="model directory")
    parser.add_argument("--quiet", action="store_true", help="no per-grid-point lines")
    parser.set_defaults(func=run)


def _numbers(text: str | None, option: str, kind: type) -> list | None:
    if text is None:
        return None
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise UsageError(f"{option} must be a comma-separated list of positive numbers, "
                         f"received {text!r}.")
    return values


def _min_df(text: str | None) -> list | None:
    values = _numbers(text, "--min-df", float)
    if values is None:
        return None
    out = []
    for v in values:
        if v >= 1 and v != int(v):
            raise UsageError(f"--min-df values are counts (integers >= 1) or fractions "
                             f"below 1, received {v}.")
        out.append(int(v) if v >= 1 else v)
    return out


def build_grid(args: argparse.Namespace) -> dict[str, list]:
    """The search grid: the defaults for the model, overridden by the options given."""
    from genre.tuning import default_grid

    grid = default_grid(args.model)
    strength = "alpha" if args.model == "nb" else "C"
    other = "C" if args.model == "nb" else "alpha"
    if getattr(args, other) is not None:
        raise UsageError(f"--{other} does not apply to --model {args.model}; use --{strength}.")
    overrides = {strength: _numbers(getattr(args, strength), f"--{strength}", float),
                 "min_df": _min_df(args.min_df),
                 "ngram_max": _numbers(args.ngram_max, "--ngram-max", int)}
    grid.update({k: v for k, v in overrides.items() if v is not None})
    return grid


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from genre.dataset import load_labelled
    from genre.experiment import run_text_experiment
    from genre.model_dir import save_model
    from recsys.fileio import check_writable_dir

    grid = build_grid(args)
    out = check_writable_dir(args.out, what="model")
    data = load_labelled(args.dataset)

    def show(row: dict) -> None:
        if not args.quiet:
            params = " ".join(f"{k}={row[k]}" for k in sorted(grid))
            print(f"  val {params}: mean_roc_auc={row['mean_roc_auc']:.4f} "
                  f"micro_f1={row['micro_f1']:.4f} macro_f1={row['macro_f1']:.4f}",
                  flush=True)

    n_points = 1
    for values in grid.values():
        n_points *= len(values)
    counts = data.counts()
    print(f"{args.model} on {args.features} of {args.text}: {n_points} grid points, "
          f"train {counts['train']}, val {counts['val']}, test {counts['test']}")
    result = run_text_experiment(
        data, model=args.model, features=args.features, text=args.text,
        class_weight=None if args.class_weight == "none" else args.class_weight,
        seed=args.seed, grid=grid, select_by=args.select_by,
        threshold_by=args.threshold_by, on_step=show)
    config = {**result.config,
              "dataset": str(Path(args.dataset).expanduser().resolve()),
              "dataset_manifest": {k: data.manifest.get(k) for k in
                                   ("labels", "seed", "min_genre_fraction", "sources")}}
    tuned = result.tuned
    save_model(out, tuned.estimator, data.vocabulary, tuned.thresholds, config=config,
               metrics=result.report, search=tuned.search)
    print(f"chosen on validation: {tuned.params}")
    print(format_summary(result.report))
    print(f"wrote {out}")
    return 0


def format_summary(report: dict) -> str:
    """A small test-metrics table: the model beside the trivial benchmarks."""
    names = ("micro_f1", "macro_f1", "samples_f1", "mean_roc_auc", "hamming_loss",
             "mean_accuracy", "top1_accuracy", "top3_precision")
    rows = [("model", report), ("prior", report["benchmarks"]["prior"]),
            ("all-negative", report["benchmarks"]["all_negative"])]
    lines = [f"test ({report['n_test']} movies)  " + "  ".join(f"{n:>14}" for n in names)]
    for label, values in rows:
        cells = "  ".join(f"{values[n]:>14.4f}" if values[n] is not None else f"{'-':>14}"
                          for n in names)
        lines.append(f"{label:<{len(lines[0].split('  ')[0])}}  {cells}")
    return "\n".join(lines)
