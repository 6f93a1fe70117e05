"""Options shared by the commands that read ratings: where the data comes from.

:func:`recsys.workflows.load_and_split` reads the data they name.
"""

from __future__ import annotations

import argparse
import math

from recsys.cli.framework import default_of
from recsys.data.download import DATASETS
from recsys.errors import DataError
from recsys.workflows.data import load_and_split

__all__ = ["add_data_arguments", "parse_rating_scale"]


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--dataset/--data/--ratings`` (one of), ``--sep``, ``--columns``, ``--split``."""
    source = parser.add_argument_group("data (default: the bundled ml-latest-small)")
    which = source.add_mutually_exclusive_group()
    which.add_argument(
        "--dataset",
        metavar="NAME",
        help=f"a MovieLens release, downloaded once: {', '.join(DATASETS)}",
    )
    which.add_argument("--data", metavar="PATH", help="a MovieLens directory or .zip (any layout)")
    which.add_argument("--ratings", metavar="FILE", help="any delimited ratings file")
    source.add_argument(
        "--sep",
        default=default_of(load_and_split, "sep"),
        help="field separator of --ratings / files: splits "
        f"(default {default_of(load_and_split, 'sep')!r})",
    )
    source.add_argument(
        "--columns",
        metavar="LIST",
        help="columns of a header-less ratings file in order, e.g. "
        "user,item,rating,timestamp (- skips one); or, for a file with a header, "
        "ROLE=NAME pairs: user=userId,item=movieId,rating=stars,timestamp=ts "
        "(default: header names such as userId, movieId, rating, timestamp are found "
        "by themselves). Files ending .gz, .bz2, .xz or .zip are decompressed",
    )
    source.add_argument(
        "--rating-scale",
        metavar="LO,HI",
        help="the rating scale (default: inferred from the training data)",
    )
    source.add_argument(
        "--split",
        default=default_of(load_and_split, "split"),
        help="random:F, user:F, temporal:F, movies:F, fold:u1 or "
        f"files:TRAIN,TEST (default {default_of(load_and_split, 'split')})",
    )


def parse_rating_scale(text: str | None) -> tuple[float, float] | None:
    """``"0.5,5"`` -> ``(0.5, 5.0)``.

    Raises
    ------
    DataError
        When it is not two numbers with low < high.
    """
    if text is None:
        return None
    parts = text.split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise DataError(f"--rating-scale {text!r}: give two numbers, e.g. 0.5,5.") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise DataError(f"--rating-scale {text!r}: give two finite numbers, e.g. 0.5,5.")
    if not low < high:
        raise DataError(f"--rating-scale {text!r}: the low end must be below the high end.")
    return low, high
