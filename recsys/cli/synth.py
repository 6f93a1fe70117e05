"""``recsys synth``: write a synthetic MovieLens-layout dataset with a planted structure."""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` command."""
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic MovieLens-layout dataset of any size",
        description="Write ratings.csv and movies.csv in the ml-latest layout, drawn from "
        "planted latent factors, user and movie biases and power-law user "
        "activity and movie popularity, plus planted.npz with the truth. Train "
        "on it with `recsys train --data DIR`. Example (ml-25m shape): recsys "
        "synth --users 162541 --movies 59047 --ratings 25000095 --out synth-25m",
    )
    parser.add_argument("--users", type=int, required=True, help="number of users")
    parser.add_argument("--movies", type=int, required=True, help="number of movies")
    parser.add_argument(
        "--ratings", type=int, required=True, help="number of ratings (distinct user-movie pairs)"
    )
    parser.add_argument(
        "--factors",
        type=int,
        help=f"dimension of the planted factors (default {_default('factors')})",
    )
    parser.add_argument(
        "--noise",
        type=float,
        help=f"standard deviation of the rating noise (default {_default('noise')})",
    )
    parser.add_argument("--seed", type=int, help=f"random seed (default {_default('seed')})")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="directory to write; an existing one is replaced (atomically) "
        "only if it is a previous 'recsys synth' output",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(
        func=run,
        parameter_flags={"n_users": "--users", "n_movies": "--movies", "n_ratings": "--ratings"},
    )


def _default(name: str) -> Any:
    """The default of a :class:`~recsys.data.synth.SynthSpec` field."""
    from recsys.data.synth import SynthSpec

    return next(f.default for f in dataclasses.fields(SynthSpec) if f.name == name)


def run(args: argparse.Namespace) -> int:
    """Generate and write the dataset; print where it went."""
    from recsys.data.synth import SynthSpec, write_synthetic

    given = {
        k: getattr(args, k) for k in ("factors", "noise", "seed") if getattr(args, k) is not None
    }
    spec = SynthSpec(n_users=args.users, n_movies=args.movies, n_ratings=args.ratings, **given)
    spec.check()
    started = time.perf_counter()
    out = write_synthetic(spec, args.out, progress=not args.quiet)
    if not args.quiet:
        print(
            f"wrote {spec.n_ratings:,} ratings of {spec.n_users:,} users on "
            f"{spec.n_movies:,} movies to {out} in {time.perf_counter() - started:.1f} s"
        )
    return 0
