"""``recsys evaluate``: rating and top-N metrics of a saved model, baselines beside."""

from __future__ import annotations

import argparse
import json
from typing import Any

from recsys.errors import DataError

__all__ = ["add_protocol_arguments", "protocol_from_args", "register", "run"]


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-k``, ``--relevance`` and ``--candidates`` (the top-N protocol)."""
    group = parser.add_argument_group(
        "top-N protocol",
        "Evaluated users: test users known to the training part with a relevant test "
        "rating. Candidates: every training movie the user did not rate in training. "
        "Ties: by movie id ascending.",
    )
    group.add_argument("-k", type=int, default=10, help="list length (default 10)")
    group.add_argument(
        "--relevance",
        type=float,
        metavar="X",
        help="lowest relevant test rating (default lo + 0.75 (hi - lo) of the training "
        "scale: 4 on 1-5 and 0.5-5)",
    )
    group.add_argument(
        "--candidates",
        default="all",
        metavar="all|sampled:N",
        help="all unrated training movies (default), or sampled:N: the relevant movies "
        "among N sampled unrated ones (for comparison with papers only: sampled metrics "
        "can rank models differently, Krichene and Rendle 2020)",
    )


def protocol_from_args(args: argparse.Namespace, seed: int = 0) -> Any:
    """The :class:`~recsys.evaluation.protocol.TopNProtocol` of the options (checked)."""
    from recsys.evaluation.protocol import TopNProtocol

    if args.k < 1:
        raise DataError(f"-k must be 1 or more, got {args.k}.")
    return TopNProtocol(k=args.k, relevance=args.relevance, candidates=args.candidates, seed=seed)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="rating and top-N metrics of a saved model, beside baselines",
        description="Evaluate a saved model on held-out ratings: RMSE and MAE (rating "
        "models), precision, recall, NDCG, MAP, MRR, hit rate and coverage at k, "
        "beside the global-mean, bias-only, popularity and random baselines fitted "
        "on the same training part.",
    )
    parser.add_argument("--model", required=True, metavar="DIR", help="a trained model")
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--split",
        metavar="SPEC",
        help="re-split the model's own data with SPEC and its seed (default: the split "
        "it was trained with, i.e. its own test part)",
    )
    what.add_argument(
        "--test",
        metavar="FILE",
        help="a ratings file of test ratings; the training part is the model's own",
    )
    parser.add_argument("--sep", default=",", help="field separator of --test (default ',')")
    parser.add_argument("--columns", metavar="LIST", help="columns of a header-less --test file")
    add_protocol_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(
        func=run,
        parameter_flags={
            "directory": "--model",
            "k": "-k",
            "relevance": "--relevance",
            "candidates": "--candidates",
        },
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the table (or JSON)."""
    from recsys.workflows.evaluation import evaluate_saved

    protocol = protocol_from_args(args)
    report = evaluate_saved(
        args.model,
        split=args.split,
        test_file=args.test,
        protocol=protocol,
        sep=args.sep,
        columns=args.columns,
    )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(_table(report))
    return 0


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4f}"


def _table(report: dict[str, Any]) -> str:
    k = report["k"]
    columns = ["ndcg", "precision", "recall", "map", "mrr", "hit_rate", "coverage"]
    model = report["model"]
    name = f"{model['kind']} model" + (
        f" ({model['objective']})" if model["objective"] != "rating" else ""
    )
    rows = [(name, report["rmse"], report["mae"], report["topn"])]
    rows += [
        (f"{b.replace('_', '-')} baseline", v["rmse"], v["mae"], v["topn"])
        for b, v in report["baselines"].items()
    ]
    head = f"  {'':<26}{'RMSE':>8}{'MAE':>8}" + "".join(f"{c + '@' + str(k):>13}" for c in columns)
    lines = [
        f"recsys evaluate: {report['split']}; {report['n_test']:,} test ratings, "
        f"{report['n_users']:,} evaluated users (relevant: rating >= {report['relevance']:g}, "
        f"candidates: {report['candidates']})",
        "",
        head,
    ]
    for label, r, a, topn in rows:
        lines.append(
            f"  {label:<26}{_fmt(r):>8}{_fmt(a):>8}"
            + "".join(f"{topn[f'{c}@{k}']:>13.4f}" for c in columns)
        )
    if report.get("note"):
        lines += ["", f"  note: {report['note']}"]
    return "\n".join(lines)
