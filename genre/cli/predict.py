"""``genre predict``: the top-k genres of a movie or a text, with their scores.

Text models (``genre train --model nb|svm|logreg``) score a movie's text or any
``--text``; fused models (``--model fusion|mlp``) score a movie by id from the blocks
of the feature store they were trained on (or ``--features``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from genre.model_dir import read_config
from recsys.cli.framework import UsageError, add_backend_argument
from recsys.errors import ModelDirError, RecsysError

if TYPE_CHECKING:
    from genre.fusion.model import FusionClassifier
    from genre.text.classifier import GenreTextClassifier

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``genre predict`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "predict",
        help="top-k genres of a movie (by id) or of a text",
        description=(
            "Print the k highest-scored genres with their probabilities (nb, logreg) or "
            "SVM decision scores (svm), and whether each passes its validation threshold. "
            "Fused models (fusion, mlp) take --movie only and read its features from the "
            "feature store. Only load model directories you trust."
        ),
    )
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="model directory written by 'genre train'"
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--movie",
        type=int,
        metavar="ID",
        help="movie id in the labelled set's id space: the MovieLens movie id, or the TMDB "
        "id for a set built from a TMDB export",
    )
    what.add_argument("--text", metavar="TEXT", help="a plot overview to classify")
    what.add_argument(
        "--poster", metavar="FILE", help="a poster image to classify (poster-cnn models)"
    )
    what.add_argument(
        "--input",
        metavar="FILE",
        help="score every row of a CSV file: texts (text models; see --text-column), "
        "movie ids (fused models; see --id-column) or posters (poster-cnn models: a "
        "poster column, or movie ids looked up in the model's posters folder; see "
        "--poster-column); needs --out",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="with --input: the CSV to write (the id column if any, score_<genre> per "
        "genre, genres above their thresholds joined by |, top_genre)",
    )
    parser.add_argument(
        "--text-column",
        metavar="NAME",
        help="with --input and a text model: the text column (default: the model's "
        "field, overview and/or tags)",
    )
    parser.add_argument(
        "--poster-column",
        metavar="NAME",
        help="with --input and a poster-cnn model: the column of poster files, relative "
        "to the input file's folder (default: poster, poster_file or path, the first "
        "present; else movie ids)",
    )
    parser.add_argument(
        "--id-column",
        metavar="NAME",
        help="with --input: the movie-id column (default: movie_id, movieId, id or "
        "tmdb_id, the first present; fused models need one)",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        metavar="DIR",
        help="labelled set to look --movie up in (default: the one the model was trained on)",
    )
    parser.add_argument(
        "--features",
        default=None,
        metavar="FEATURES_DIR",
        help="fused models: feature store to read the movie from (default: "
        "the one the model was trained on)",
    )
    parser.add_argument("-k", type=int, default=3, help="number of genres (default 3)")
    add_backend_argument(parser)  # fused models only; a text model never loads Keras
    parser.set_defaults(
        func=run,
        parameter_flags={
            "path": "--model",
            "movie_id": "--movie",
            "text_column": "--text-column",
            "id_column": "--id-column",
        },
    )


def run(args: argparse.Namespace) -> int:
    """Print the top-k genres of a movie or a text (text or fused model); return 0."""
    from genre.workflows import load_genre_model

    if args.k < 1:
        raise UsageError(f"-k must be at least 1, received {args.k}.")
    if (args.input is None) != (args.out is None):
        raise UsageError("--input and --out go together: the file to score and the CSV to write.")
    if args.input is None and (args.text_column or args.id_column or args.poster_column):
        raise UsageError("--text-column, --id-column and --poster-column apply to --input FILE.")
    if args.input is not None:
        from recsys.fileio import check_writable_file

        check_writable_file(args.out, what="output", inputs=[args.input])  # before any work
    from genre.text.classifier import GenreTextClassifier

    try:
        model = load_genre_model(args.model)
    except ModelDirError as error:
        if error.parameter != "path":
            raise
        raise ModelDirError(
            f"{error} Train one with: genre train --dataset DIR --out MODEL_DIR.",
            parameter="path",
        ) from None
    config = read_config(args.model)
    if config.get("kind") == "poster" or args.poster is not None:
        from genre.cli.poster import run_poster_predict

        return run_poster_predict(args, model, config)
    if args.input is not None:
        return run_batch(args, model, config)
    if isinstance(model, GenreTextClassifier):
        return run_text(args, model, config)
    return run_fused(args, model, config)


def run_batch(args: argparse.Namespace, model: Any, config: dict[str, Any]) -> int:
    """Score every row of ``--input`` and write the table to ``--out``."""
    from genre.batch import predict_table, read_table, write_table

    if args.poster_column is not None:
        raise UsageError("--poster-column applies to poster-cnn models.")
    frame = read_table(args.input)
    features = args.features or config.get("features")
    if "text" not in config and not features:
        raise UsageError("the model does not record its feature store; pass --features DIR.")
    table, unscored = predict_table(
        model,
        frame,
        text_column=args.text_column,
        id_column=args.id_column,
        features=features,
        text_field=config.get("text", "overview"),
    )
    write_table(table, args.out)
    note = f" ({unscored:,} with nothing to score: empty text or no feature block)"
    print(f"scored {len(table):,} rows{note if unscored else ''} -> {args.out}")
    return 0


def run_text(args: argparse.Namespace, model: GenreTextClassifier, config: dict[str, Any]) -> int:
    """Top-k genres of a text, or of a movie's text, from a text model."""
    from genre.data.dataset import load_labelled
    from genre.data.labels import GenreVocabulary
    from genre.text.features import movie_texts
    from genre.workflows import find_movie
    from recsys.errors import DataError

    if args.features is not None:
        raise UsageError("--features applies to fused models (genre train --model fusion).")
    field = config["text"]
    truth: tuple[str, ...] | None = None
    if args.text is not None:
        if not args.text.strip():
            raise UsageError("--text is empty; give the plot overview to classify.")
        texts, label = [args.text], "text"
    else:
        dataset = args.dataset or config.get("dataset")
        if not dataset:
            raise UsageError("the model does not record its dataset; pass --dataset DIR.")
        data = load_labelled(dataset)
        GenreVocabulary(model.genres_).check_same(
            data.vocabulary, what=f"the labelled set {dataset!r}"
        )
        rows = find_movie(data, args.movie, where=f"{dataset!r} ({_space(data)} ids)")
        texts = movie_texts(rows, field)
        if not texts[0].strip():
            raise DataError(f"movie {args.movie} has no {field} text; use --text.")
        row = rows.iloc[0]
        truth = tuple(row["genres"])
        label = f"{_space(data)} movie {args.movie}: {row['title']} [{row['split']}]"
    ranked = model.top_k(texts, args.k)[0]  # checks -k before anything is printed
    kind = "probability" if model.score_kind_ == "probability" else "SVM decision score"
    print(f"{label}  (scores: {kind}; * = above the genre's validation threshold)")
    if model.known_term_counts(texts)[0] == 0:
        print(
            "  note: none of the words is in the model's vocabulary, so these scores "
            "are the model's baseline for an empty text."
        )
    width = max(12, *(len(genre) for genre, _, _ in ranked))  # TMDB names are longer
    for genre, score, passed in ranked:
        print(f"  {'*' if passed else ' '} {genre:<{width}} {score:8.4f}")
    if truth is not None:
        print(f"  true genres: {', '.join(truth)}")
    return 0


