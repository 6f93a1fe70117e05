"""``recsys predict``, ``recsys recommend`` and ``recsys similar`` on a saved model."""

from __future__ import annotations

import argparse
import json
from typing import Any

from recsys.errors import DataError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``predict``, ``recommend`` and ``similar`` commands."""
    predict = subparsers.add_parser("predict", help="predict a user's rating of a movie",
                                    description="Predict the rating a user would give a movie.")
    predict.add_argument("--model", required=True, metavar="DIR", help="a trained model")
    predict.add_argument("--user", required=True, type=int, help="user id")
    predict.add_argument("--movie", required=True, type=int, nargs="+", help="movie id(s)")
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    predict.set_defaults(func=run_predict)

    recommend = subparsers.add_parser(
        "recommend", help="top-N movies for a user",
        description="Recommend the movies with the highest predicted rating that the user "
                    "has not rated in the training data.")
    recommend.add_argument("--model", required=True, metavar="DIR", help="a trained model")
    recommend.add_argument("--user", required=True, type=int, help="user id")
    recommend.add_argument("-k", type=int, default=10, help="how many (default 10)")
    recommend.add_argument("--min-ratings", type=int, default=0,
                           help="only movies with at least this many training ratings")
    recommend.add_argument("--json", action="store_true", help="machine-readable output")
    recommend.set_defaults(func=run_recommend)

    similar = subparsers.add_parser(
        "similar", help="movies closest to a movie in embedding space",
        description="The movies whose learned embeddings have the highest cosine similarity.")
    similar.add_argument("--model", required=True, metavar="DIR", help="a trained model")
    similar.add_argument("--movie", required=True, type=int, help="movie id")
    similar.add_argument("-k", type=int, default=10, help="how many (default 10)")
    similar.add_argument("--json", action="store_true", help="machine-readable output")
    similar.set_defaults(func=run_similar)


def _load(directory: str) -> Any:
    from recsys.models.rating_model import RatingModel

    return RatingModel.load(directory)


def _title(model: Any, movie_id: int) -> str | None:
    """The movie's title, or ``None`` when the model's catalogue does not know it."""
    if model.movies_ is not None:
        match = model.movies_.loc[model.movies_["movie_id"] == movie_id, "title"]
        if len(match) and isinstance(match.iloc[0], str):
            return str(match.iloc[0])
    return None


def _print_frame(frame: Any, as_json: bool, note: str = "") -> None:
    if as_json:
        print(json.dumps(json.loads(frame.to_json(orient="records")), indent=2))
        return
    if note:
        print(note)
    print(frame.drop(columns=[c for c in ("fallback",) if c in frame.columns])
          .to_string(index=False, float_format=lambda x: f"{x:.4f}"))


def run_predict(args: argparse.Namespace) -> int:
    """Print the predicted rating(s)."""
    model = _load(args.model)
    frame = model.predict_frame([args.user] * len(args.movie), args.movie)
    frame.insert(2, "title", [_title(model, int(m)) for m in frame["movie_id"]])
    if args.json:
        _print_frame(frame, True)
        return 0
    low, high = model.rating_scale_
    for row in frame.itertuples():
        note = f"  [{row.fallback}]" if row.fallback else ""
        movie = (f"{row.title} (movie {row.movie_id})" if isinstance(row.title, str)
                 else f"movie {row.movie_id}")
        print(f"user {row.user_id} -> {movie}: {row.prediction:.2f} on {low:g}-{high:g}{note}")
    return 0


def run_recommend(args: argparse.Namespace) -> int:
    """Print the top-k recommendations."""
    model = _load(args.model)
    frame = model.recommend(args.user, args.k, min_ratings=args.min_ratings)
    if frame.empty and args.min_ratings > 0:
        import numpy as np

        most = int(np.bincount(model.seen_.movies).max()) if len(model.seen_.movies) else 0
        raise DataError(f"no movie the user has not rated has at least {args.min_ratings} training "
                        f"ratings (the most-rated movie has {most}); lower --min-ratings.")
    note = f"user {args.user}: top {len(frame)} movies"
    if len(frame) and frame["fallback"].iloc[0]:
        note += f" [{frame['fallback'].iloc[0]}]"
    _print_frame(frame, args.json, note)
    return 0


def run_similar(args: argparse.Namespace) -> int:
    """Print the most similar movies."""
    model = _load(args.model)
    frame = model.similar_movies(args.movie, args.k)
    _print_frame(frame, args.json,
                 f"movies closest to {_title(model, args.movie) or f'movie {args.movie}'}:")
    return 0
