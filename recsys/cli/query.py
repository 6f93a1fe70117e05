"""``recsys predict``, ``recsys recommend`` and ``recsys similar`` on a saved model.

They answer from the model's saved arrays with numpy (:mod:`recsys.models.scoring`)
and never import Keras or a backend (hence no ``--backend`` option). ``recsys predict``
does not import pandas either, unless asked for ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any, Literal

from recsys.errors import DataError, ModelDirError

__all__ = ["register"]

#: Users scored per matrix product by ``recsys recommend --all-users``.
BATCH_USERS = 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict``, ``recommend`` and ``similar`` commands."""
    predict = subparsers.add_parser(
        "predict",
        help="predict a user's rating of a movie",
        description="Predict the rating a user would give a movie.",
    )
    predict.add_argument("--model", required=True, metavar="DIR", help="a trained model")
    predict.add_argument(
        "--user", required=True, help="user id (as in the ratings file: a number or a string)"
    )
    predict.add_argument(
        "--movie", required=True, nargs="+", help="movie id(s), as in the ratings file"
    )
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    predict.set_defaults(func=run_predict, parameter_flags={"directory": "--model"})

    recommend = subparsers.add_parser(
        "recommend",
        help="top-N movies for a user (or for every user)",
        description="Recommend the movies with the highest predicted rating that the user "
        "has not rated in the training data. With --all-users or --users, "
        "write the top-k of many users as CSV (user_id,rank,movie_id,score) "
        "or, with --json, as JSON lines (one object per user); with --out FILE, "
        "to a .csv or .parquet file.",
    )
    recommend.add_argument("--model", required=True, metavar="DIR", help="a trained model")
    who = recommend.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="user id (as in the ratings file: a number or a string)")
    who.add_argument("--all-users", action="store_true", help="every user the model was trained on")
    who.add_argument(
        "--users", metavar="FILE", help="a file of user ids, one per line (blank lines are skipped)"
    )
    recommend.add_argument("-k", type=int, default=10, help="how many (default 10)")
    recommend.add_argument(
        "--min-ratings",
        type=_floor,
        default="auto",
        metavar="N|auto",
        help="only movies with at least N training ratings; auto (default): the rating "
        "count of the least-rated movie among the most-rated ones that hold 80%% of the "
        "training ratings (9 for a model of ml-latest-small's default split); 0: every movie",
    )
    recommend.add_argument("--json", action="store_true", help="machine-readable output")
    recommend.add_argument(
        "--out",
        metavar="FILE",
        help="with --all-users or --users: write user_id,rank,movie_id,score to FILE "
        "(.csv or .parquet, by extension) instead of stdout",
    )
    recommend.set_defaults(func=run_recommend, parameter_flags={"directory": "--model"})

    similar = subparsers.add_parser(
        "similar",
        help="movies closest to a movie in embedding space",
        description="The movies whose learned embeddings have the highest cosine similarity.",
    )
    similar.add_argument("--model", required=True, metavar="DIR", help="a trained model")
    similar.add_argument(
        "--movie", required=True, help="movie id (as in the ratings file: a number or a string)"
    )
    similar.add_argument("-k", type=int, default=10, help="how many (default 10)")
    similar.add_argument(
        "--min-ratings",
        type=_floor,
        default="auto",
        metavar="N|auto",
        help="only movies with at least N training ratings (their embeddings are not "
        "mostly noise); auto (default) as for recommend; 0: every movie",
    )
    similar.add_argument("--json", action="store_true", help="machine-readable output")
    similar.set_defaults(func=run_similar, parameter_flags={"directory": "--model"})


