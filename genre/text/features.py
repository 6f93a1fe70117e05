"""Text of each movie, and the bag-of-words / TF-IDF vectorizers that turn it into features.

Text fields
    ``overview`` (the TMDB plot overview), ``tags`` (the movie's MovieLens tags joined
    with spaces; empty for most movies) or ``overview+tags`` (both).

Vectorizers are fitted on training text only (inside the model pipeline), so the
vocabulary and the IDF weights never see validation or test movies. ``min_df`` drops
words in too few training overviews (mostly names), ``max_df`` words in too many
(stop words), as in the tutorial (``min_df=10, max_df=0.8``); both are tuned on the
validation part by ``genre train``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from recsys.errors import DataError, InvalidParameterError

__all__ = ["FEATURES", "TEXT_FIELDS", "make_vectorizer", "movie_texts"]

TEXT_FIELDS = ("overview", "tags", "overview+tags")
FEATURES = ("tfidf", "bow")

TextField = Literal["overview", "tags", "overview+tags"]


def movie_texts(frame: pd.DataFrame, field: TextField = "overview") -> list[str]:
    """The text of each row of a labelled-set frame.

    Parameters
    ----------
    frame : rows with ``overview`` (str) and ``tags`` (tuple of str) columns.
    field : ``overview``, ``tags`` or ``overview+tags``.

    Raises
    ------
    DataError
        Unknown field, or a column the field needs is missing.

    Examples
    --------
    >>> rows = pd.DataFrame({"overview": ["Toys come alive."], "tags": [("pixar", "funny")]})
    >>> movie_texts(rows, "overview+tags")
    ['Toys come alive. pixar funny']
    """
    if field not in TEXT_FIELDS:
        raise InvalidParameterError(
            "field", f"unknown text field {field!r}; expected one of {', '.join(TEXT_FIELDS)}."
        )
    need = {"overview": ["overview"], "tags": ["tags"], "overview+tags": ["overview", "tags"]}
    absent = [c for c in need[field] if c not in frame.columns]
    if absent:
        raise DataError(
            f"text field {field!r} needs the column(s) {', '.join(absent)}, which the "
            f"data lacks (found {', '.join(map(str, frame.columns))}).",
            parameter="field",
        )
    overview = (
        frame["overview"].fillna("").astype(str).tolist()
        if "overview" in frame
        else [""] * len(frame)
    )
    tags = [" ".join(t) for t in frame["tags"]] if "tags" in frame else [""] * len(frame)
    if field == "overview":
        return overview
    if field == "tags":
        return tags
    return [f"{o} {t}".strip() for o, t in zip(overview, tags, strict=True)]


def make_vectorizer(
    kind: Literal["tfidf", "bow"] = "tfidf",
    *,
    min_df: int | float = 2,
    max_df: float = 0.8,
    ngram_max: int = 1,
    stop_words: str | None = "english",
    binary: bool = False,
) -> CountVectorizer:
    """A scikit-learn vectorizer: ``TfidfVectorizer`` (sublinear tf) or ``CountVectorizer``.

    Examples
    --------
    >>> vec = make_vectorizer("bow", min_df=1, max_df=1.0)
    >>> vec.fit_transform(["a space ship", "a ship"]).toarray().tolist()
    [[1.0, 1.0], [1.0, 0.0]]
    >>> vec.get_feature_names_out().tolist()
    ['ship', 'space']
    """
    if kind not in FEATURES:
        raise DataError(f"unknown features {kind!r}; expected tfidf or bow.")
    common = {
        "min_df": min_df,
        "max_df": max_df,
        "ngram_range": (1, int(ngram_max)),
        "stop_words": stop_words,
        "strip_accents": "unicode",
        "dtype": np.float64,
    }
    if kind == "tfidf":
        return TfidfVectorizer(sublinear_tf=True, **common)
    return CountVectorizer(binary=binary, **common)
