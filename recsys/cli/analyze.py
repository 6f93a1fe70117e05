"""``recsys analyze``: what a trained rating model learned about movies, as a report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from recsys.cli.framework import UsageError, add_backend_argument
from recsys.workflows.analysis import analysis_defaults, analyze_saved_model, prepare_report_dir

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` command."""
    defaults = analysis_defaults()
    parser = subparsers.add_parser(
        "analyze",
        help="movie biases, principal factors and plots of a trained model",
        description="Analyse a model written by `recsys train`: rank the movie biases next to "
        "raw mean ratings, run PCA on the movie embeddings of the most-rated "
        "movies (top/bottom titles, genre and year contrast, suggested names), "
        "plot the factor maps, and write movies.csv, crosstab.csv, analysis.json, "
        "PNG plots and a self-contained report.html.",
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="DIR",
        help="a model directory written by `recsys train --out DIR`",
    )
    parser.add_argument(
        "--top-movies",
        type=int,
        default=defaults["top_movies"],
        metavar="N",
        help="analyse the N movies with the most training ratings "
        f"(default {defaults['top_movies']}; clamped to the catalogue)",
    )
    parser.add_argument(
        "--components",
        type=int,
        default=defaults["n_components"],
        metavar="K",
        help=f"principal components of the embeddings (default {defaults['n_components']})",
    )
    parser.add_argument(
        "--n",
        type=int,
        default=defaults["n"],
        metavar="N",
        help="titles at each end of the bias ranking and of each component "
        f"(default {defaults['n']})",
    )
    parser.add_argument(
        "--scatter",
        action="append",
        metavar="I,J",
        help="plot components I and J against each other (repeatable; default 1,2 and 1,3)",
    )
    parser.add_argument(
        "--labels",
        type=int,
        default=defaults["max_labels"],
        metavar="N",
        help=f"at most N titles on each scatter plot (default {defaults['max_labels']})",
    )
    parser.add_argument(
        "--out",
        metavar="REPORT_DIR",
        help="report directory (default: <model DIR>-analysis next to the "
        "model); an existing report there is replaced",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as JSON on stdout (the report is still written)",
    )
    add_backend_argument(parser)  # the model is loaded (and its embeddings read) on it
    parser.set_defaults(
        func=run,
        parameter_flags={
            "directory": "--out",
            "n_components": "--components",
            "max_labels": "--labels",
        },
    )


def _pairs(texts: list[str] | None, components: int) -> list[tuple[int, int]] | None:
    if not texts:
        return None
    pairs = []
    for text in texts:
        try:
            first, second = (int(part) for part in text.split(","))
        except ValueError:
            raise UsageError(
                f"--scatter {text!r}: give two component numbers, e.g. --scatter 1,3."
            ) from None
        pairs.append((first, second))
    from recsys.analysis.report import check_scatter_pairs

    try:
        check_scatter_pairs(pairs, components)
    except ValueError as error:
        raise UsageError(f"--scatter: {error}") from None
    return pairs


def _check_args(args: argparse.Namespace) -> None:
    for flag, value, low in (
        ("--top-movies", args.top_movies, 2),
        ("--components", args.components, 1),
        ("--n", args.n, 1),
        ("--labels", args.labels, 0),
    ):
        if value < low:
            raise UsageError(f"{flag} must be at least {low}, got {value}.")
    if args.components >= args.top_movies:
        raise UsageError(
            f"--components {args.components} needs at least "
            f"{args.components + 1} analysed movies; raise --top-movies or lower "
            "--components."
        )


def run(args: argparse.Namespace) -> int:
    """Analyse the model, write the report, print a summary (or JSON)."""
    _check_args(args)
    pairs = _pairs(args.scatter, args.components)
    out = prepare_report_dir(args.model, args.out)
    analysis = analyze_saved_model(  # on --backend / KERAS_BACKEND, chosen by run_cli
        args.model,
        out,
        top_movies=args.top_movies,
        n_components=args.components,
        n=args.n,
        scatter_pairs=pairs,
        max_labels=args.labels,
    )
    for note in analysis.notes:
        print(f"recsys analyze: note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(_summary(analysis, out))
    return 0


def _titles(frame: Any, limit: int = 5) -> str:
    from recsys.analysis.plots import short_title

    return "; ".join(short_title(t) for t in frame["title"].head(limit))


def _summary(analysis: Any, out: Path) -> str:
    m = analysis.model
    lines = [
        f"recsys analyze: {m['kind']} model, {m['factors']} factors; the "
        f"{len(analysis.movies):,} most-rated of {m['n_movies']:,} movies analysed"
    ]
    if analysis.bias_stats is not None:
        lines.append(
            f"movie bias: Spearman with mean training rating "
            f"{analysis.bias_stats['spearman_mean_rating']:.3f}"
        )
        lines.append(f"  highest: {_titles(analysis.bias_top)}")
        lines.append(f"  lowest:  {_titles(analysis.bias_bottom)}")
    else:
        lines.append(f"movie bias: none (the {m['kind']} model has no bias term)")
    for component in analysis.components:
        lines.append(
            f"PC{component.component} {component.explained_variance_ratio:6.1%}  "
            f"{component.contrast.suggested_name}"
        )
        lines.append(f"  top:    {_titles(component.top)}")
        lines.append(f"  bottom: {_titles(component.bottom)}")
    lines.append(f"report: {out / 'report.html'}")
    return "\n".join(lines)
