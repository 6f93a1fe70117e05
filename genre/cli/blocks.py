"""``genre blocks``: add the blocks fitted on a labelled set's training part to a feature
store (TF-IDF SVD, stacked out-of-fold text scores, numeric metadata, user tags)."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``genre blocks`` sub-command to ``subparsers``."""
    from genre.fusion.split_blocks import SPLIT_BLOCKS

    parser = subparsers.add_parser(
        "blocks",
        help="add blocks fitted on the training movies of a labelled set to a feature store",
        description=(
            "Fit on the training movies of a labelled set and add to a feature store: "
            "tfidf_svd (TruncatedSVD of TF-IDF n-grams of the overview), text_scores "
            "(per-genre scores of a TF-IDF logistic regression on overview and tags: out "
            "of fold for training movies, from a model fitted on all training movies "
            "for the others), metadata (year, runtime, TMDB vote average and count, "
            "number of MovieLens ratings; missing values get the training median and a "
            "flag) and tags (TruncatedSVD of TF-IDF of the user tags). Each block "
            "records a fingerprint of the training part: a model evaluated on another "
            "labelled set refuses it."
        ),
    )
    parser.add_argument(
        "--dataset", required=True, metavar="DIR", help="labelled set written by 'genre dataset'"
    )
    parser.add_argument(
        "--features",
        required=True,
        metavar="FEATURES_DIR",
        help="feature store to add the blocks to (created if absent)",
    )
    parser.add_argument(
        "--blocks",
        default=",".join(SPLIT_BLOCKS),
        metavar="LIST",
        help=f"blocks to make (default {','.join(SPLIT_BLOCKS)})",
    )
    parser.add_argument(
        "--metadata",
        metavar="STORE_OR_CSV",
        help="metadata store or CSV for runtime and TMDB votes (metadata block; "
        "default: the labelled set's metadata source)",
    )
    parser.add_argument(
        "--movielens",
        metavar="SPEC",
        help="MovieLens dataset whose ratings are counted (metadata block; default: the "
        "labelled set's, else the bundled ml-latest-small)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the SVDs and folds (default 0)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the blocks and add them to the store; return 0."""
    from genre.data.dataset import load_labelled
    from genre.fusion.split_blocks import split_blocks, write_split_blocks
    from recsys.cli.framework import UsageError
    from recsys.fileio import check_writable_dir

    names = [n.strip() for n in args.blocks.split(",") if n.strip()]
    if not names:
        raise UsageError("--blocks is empty; name at least one block (e.g. text_scores).")
    check_writable_dir(args.features, what="feature store", inputs=[args.dataset])
    data = load_labelled(args.dataset)
    if "metadata" in names and data.id_space != "movielens":
        raise UsageError(
            f"the metadata block joins MovieLens ratings and stored metadata by MovieLens "
            f"movie id, and {args.dataset!r} is keyed by {data.id_space.upper()} id (built "
            "from a TMDB export): leave metadata out of --blocks."
        )
    sources = data.manifest.get("sources") or {}
    metadata = ratings = None
    if "metadata" in names:
        from recsys.data import load_dataset
        from recsys.metadata import load_metadata

        path = args.metadata or sources.get("metadata")
        metadata = load_metadata(path) if path else None
        ratings = load_dataset(args.movielens or sources.get("movielens")).ratings
    blocks = split_blocks(data, names, metadata=metadata, ratings=ratings, seed=args.seed)
    store = write_split_blocks(args.features, blocks)
    for block in blocks:
        print(f"{block.name}: {block.coverage} of {len(block.movie_ids)} movies x {block.dim}")
    print(f"wrote {', '.join(b.name for b in blocks)} to {store.path}")
    return 0
