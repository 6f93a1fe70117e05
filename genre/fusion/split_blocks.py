"""Feature blocks fitted on the training part of a labelled set.

The blocks of ``recsys features build`` know nothing of a genre split. The blocks here
are fitted on the **training movies of one labelled set** (vocabularies, SVD, fill
values, stacked models), then computed for every movie of the set:

=================  =====================================================================
block              content
=================  =====================================================================
``tfidf_svd``      TruncatedSVD (LSA) of TF-IDF word n-grams of the overview: the
                   vectorizer and the SVD are fitted on the training overviews
``text_scores``    stacked classical scores: one logit per genre of a TF-IDF logistic
                   regression (overview + tags). Training movies get **out-of-fold**
                   scores (K folds within the training part: a movie's score comes from
                   a model that never saw its labels); validation and test movies get
                   the scores of a model fitted on all training movies
``metadata``       numeric metadata: release year, runtime, TMDB vote average, TMDB vote
                   count and MovieLens number of ratings (both ``log1p``); a missing
                   value is filled with the training median and flagged in its own
                   ``*_missing`` column
``tags``           TruncatedSVD of TF-IDF of the MovieLens user tags (fitted on the
                   training movies' tags); movies without tags are masked
=================  =====================================================================

Only ``text_scores`` uses genre labels, and only the training part's, out of fold: a
block from the labels of validation or test movies is never made (:func:`split_blocks`
receives the labels of the training part only). Every block records in its provenance
the :func:`split_fingerprint` of the training part it was fitted on (its movie ids,
labels and genre order); :func:`check_split_blocks` refuses to evaluate on a labelled
set whose training part differs (its validation or test movies could have been training
movies of the block, and the stacked scores would then hold their labels).

The blocks are written to a feature store (:func:`write_split_blocks`, ``genre blocks``)
and read back like any other block, with the same provenance checks; movies outside the
labelled set have none (the fused model masks them).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from genre.data.dataset import LabelledSet
from genre.text.features import make_vectorizer, movie_texts
from recsys.errors import DataError, InvalidParameterError
from recsys.features.store import FeatureBlock

__all__ = [
    "SPLIT_BLOCKS",
    "STACK_DEFAULTS",
    "check_split_blocks",
    "metadata_block",
    "numeric_metadata",
    "out_of_fold_scores",
    "split_blocks",
    "split_fingerprint",
    "stacked_scores_block",
    "tags_block",
    "tfidf_svd_block",
    "write_split_blocks",
]

#: The blocks this module makes, in their default order.
SPLIT_BLOCKS = ("tfidf_svd", "text_scores", "metadata", "tags")
#: Settings of the stacked classical model (TF-IDF + logistic regression).
STACK_DEFAULTS: dict[str, Any] = {
    "model": "logreg",
    "text": "overview+tags",
    "C": 1.0,
    "min_df": 2,
    "ngram_max": 2,
    "folds": 5,
}
#: Provenance key holding the fingerprint of the training part a block was fitted on.
FINGERPRINT_KEY = "labelled_set_train"
_METADATA_COLUMNS = ("year", "runtime", "vote_average", "log_vote_count", "log_n_ratings")


def split_fingerprint(data: LabelledSet) -> str:
    """A short hash of the training part: genre order, movie ids and their labels.

    Validation and test movies (their ids and labels) do not enter it.

    >>> from genre.data.dataset import build_labelled
    >>> meta = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": "", "year": pd.NA,
    ...                      "overview": ["a", "b", "c", "d"], "tmdb_genres": [()] * 4})
    >>> ml = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": "T", "year": 1995,
    ...                    "genres": [("Comedy",), ("Drama",)] * 2})
    >>> len(split_fingerprint(build_labelled(meta, ml, fractions=(0.5, 0.25, 0.25),
    ...                                      min_genre_fraction=0.0)))
    16
    """
    train = data.part("train")
    digest = hashlib.sha256()
    digest.update("\x1f".join(data.genres).encode())
    digest.update(train["movie_id"].to_numpy(dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(data.Y("train"), dtype=np.uint8).tobytes())
    return digest.hexdigest()[:16]


def _train_rows(data: LabelledSet) -> NDArray[np.bool_]:
    train = data.frame["split"].to_numpy() == "train"
    if not train.any():
        raise DataError("the labelled set has no training movie; rebuild it.")
    return train


def _provenance(data: LabelledSet, content: str, **settings: Any) -> dict[str, Any]:
    return {
        "content": content,
        "fitted_on": "training movies of the labelled set",
        FINGERPRINT_KEY: split_fingerprint(data),
        "split_seed": data.manifest.get("seed"),
        "genres": list(data.genres),
        **settings,
    }


def _block(
    name: str,
    data: LabelledSet,
    values: ArrayLike,
    mask: ArrayLike,
    provenance: dict[str, Any],
    columns: Sequence[str] | None = None,
) -> FeatureBlock:
    return FeatureBlock.from_arrays(
        name,
        data.frame["movie_id"].to_numpy(dtype=np.int64),
        values,
        mask=mask,
        provenance=provenance,
        columns=columns,
    )


def _svd_of_tfidf(
    texts: list[str],
    train: NDArray[np.bool_],
    *,
    n_components: int,
    min_df: int,
    ngram_max: int,
    seed: int,
) -> tuple[NDArray[np.float32], NDArray[np.bool_], dict[str, Any]]:
    from sklearn.decomposition import TruncatedSVD

    if n_components < 1:
        raise InvalidParameterError(
            "n_components", f"n_components must be at least 1, received {n_components}."
        )
    vectorizer = make_vectorizer("tfidf", min_df=min_df, max_df=0.8, ngram_max=ngram_max)
    train_texts = [t for t, keep in zip(texts, train, strict=True) if keep]
    try:
        train_matrix = vectorizer.fit_transform(train_texts)
    except ValueError as error:  # empty vocabulary
        raise DataError(f"no word is left to vectorize the training texts ({error}).") from None
    k = min(int(n_components), train_matrix.shape[1] - 1, train_matrix.shape[0] - 1)
    if k < 1:
        raise DataError("too few training texts or words for an SVD of TF-IDF.")
    svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=seed)
    svd.fit(train_matrix)
    matrix = vectorizer.transform(texts)
    present = np.asarray(matrix.getnnz(axis=1) > 0)
    values = svd.transform(matrix).astype(np.float32)
    info = {
        "vocabulary_size": len(vectorizer.vocabulary_),
        "n_components": k,
        "explained_variance": round(float(svd.explained_variance_ratio_.sum()), 4),
    }
    return values, present, info


def tfidf_svd_block(
    data: LabelledSet,
    *,
    text: str = "overview",
    n_components: int = 128,
    min_df: int = 2,
    ngram_max: int = 2,
    seed: int = 0,
    name: str = "tfidf_svd",
) -> FeatureBlock:
    """LSA of the overviews: TF-IDF n-grams, then TruncatedSVD, both fitted on train.

    Returns
    -------
    FeatureBlock of shape (n_movies, n_components); a movie none of whose words is in
    the training vocabulary is masked.
    """
    texts = movie_texts(data.frame, text)  # type: ignore[arg-type]
    values, present, info = _svd_of_tfidf(
        texts,
        _train_rows(data),
        n_components=n_components,
        min_df=min_df,
        ngram_max=ngram_max,
        seed=seed,
    )
    provenance = _provenance(
        data,
        f"TruncatedSVD of TF-IDF word 1-{ngram_max}-grams of the {text} text",
        text=text,
        min_df=min_df,
        ngram_max=ngram_max,
        seed=seed,
        **info,
    )
    return _block(name, data, values, present, provenance)


def tags_block(
    data: LabelledSet,
    *,
    n_components: int = 32,
    min_df: int = 2,
    seed: int = 0,
    name: str = "tags",
) -> FeatureBlock:
    """TruncatedSVD of TF-IDF of the user tags (fitted on the training movies' tags).

    Returns
    -------
    FeatureBlock of shape (n_movies, n_components); movies without a known tag word are
    masked.
    """
    texts = movie_texts(data.frame, "tags")
    values, present, info = _svd_of_tfidf(
        texts,
        _train_rows(data),
        n_components=n_components,
        min_df=min_df,
        ngram_max=1,
        seed=seed,
    )
    provenance = _provenance(
        data, "TruncatedSVD of TF-IDF of the MovieLens user tags", min_df=min_df, seed=seed, **info
    )
    return _block(name, data, values, present, provenance)


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q) - np.log1p(-q)


def out_of_fold_scores(
    texts: Sequence[str],
    Y: ArrayLike,
    train: ArrayLike,
    *,
    folds: int = 5,
    seed: int = 0,
    **classifier: Any,
) -> NDArray[np.float64]:
    """Stacked scores: out of fold on the training rows, from a full fit elsewhere.

    Parameters
    ----------
    texts : the text of every movie, length n.
    Y : labels of shape (n_train, n_genres): those of the training rows only, in order
        (the labels of the other rows are never given).
    train : boolean mask of shape (n,), the training rows.
    folds : K of the K-fold split of the training rows (shuffled with ``seed``).
    classifier : :class:`~genre.text.classifier.GenreTextClassifier` parameters.

    Returns
    -------
    ndarray of shape (n, n_genres): scores (logits for probabilistic models, decision
    values for ``svm``). A training row's score comes from the model fitted on the other
    folds; every other row's from the model fitted on all training rows.

    Examples
    --------
    >>> texts = ["alien ship", "alien war", "love story", "love song"] * 5
    >>> Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]] * 4)
    >>> train = np.arange(20) < 16
    >>> scores = out_of_fold_scores(texts, Y, train, folds=4, min_df=1, max_df=1.0)
    >>> scores.shape, bool((scores[:, 0] > scores[:, 1])[[0, 1, 16, 17]].all())
    ((20, 2), True)
    """
    from sklearn.model_selection import KFold

    from genre.text.classifier import GenreTextClassifier

    rows = np.asarray(train, dtype=bool).ravel()
    labels = np.asarray(Y)
    if len(rows) != len(texts) or labels.ndim != 2 or len(labels) != int(rows.sum()):
        raise DataError(
            f"expected labels of shape ({int(rows.sum())}, n_genres) for the training rows "
            f"of {len(texts)} texts, received {labels.shape} and a mask of {len(rows)}."
        )
    if not 2 <= int(folds) <= len(labels):
        raise InvalidParameterError(
            "folds", f"folds must be between 2 and the number of training rows, received {folds}."
        )
    texts = list(texts)
    train_index = np.flatnonzero(rows)
    train_texts = [texts[i] for i in train_index]

    def fit_score(fit_rows: NDArray[np.int64], score_texts: list[str]) -> NDArray[np.float64]:
        model = GenreTextClassifier(random_state=seed, **classifier)
        y = labels[fit_rows]
        # a genre absent from a fold's training rows cannot be fitted: constant score
        fitted = (y.sum(axis=0) > 0) & (y.sum(axis=0) < len(y))
        out = np.full((len(score_texts), labels.shape[1]), -10.0)
        out[:, ~fitted] = np.where(y[:, ~fitted].mean(axis=0) > 0.5, 10.0, -10.0)
        model.fit([train_texts[i] for i in fit_rows], y[:, fitted])
        s = model.scores(score_texts)
        out[:, fitted] = _logit(s) if model.score_kind_ == "probability" else s
        return out

    scores = np.zeros((len(texts), labels.shape[1]))
    splitter = KFold(n_splits=int(folds), shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(train_index):
        scores[train_index[held_rows]] = fit_score(fit_rows, [train_texts[i] for i in held_rows])
    others = np.flatnonzero(~rows)
    if len(others):
        scores[others] = fit_score(np.arange(len(train_index)), [texts[i] for i in others])
    return scores


def stacked_scores_block(
    data: LabelledSet,
    *,
    model: str = STACK_DEFAULTS["model"],
    text: str = STACK_DEFAULTS["text"],
    C: float = STACK_DEFAULTS["C"],
    min_df: int = STACK_DEFAULTS["min_df"],
    ngram_max: int = STACK_DEFAULTS["ngram_max"],
    folds: int = STACK_DEFAULTS["folds"],
    seed: int = 0,
    name: str = "text_scores",
) -> FeatureBlock:
    """Out-of-fold scores of a classical TF-IDF model (see :func:`out_of_fold_scores`).

    Only the training part's labels are read (``data.Y("train")``).

    Returns
    -------
    FeatureBlock of shape (n_movies, n_genres), columns named after the genres.
    """
    texts = movie_texts(data.frame, text)  # type: ignore[arg-type]
    train = _train_rows(data)
    params: dict[str, Any] = {"model": model, "min_df": min_df, "ngram_max": ngram_max}
    params["alpha" if model == "nb" else "C"] = C
    scores = out_of_fold_scores(texts, data.Y("train"), train, folds=folds, seed=seed, **params)
    present = np.array([bool(t.strip()) for t in texts])
    provenance = _provenance(
        data,
        f"stacked per-genre scores of TF-IDF {model} on the {text} text: out of fold "
        f"({folds} folds) for training movies, a model fitted on all training movies "
        "for the others",
        training_labels="out_of_fold",
        text=text,
        folds=folds,
        seed=seed,
        **params,
    )
    return _block(name, data, scores, present, provenance, columns=data.genres)


def numeric_metadata(
    movie_ids: ArrayLike,
    metadata: pd.DataFrame | None = None,
    ratings: pd.DataFrame | None = None,
    years: ArrayLike | None = None,
) -> pd.DataFrame:
    """Raw numeric metadata of ``movie_ids`` (NaN where unknown).

    Parameters
    ----------
    movie_ids : shape (n,)
    metadata : the canonical metadata frame (:func:`recsys.metadata.load_metadata`):
        ``runtime`` (0 is unknown), ``vote_average`` and ``vote_count`` (a vote average
        with no vote is unknown).
    ratings : MovieLens ratings with ``movie_id``; the number of ratings of each movie
        (0 for none).
    years : the release year of each movie.

    Returns
    -------
    DataFrame of shape (n, 5): ``year, runtime, vote_average, log_vote_count,
    log_n_ratings``.

    >>> numeric_metadata([1, 2], ratings=pd.DataFrame({"movie_id": [1, 1, 3]}),
    ...                  years=[1995, None])["log_n_ratings"].round(3).tolist()
    [1.099, 0.0]
    """
    ids = np.asarray(movie_ids, dtype=np.int64).ravel()
    out = pd.DataFrame(index=range(len(ids)), columns=list(_METADATA_COLUMNS), dtype=float)
    if years is not None:
        out["year"] = pd.to_numeric(
            pd.Series(np.asarray(years, dtype=object).ravel()), errors="coerce"
        )
    if metadata is not None:
        meta = metadata.drop_duplicates("movie_id").set_index("movie_id")
        rows = meta.reindex(ids)
        runtime = pd.to_numeric(rows["runtime"], errors="coerce").to_numpy(dtype=float)
        out["runtime"] = np.where(runtime > 0, runtime, np.nan)
        votes = pd.to_numeric(rows.get("vote_count"), errors="coerce").to_numpy(dtype=float)
        average = pd.to_numeric(rows["vote_average"], errors="coerce").to_numpy(dtype=float)
        known_votes = np.isfinite(votes)
        out["vote_average"] = np.where(
            (average > 0) & (~known_votes | (votes > 0)), average, np.nan
        )
        out["log_vote_count"] = np.where(known_votes, np.log1p(np.maximum(votes, 0)), np.nan)
    if ratings is not None:
        counts = ratings["movie_id"].value_counts()
        out["log_n_ratings"] = np.log1p(counts.reindex(ids).fillna(0).to_numpy(dtype=float))
    return out


def metadata_block(
    data: LabelledSet,
    metadata: pd.DataFrame | None = None,
    ratings: pd.DataFrame | None = None,
    *,
    name: str = "metadata",
) -> FeatureBlock:
    """Numeric metadata (:func:`numeric_metadata`), missing values filled with the median
    of the training movies and flagged (one ``<column>_missing`` 0/1 column each).

    Columns nothing is known about (no ``metadata`` or ``ratings`` given, or no training
    movie has them) are left out.

    Raises
    ------
    DataError
        If no column is known for any training movie.
    """
    raw = numeric_metadata(
        data.frame["movie_id"], metadata, ratings, years=data.frame["year"].astype(object)
    )
    train = _train_rows(data)
    kept, values, columns, fills = [], [], [], {}
    for column in raw.columns:
        x = raw[column].to_numpy(dtype=float)
        known = np.isfinite(x)
        if not known[train].any():
            continue
        fill = float(np.median(x[train & known]))
        fills[column] = round(fill, 4)
        kept.append(column)
        values.append(np.where(known, x, fill))
        columns.append(column)
        if not known.all():
            values.append((~known).astype(float))
            columns.append(f"{column}_missing")
    if not kept:
        raise DataError(
            "no numeric metadata is known for the training movies; give a metadata "
            "store or the ratings."
        )
    provenance = _provenance(
        data,
        "numeric metadata: " + ", ".join(kept) + " (missing values: training median, flagged)",
        columns=kept,
        fill_values=fills,
    )
    return _block(name, data, np.column_stack(values), np.ones(len(raw), bool), provenance, columns)


def split_blocks(
    data: LabelledSet,
    names: Sequence[str] = SPLIT_BLOCKS,
    *,
    metadata: pd.DataFrame | None = None,
    ratings: pd.DataFrame | None = None,
    seed: int = 0,
) -> list[FeatureBlock]:
    """Build the blocks ``names`` (of :data:`SPLIT_BLOCKS`) for the movies of ``data``.

    Raises
    ------
    InvalidParameterError
        An unknown block name (``parameter="names"``).
    """
    unknown = [n for n in names if n not in SPLIT_BLOCKS]
    if unknown:
        raise InvalidParameterError(
            "names",
            f"unknown block {unknown[0]!r}; the blocks fitted on a labelled set are "
            f"{', '.join(SPLIT_BLOCKS)}.",
        )
    builders = {
        "tfidf_svd": lambda: tfidf_svd_block(data, seed=seed),
        "text_scores": lambda: stacked_scores_block(data, seed=seed),
        "metadata": lambda: metadata_block(data, metadata, ratings),
        "tags": lambda: tags_block(data, seed=seed),
    }
    return [builders[n]() for n in dict.fromkeys(names)]


def write_split_blocks(store: str | os.PathLike[str], blocks: Sequence[FeatureBlock]) -> Any:
    """Add ``blocks`` to the feature store at ``store`` (see
    :meth:`recsys.features.FeatureStore.write`); returns the store."""
    from recsys.features import FeatureStore

    return FeatureStore.write(store, blocks)


def check_split_blocks(data: LabelledSet, provenance: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse blocks fitted on another training part than ``data``'s.

    Parameters
    ----------
    provenance : block name -> its provenance; blocks without a fitted-on fingerprint
        (the blocks of ``recsys features build``) are not concerned.

    Raises
    ------
    DataError
        Naming the block and how to rebuild it.
    """
    expected: str | None = None
    for name, info in provenance.items():
        found = (info or {}).get(FINGERPRINT_KEY)
        if found is None:
            continue
        expected = expected or split_fingerprint(data)
        if found != expected:
            raise DataError(
                f"block {name!r} was fitted on the training part of another labelled set "
                f"(fingerprint {found}, this set's is {expected}): its validation or test "
                "movies may have been training movies of the block. Rebuild it on this "
                "labelled set (genre.fusion.split_blocks.split_blocks)."
            )
