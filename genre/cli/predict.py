"""``genre predict``: the top-k genres of a movie or a text, with their scores.

Text models (``genre train --model nb|svm|logreg``) score a movie's text or any
``--text``; fused models (``--model fusion|mlp``) score a movie by id from the blocks
of the feature store they were trained on (or ``--features``).
"""

from __future__ import annotations

import argparse

from recsys.cli.framework import UsageError, add_backend_argument
from recsys.errors import RecsysError

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
    what.add_argument("--movie", type=int, metavar="ID", help="MovieLens movie id")
    what.add_argument("--text", metavar="TEXT", help="a plot overview to classify")
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the top-k genres of a movie or a text (text or fused model); return 0."""
    from genre.data.dataset import load_labelled
    from genre.model_dir import load_model
    from genre.text.features import movie_texts
    from recsys.errors import DataError, UnknownIdError

    if args.k < 1:
        raise UsageError(f"-k must be at least 1, received {args.k}.")
    from genre.fusion.model_dir import is_fused_model_dir

    if is_fused_model_dir(args.model):
        return run_fused(args)
    if args.features is not None:
        raise UsageError("--features applies to fused models (genre train --model fusion).")
    model = load_model(args.model)
    field = model.config["text"]
    truth: tuple[str, ...] | None = None
    if args.text is not None:
        if not args.text.strip():
            raise DataError("--text is empty; give the plot overview to classify.")
        texts, label = [args.text], "text"
    else:
        dataset = args.dataset or model.config.get("dataset")
        if not dataset:
            raise UsageError("the model does not record its dataset; pass --dataset DIR.")
        data = load_labelled(dataset)
        model.vocabulary.check_same(data.vocabulary, what=f"the labelled set {dataset!r}")
        rows = data.frame[data.frame["movie_id"] == args.movie]
        if rows.empty:
            raise UnknownIdError(
                f"movie {args.movie} is not in the labelled set {dataset!r}; "
                "check the id or pass --text with its overview."
            )
        texts = movie_texts(rows, field)
        if not texts[0].strip():
            raise DataError(f"movie {args.movie} has no {field} text; use --text.")
        row = rows.iloc[0]
        truth = tuple(row["genres"])
        label = f"movie {args.movie}: {row['title']} [{row['split']}]"
    ranked = model.top_k(texts, args.k)[0]  # checks -k before anything is printed
    kind = "probability" if model.score_kind == "probability" else "SVM decision score"
    print(f"{label}  (scores: {kind}; * = above the genre's validation threshold)")
    vectorizer = model.estimator.pipeline_.named_steps["vectorizer"]
    if vectorizer.transform(texts).nnz == 0:
        print(
            "  note: none of the words is in the model's vocabulary, so these scores "
            "are the model's baseline for an empty text."
        )
    for genre, score, passed in ranked:
        print(f"  {'*' if passed else ' '} {genre:<12} {score:8.4f}")
    if truth is not None:
        print(f"  true genres: {', '.join(truth)}")
    return 0


def run_fused(args: argparse.Namespace) -> int:
    """Top-k genres of a movie from the feature blocks a fused model was trained on."""
    from genre.fusion.block_inputs import load_block_inputs
    from genre.data.dataset import load_labelled
    from genre.fusion.model_dir import load_fused_model
    from recsys.errors import UnknownIdError
    from recsys.features import FeatureStore

    if args.text is not None:
        raise UsageError(
            "a fused model scores movies from their feature blocks; pass "
            "--movie ID instead of --text."
        )
    model = load_fused_model(args.model)
    features = args.features or model.config.get("features")
    if not features:
        raise UsageError("the model does not record its feature store; pass --features DIR.")
    inputs = load_block_inputs(
        FeatureStore(features), model.blocks, [args.movie], require_coverage=False
    )
    present = [n for n, m in inputs.masks.items() if m[0]]
    if not present:
        raise UnknownIdError(
            f"movie {args.movie} has none of the blocks "
            f"{', '.join(model.blocks)} in {features!r}; check the id."
        )
    label, truth = f"movie {args.movie}", None
    dataset = args.dataset or model.config.get("dataset")
    if dataset:
        try:
            data = load_labelled(dataset)
        except RecsysError:
            if args.dataset is not None:  # named by the user: say what is wrong
                raise
            data = None  # the training set is gone: no true genres
        if data is not None:
            model.vocabulary.check_same(data.vocabulary, what=f"the labelled set {dataset!r}")
            rows = data.frame[data.frame["movie_id"] == args.movie]
            if not rows.empty:
                row = rows.iloc[0]
                label += f": {row['title']} [{row['split']}]"
                truth = tuple(row["genres"])
    ranked = model.top_k(inputs, args.k)[0]  # checks -k before anything is printed
    absent = [n for n in model.blocks if n not in present]
    print(
        f"{label}  (scores: probability; * = above the genre's validation threshold; "
        f"blocks present: {', '.join(present)}"
        + (f"; absent: {', '.join(absent)}" if absent else "")
        + ")"
    )
    for genre, score, passed in ranked:
        print(f"  {'*' if passed else ' '} {genre:<12} {score:8.4f}")
    if truth is not None:
        print(f"  true genres: {', '.join(truth)}")
    return 0
