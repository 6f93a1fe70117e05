"""``genre dataset``: build the labelled movie set (text, genres, stratified split)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

from recsys.cli.framework import UsageError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``genre dataset`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "dataset",
        help="build the labelled movie set (movie id, text, genres, train/val/test)",
        description=(
            "Join movie overviews (a CSV or a metadata store) with genre labels, drop "
            "rare genres, and split the movies (not ratings) into train / validation / "
            "test parts with iterative multi-label stratification. A CSV in TMDB's export "
            "layout (id = TMDB id, title, overview, genres as JSON lists of {id, name}) is "
            "read in its own id space: movies keep their TMDB ids, titles and TMDB genre "
            "names, and are tied to MovieLens movies (for MovieLens genres and tags) only "
            "through a links table, never by equal numbers."
        ),
    )
    parser.add_argument(
        "--metadata",
        required=True,
        metavar="STORE_OR_CSV",
        help="CSV with movieId and overview columns (e.g. movies_enriched.csv), a CSV in "
        "TMDB's export layout (id, title, overview, genres), or a metadata store",
    )
    parser.add_argument(
        "--labels",
        choices=("auto", "movielens", "tmdb", "tmdb-mapped"),
        default="auto",
        help="genre labels: movielens (MovieLens genres), tmdb (TMDB genre names as TMDB "
        "gives them: Science Fiction, Family, History, TV Movie, Foreign kept) or "
        "tmdb-mapped (TMDB genres mapped to MovieLens names, those without one dropped); "
        "default auto: tmdb for a TMDB export, movielens otherwise",
    )
    parser.add_argument(
        "--links",
        default=None,
        metavar="FILE",
        help="TMDB export only: a MovieLens links.csv (movieId, tmdbId) tying its TMDB ids "
        "to MovieLens movies (default: the links of --movielens)",
    )
    parser.add_argument(
        "--min-genre-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="drop genres on fewer than this fraction of the training movies (default 0.05)",
    )
    parser.add_argument(
        "--split",
        default="0.8,0.1,0.1",
        metavar="TRAIN,VAL,TEST",
        help="fractions of movies per part (default 0.8,0.1,0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument(
        "--movielens",
        default=None,
        metavar="SPEC",
        help="MovieLens dataset for genres and tags: a name or a path "
        "(default: the bundled ml-latest-small)",
    )
    parser.add_argument("--no-tags", action="store_true", help="do not attach the MovieLens tags")
    parser.add_argument(
        "--out",
        default="genre-dataset",
        metavar="DIR",
        help="output directory (default ./genre-dataset); an existing one "
        "is replaced only if it is a labelled set",
    )
    parser.set_defaults(func=run)


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> ``(0.8, 0.1, 0.1)``; raises UsageError on anything else."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or any(v <= 0 for v in values) or abs(sum(values) - 1) > 1e-6:
        raise UsageError(
            f"--split must be three positive fractions summing to 1, like "
            f"0.8,0.1,0.1; received {text!r}."
        )
    return values


def run(args: argparse.Namespace) -> int:
    """Build and save the labelled set; return 0."""
    from genre.data.dataset import MARKER, build_labelled, save_labelled
    from genre.data.sources import metadata_id_space, read_metadata
    from recsys.data import load_dataset
    from recsys.fileio import check_writable_dir
    from recsys.metadata.fetch import links_from_movies, read_links

    fractions = parse_fractions(args.split)
    out = check_writable_dir(
        args.out,
        what="labelled set",
        marker=MARKER,
        inputs=[args.metadata, args.movielens, args.links],
    )
    space = metadata_id_space(args.metadata)
    if args.links is not None and space != "tmdb":
        raise UsageError(
            f"--links applies to a CSV in TMDB's export layout (an id column of TMDB ids); "
            f"{args.metadata!r} has MovieLens movie ids already."
        )
    movielens = load_dataset(args.movielens)
    links = links_source = None
    if space == "tmdb":
        if args.links is not None:
            links, links_source = read_links(args.links), f"the links table {args.links!r}"
        else:
            links = links_from_movies(movielens.movies)
            links_source = f"the links of {movielens.spec}"
    metadata = read_metadata(
        args.metadata, links=links, links_source=links_source or "the links table"
    )
    labels: Literal["movielens", "tmdb", "tmdb-mapped"] = (
        args.labels if args.labels != "auto" else ("tmdb" if space == "tmdb" else "movielens")
    )
    tags = None if args.no_tags else movielens.read_tags()
    sources = {
        "metadata": str(Path(args.metadata).expanduser().resolve()),
        "movielens": movielens.spec,
        "tags": tags is not None,
    }
    if space == "tmdb":
        sources["links"] = (
            str(Path(args.links).expanduser().resolve()) if args.links else movielens.spec
        )
    data = build_labelled(
        metadata,
        movielens.movies,
        tags=tags,
        labels=labels,
        min_genre_fraction=args.min_genre_fraction,
        fractions=fractions,
        seed=args.seed,
        sources=sources,
        id_space=space,
    )
    save_labelled(data, out)
    m = data.manifest
    print(
        f"labelled set: {m['n_movies']} movies, {len(data.genres)} genres "
        f"({', '.join(data.genres)}); labels {labels}"
    )
    if space == "tmdb":
        print(
            f"movies keep their TMDB ids and titles; {m['n_linked_to_movielens']} of them "
            f"are tied to MovieLens movies through {links_source}"
        )
    if m["dropped_genres"]:
        dropped = ", ".join(f"{g} ({c})" for g, c in m["dropped_genres"].items())
        print(f"dropped genres below {args.min_genre_fraction:g} of the training movies: {dropped}")
    if m["unmapped_tmdb_genres"]:
        unmapped = ", ".join(f"{g} ({c})" for g, c in m["unmapped_tmdb_genres"].items())
        print(f"TMDB genres without a MovieLens name, dropped: {unmapped}")
    reasons = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in m["dropped_movies"].items() if v)
    if reasons:
        print(f"dropped movies ({reasons})")
    counts = m["counts"]
    print(
        f"split (seed {args.seed}): train {counts['train']}, val {counts['val']}, "
        f"test {counts['test']}; {m['n_with_tags']} movies have tags"
    )
    print(f"wrote {out}")
    return 0