def _floor(text: str) -> int | str:
    """``--min-ratings``: a count >= 0, or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count or auto") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0")
    return value


def _min_ratings(model: Any, args: argparse.Namespace) -> int:
    """The ``--min-ratings`` count for ``model`` (``auto``: its data-chosen floor)."""
    return int(model.rating_floor() if args.min_ratings == "auto" else args.min_ratings)


def _load(directory: str) -> Any:
    from recsys.models.rating_model import RatingModel

    with _train_one_advice():
        return RatingModel.load(directory)


@contextlib.contextmanager
def _train_one_advice() -> Iterator[None]:
    """A missing or foreign model folder: add how to make one."""
    try:
        yield
    except ModelDirError as error:
        if error.parameter != "directory":
            raise
        raise ModelDirError(
            f"{error} Train one with: recsys train --out DIR.", parameter="directory"
        ) from None


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
    print(
        frame.drop(columns=[c for c in ("fallback",) if c in frame.columns]).to_string(
            index=False, float_format=lambda x: f"{x:.4f}"
        )
    )


def run_predict(args: argparse.Namespace) -> int:
    """Print the predicted rating(s): numpy only (pandas only for ``--json``)."""
    import numpy as np

    from recsys.models.persistence import load_ids, load_scorer, load_titles

    with _train_one_advice():
        scorer = load_scorer(args.model)
        ids = load_ids(args.model)
    user = _code(ids.users, args.user, "user")
    movies = [_code(ids.movies, movie, "movie") for movie in args.movie]
    columns = scorer.predict([user] * len(movies), movies)
    known = load_titles(args.model)
    titles = [known.get(int(m)) for m in columns["movie_id"]]
    # string ids: print them as typed (the model holds their codes)
    if ids.users is not None:
        columns["user_id"] = np.asarray([args.user.strip()] * len(movies), dtype=object)
    if ids.movies is not None:
        columns["movie_id"] = np.asarray([m.strip() for m in args.movie], dtype=object)
        titles = [None] * len(movies)  # a string movie id is its own title
    if args.json:
        import pandas as pd

        frame = pd.DataFrame(columns)
        frame.insert(2, "title", titles)
        _print_frame(frame, True)
        return 0
    scale = scorer.rating_scale
    on = "" if scale is None else f" on {scale[0]:g}-{scale[1]:g}"
    if scale is None:
        print("note: this model was trained for ranking; its scores are not ratings")
    for user, movie, title, prediction, fallback in zip(
        columns["user_id"].tolist(),
        columns["movie_id"].tolist(),
        titles,
        columns["prediction"].tolist(),
        columns["fallback"],
        strict=True,
    ):
        note = f"  [{fallback}]" if fallback else ""
        name = f"{title} (movie {movie})" if isinstance(title, str) else f"movie {movie}"
        print(f"user {user} -> {name}: {prediction:.2f}{on}{note}")
    return 0


def run_recommend(args: argparse.Namespace) -> int:
    """Print the top-k recommendations (of one user, or as CSV / JSON lines of many)."""
    if args.out is not None and args.user is not None:
        raise DataError("--out writes the lists of --all-users or --users; drop it for --user.")
    if args.user is None:
        users = None if args.all_users else _read_user_ids(args.users)
        model = _load(args.model)
        codes, names = _user_codes(model, users, args.users)
        if args.out is not None:
            return _recommend_to_file(model, codes, names, args)
        return _recommend_batch(model, codes, names, args)
    model = _load(args.model)
    floor = _min_ratings(model, args)
    user = _code(model.ids_.users, args.user, "user")
    frame = model.ids_.decode_frame(model.recommend(user, args.k, min_ratings=floor))
    if model.ids_.movies is not None and "title" in frame.columns:
        frame = frame.drop(columns="title")  # a string movie id is its own title
    if frame.empty and floor > 0:
        import numpy as np

        most = int(np.bincount(model.seen_.movies).max()) if len(model.seen_.movies) else 0
        raise DataError(
            f"no movie the user has not rated has at least {floor} training "
            f"ratings (the most-rated movie has {most}); lower --min-ratings."
        )
    note = f"user {args.user}: top {len(frame)} movies"
    if floor:
        note += f" with at least {floor} training ratings"
    if len(frame) and frame["fallback"].iloc[0]:
        note += f" [{frame['fallback'].iloc[0]}]"
    clipped = bool(len(frame)) and bool((frame["raw_score"] != frame["score"]).any())
    if not clipped:
        frame = frame.drop(columns="raw_score")
    elif not args.json:
        low, high = model.rating_scale_
        note += (
            f"\n(score is clipped to the rating scale {low:g}-{high:g}; raw_score, the "
            "network's own score, sets the order)"
        )
    _print_frame(frame, args.json, note)
    return 0


def _read_user_ids(file: str) -> list[tuple[int, str]]:
    """The user ids of ``--users FILE``, one per line, as written, with their line
    numbers."""
    with open(file, encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines()
    users = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
    if not users:
        raise DataError(f"{file} holds no user ids; give one user id per line.")
    return users


def _user_codes(
    model: Any, lines: list[tuple[int, str]] | None, file: str | None
) -> tuple[list[int] | None, dict[int, str]]:
    """The model's ids of ``--users FILE`` (``None``: every user) and, for string ids,
    the string to print for each of them. A string id the model never saw gets a
    negative id of its own (``-1``, ``-2``, ...: unknown to the model, so it gets the
    fallback) so that its rows still print under its own name."""
    labels = model.ids_.users
    users = None if lines is None else [text for _, text in lines]
    if labels is not None:
        if users is None:
            everyone = model.user_vocab_.ids
            return None, dict(zip(everyone.tolist(), labels.decode(everyone).tolist(), strict=True))
        codes = [int(c) for c in labels.encode(users, missing="negative")]
        unknown = iter(range(-1, -len(codes) - 1, -1))
        codes = [c if c > 0 else next(unknown) for c in codes]
        return codes, dict(zip(codes, users, strict=True))
    if lines is None:
        return None, {}
    codes = []
    for number, text in lines:
        try:
            codes.append(int(text))
        except ValueError:
            raise DataError(
                f"{file} line {number}: {text[:40]!r} is not a user id of this model, "
                "whose user ids are integers; give one integer user id per line."
            ) from None
    return codes, {}


def _code(
    labels: Any, text: str, entity: str, *, missing: Literal["error", "negative"] = "negative"
) -> int:
    """The model's id of ``--user``/``--movie`` ``text``: the code of a string id (``-1``
    for one the model never saw, unless ``missing="error"``), or the integer."""
    text = str(text).strip()
    if labels is not None:
        return int(labels.encode([text], missing=missing)[0])
    try:
        return int(text)
    except ValueError:
        raise DataError(
            f"--{entity} {text!r}: this model's {entity} ids are integers; give one of them."
        ) from None


#: The file formats of ``recommend --out``, by extension.
OUT_FORMATS = (".csv", ".parquet")


def _recommend_to_file(
    model: Any, users: list[int] | None, names: dict[int, str], args: argparse.Namespace
) -> int:
    """``--out FILE``: every list as one frame, written atomically as CSV or Parquet."""
    from pathlib import Path

    from recsys.fileio import atomic_write, check_writable_file

    if args.k < 1:
        raise DataError(f"-k must be 1 or more, got {args.k}.")
    suffix = Path(args.out).suffix.lower()
    if suffix not in OUT_FORMATS:
        raise DataError(
            f"--out {args.out!r}: give a file ending in .csv or .parquet (got {suffix or 'none'})."
        )
    check_writable_file(args.out)
    frame = model.recommend_frame(
        users, args.k, min_ratings=_min_ratings(model, args), block=BATCH_USERS
    )
    if names:
        frame["user_id"] = frame["user_id"].map(names)
    if model.ids_.movies is not None:
        frame["movie_id"] = model.ids_.movies.decode(frame["movie_id"].to_numpy())
    with atomic_write(args.out, mode="wb", encoding=None) as handle:
        if suffix == ".csv":
            frame.to_csv(handle, index=False, float_format="%.6g")
        else:
            frame.to_parquet(handle, index=False)
    n_users = frame["user_id"].nunique() if len(frame) else 0
    print(
        f"recsys recommend: top {args.k} of {n_users:,} users ({len(frame):,} rows) -> {args.out}"
    )
    if "fallback" in frame.columns:
        unknown = frame.loc[frame["fallback"].astype(bool), "user_id"].nunique()
        print(
            f"recsys recommend: note: {unknown:,} user(s) unknown to the model got the "
            "movie baseline (mean + movie bias)",
            file=sys.stderr,
        )
    return 0


def _recommend_batch(
    model: Any, users: list[int] | None, names: dict[int, str], args: argparse.Namespace
) -> int:
    """``--all-users`` / ``--users``: the top-k of each user, CSV or JSON lines on stdout,
    written block by block as the users are scored."""
    if args.k < 1:
        raise DataError(f"k must be at least 1, got {args.k}.")
    out = sys.stdout
    if not args.json:
        out.write("user_id,rank,movie_id,score\n")
    block: list[str] = []
    unknown = 0
    movie_labels = model.ids_.movies
    for user, movies, scores, fallback in model.recommend_all(
        users, args.k, min_ratings=_min_ratings(model, args), block=BATCH_USERS
    ):
        unknown += bool(fallback)
        shown_user: int | str = names.get(user, user)
        shown_movies = (
            movies.tolist() if movie_labels is None else movie_labels.decode(movies).tolist()
        )
        if args.json:
            block.append(
                json.dumps(
                    {
                        "user_id": shown_user,
                        "movie_ids": shown_movies,
                        "scores": [round(s, 6) for s in scores.tolist()],
                        **({"fallback": fallback} if fallback else {}),
                    }
                )
            )
        else:
            block.extend(
                f"{_csv(shown_user)},{rank},{_csv(movie)},{score:.4f}"
                for rank, (movie, score) in enumerate(
                    zip(shown_movies, scores.tolist(), strict=True), 1
                )
            )
        if len(block) >= 8192:
            out.write("\n".join(block) + "\n")
            block.clear()
    if block:
        out.write("\n".join(block) + "\n")
    if unknown:
        from recsys.models.scoring import FALLBACK_USER

        print(
            f"recsys recommend: note: {unknown:,} user(s) unknown to the model got the "
            f"{FALLBACK_USER.split(': ', 1)[1]}",
            file=sys.stderr,
        )
    return 0


def _csv(value: int | str) -> str:
    """A CSV field: string ids with a comma or quote are quoted."""
    text = str(value)
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def run_similar(args: argparse.Namespace) -> int:
    """Print the most similar movies."""
    model = _load(args.model)
    floor = _min_ratings(model, args)
    movie = _code(model.ids_.movies, args.movie, "movie", missing="error")
    frame = model.ids_.decode_frame(model.similar_movies(movie, args.k, min_ratings=floor))
    if model.ids_.movies is not None and "title" in frame.columns:
        frame = frame.drop(columns="title")  # a string movie id is its own title
    name = _title(model, movie) or f"movie {args.movie}"
    among = f" (among movies with at least {floor} training ratings)" if floor else ""
    _print_frame(frame, args.json, f"movies closest to {name}{among}:")
    return 0
