"""``genre explore``: genre counts, co-occurrence, co-clustering and decades (PNG + CSV)."""

from __future__ import annotations

import argparse

__all__ = ["MARKER", "register", "run"]

#: The file that marks a directory as a ``genre explore`` output it may replace.
MARKER = "coclusters.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``genre explore`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "explore",
        help="genre counts, co-occurrence heatmap, co-clustering and decades",
        description=(
            "Write genre_counts, cooccurrence, cooccurrence_coclustered and "
            "genres_by_decade as CSV and PNG files (all movies of the labelled set)."
        ),
    )
    parser.add_argument(
        "--dataset", required=True, metavar="DIR", help="labelled set written by 'genre dataset'"
    )
    parser.add_argument(
        "--clusters",
        type=int,
        default=4,
        help="number of genre groups for spectral co-clustering (default 4)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the co-clustering (default 0)")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output directory (an existing one is replaced only if it is "
        "a 'genre explore' output)",
    )
    parser.set_defaults(func=run, parameter_flags={"n_clusters": "--clusters"})


def run(args: argparse.Namespace) -> int:
    """Write genre counts, co-occurrence, co-clusters, decades (CSV + PNG); return 0."""
    import pandas as pd

    from genre.analysis import plots
    from genre.analysis.cooccurrence import cocluster, cooccurrence_matrix, genres_by_decade
    from genre.data.dataset import SPLITS, load_labelled
    from recsys.fileio import atomic_directory, check_writable_dir

    out = check_writable_dir(
        args.out, what="genre exploration", marker=MARKER, inputs=[args.dataset]
    )
    data = load_labelled(args.dataset)
    genres = list(data.genres)
    Y = data.Y()
    C = cooccurrence_matrix(Y)
    clusters = cocluster(C, args.clusters, seed=args.seed)
    order = clusters.order
    groups = clusters.groups(genres)
    counts = pd.DataFrame(
        {"genre": genres, "movies": Y.sum(axis=0), "fraction": Y.mean(axis=0).round(4)}
        | {s: data.Y(s).sum(axis=0) for s in SPLITS}
    )
    matrix = pd.DataFrame(C, index=pd.Index(genres, name="genre"), columns=genres)
    reordered = matrix.iloc[order, order]
    cluster_table = pd.DataFrame(
        {
            "genre": [genres[j] for j in order],
            "cluster": [i for i, g in enumerate(groups) for _ in g],
        }
    )
    decades = genres_by_decade(data.frame, genres)
    with atomic_directory(out, marker=MARKER, what="genre exploration") as tmp:
        counts.to_csv(tmp / "genre_counts.csv", index=False)
        matrix.to_csv(tmp / "cooccurrence.csv")
        reordered.to_csv(tmp / "cooccurrence_coclustered.csv")
        cluster_table.to_csv(tmp / MARKER, index=False)
        decades.to_csv(tmp / "genres_by_decade.csv")
        n = len(data.frame)
        plots.bar_chart(
            counts.set_index("genre")["movies"],
            tmp / "genre_counts.png",
            title=f"Movies per genre ({n} movies)",
        )
        plots.heatmap(
            C,
            genres,
            tmp / "cooccurrence.png",
            title="Genre co-occurrence (movies with both genres)",
        )
        plots.heatmap(
            reordered.to_numpy(),
            list(reordered.index),
            tmp / "cooccurrence_coclustered.png",
            title=f"Co-occurrence, spectral co-clustering ({len(groups)} groups)",
            groups=[len(g) for g in groups],
        )
        plots.decade_heatmap(
            decades, tmp / "genres_by_decade.png", title="Genres by release decade"
        )
    print(
        f"{len(data.frame)} movies, {len(genres)} genres; most common: "
        + ", ".join(
            f"{g} ({c})"
            for g, c in counts.sort_values("movies", ascending=False)
            .head(3)[["genre", "movies"]]
            .itertuples(index=False)
        )
    )
    print("co-clustered genre groups: " + " | ".join(", ".join(g) for g in groups))
    if clusters.note:
        print(f"note: {clusters.note}.")
    print(
        f"wrote {out} (genre_counts, cooccurrence, cooccurrence_coclustered, coclusters, "
        "genres_by_decade: .csv and .png)"
    )
    return 0