def run_fused(args: argparse.Namespace, model: FusionClassifier, config: dict[str, Any]) -> int:
    """Top-k genres of a movie from the feature blocks a fused model was trained on."""
    from genre.data.dataset import load_labelled
    from genre.data.labels import GenreVocabulary
    from genre.fusion.block_inputs import load_block_inputs
    from recsys.errors import UnknownIdError
    from recsys.features import FeatureStore

    if args.text is not None:
        raise UsageError(
            "a fused model scores movies from their feature blocks; pass "
            "--movie ID instead of --text."
        )
    features = args.features or config.get("features")
    if not features:
        raise UsageError("the model does not record its feature store; pass --features DIR.")
    inputs = load_block_inputs(
        FeatureStore(features), model.blocks_, [args.movie], require_coverage=False
    )
    present = [n for n, m in inputs.masks.items() if m[0]]
    if not present:
        raise UnknownIdError(
            f"movie {args.movie} has none of the blocks "
            f"{', '.join(model.blocks_)} in {features!r}; check the id."
        )
    label, truth = f"movie {args.movie}", None
    dataset = args.dataset or config.get("dataset")
    if dataset:
        try:
            data = load_labelled(dataset)
        except RecsysError:
            if args.dataset is not None:  # named by the user: say what is wrong
                raise
            data = None  # the training set is gone: no true genres
        if data is not None:
            GenreVocabulary(model.genres_).check_same(
                data.vocabulary, what=f"the labelled set {dataset!r}"
            )
            rows = data.frame[data.frame["movie_id"] == args.movie]
            label = f"{_space(data)} {label}"
            if not rows.empty:
                row = rows.iloc[0]
                label += f": {row['title']} [{row['split']}]"
                truth = tuple(row["genres"])
    ranked = model.top_k(inputs, args.k)[0]  # checks -k before anything is printed
    absent = [n for n in model.blocks_ if n not in present]
    print(
        f"{label}  (scores: probability; * = above the genre's validation threshold; "
        f"blocks present: {', '.join(present)}"
        + (f"; absent: {', '.join(absent)}" if absent else "")
        + ")"
    )
    width = max(12, *(len(genre) for genre, _, _ in ranked))  # TMDB names are longer
    for genre, score, passed in ranked:
        print(f"  {'*' if passed else ' '} {genre:<{width}} {score:8.4f}")
    if truth is not None:
        print(f"  true genres: {', '.join(truth)}")
    return 0


def _space(data: Any) -> str:
    """``TMDB`` or ``MovieLens``: whose ids a labelled set's movie ids are."""
    return "TMDB" if data.id_space == "tmdb" else "MovieLens"
