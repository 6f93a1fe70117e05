"""What a rating model learned about movies: biases, principal factors and a crosstab.

:func:`analyze_model` gathers everything the ``recsys analyze`` report shows into a
:class:`MovieAnalysis`; the building blocks (:mod:`~recsys.analysis.pca`,
:mod:`~recsys.analysis.biases`, :mod:`~recsys.analysis.factors`,
:mod:`~recsys.analysis.crosstab`) can be used on their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.analysis.biases import bias_ranking, bias_summary, spearman
from recsys.analysis.crosstab import rating_crosstab
from recsys.analysis.factors import ComponentContrast, component_ends, end_contrast
from recsys.analysis.movie_stats import (
    STATS_NOTE,
    catalogue,
    most_rated,
    movie_embedding_table,
    movie_rating_stats,
)
from recsys.analysis.pca import PCAResult, fit_pca
from recsys.errors import DataError

__all__ = ["MOVIES_COLUMNS", "ComponentSummary", "MovieAnalysis", "analyze_model"]

#: Leading columns of ``movies.csv`` (followed by ``pc1 .. pcK``).
MOVIES_COLUMNS = ["movie_id", "title", "year", "genres", "n_ratings", "mean_rating", "bias"]

SIGN_NOTE = (
    "Each component's sign is chosen so that its scores correlate positively with "
    "the movies' mean training rating: the top end is the end whose movies are "
    "rated higher on average."
)

#: Bars drawn in the explained-variance plot (at most; the analysed ones highlighted).
VARIANCE_BARS = 10


@dataclass
class ComponentSummary:
    """One principal component: its share of variance, end titles and end contrast.

    Attributes
    ----------
    component : 1-based number.
    explained_variance_ratio : share of the embedding variance it explains.
    ends : DataFrame from :func:`~recsys.analysis.factors.component_ends`.
    contrast : :class:`~recsys.analysis.factors.ComponentContrast` (with a suggested name).
    correlations : Spearman correlation of the scores with ``mean_rating``, ``n_ratings``,
        ``year`` and ``bias`` over the analysed movies (None where undefined).
    """

    component: int
    explained_variance_ratio: float
    ends: pd.DataFrame = field(repr=False)
    contrast: ComponentContrast = field(repr=False)
    correlations: dict[str, float | None] = field(default_factory=dict)

    @property
    def top(self) -> pd.DataFrame:
        """The highest-scoring titles."""
        return self.ends[self.ends["end"] == "top"].drop(columns="end").reset_index(drop=True)

    @property
    def bottom(self) -> pd.DataFrame:
        """The lowest-scoring titles."""
        return self.ends[self.ends["end"] == "bottom"].drop(columns="end").reset_index(drop=True)


@dataclass
class MovieAnalysis:
    """Everything ``recsys analyze`` reports about one model (see :func:`analyze_model`).

    Attributes
    ----------
    model : summary of the model (kind, factors, numbers of users, movies and ratings).
    movies : DataFrame, one row per analysed movie, most rated first: ``movie_id, title,
        year, genres (tuple), n_ratings, mean_rating, raters_mean, bias, pc1 .. pcK``.
    pca : PCAResult of the analysed movies' embeddings.
    variance_ratios : explained-variance ratios of the first (up to 10) components.
    components : one ComponentSummary per kept component.
    bias_top, bias_bottom : bias rankings (None for models without a movie bias).
    bias_stats : :func:`~recsys.analysis.biases.bias_summary` (None without biases).
    crosstab : most active users x most-rated movies (training ratings).
    titles : movie id -> title for every movie the analysis mentions.
    n : titles listed at each end.
    notes : what was clamped or left out, in plain words.
    """

    model: dict[str, Any]
    movies: pd.DataFrame
    pca: PCAResult
    variance_ratios: np.ndarray
    components: list[ComponentSummary]
    bias_top: pd.DataFrame | None
    bias_bottom: pd.DataFrame | None
    bias_stats: dict[str, Any] | None
    crosstab: pd.DataFrame
    titles: dict[int, str]
    n: int
    notes: list[str] = field(default_factory=list)

    def movies_frame(self) -> pd.DataFrame:
        """The ``movies.csv`` table: ``movie_id, title, year, genres ("A|B"), n_ratings,
        mean_rating, bias, pc1 .. pcK`` (bias empty for models without one)."""
        frame = self.movies[MOVIES_COLUMNS + _pc_columns(self.pca.n_components)].copy()
        frame["genres"] = ["|".join(g) for g in frame["genres"]]
        return frame

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``recsys analyze --json``."""
        bias = None
        if self.bias_stats is not None:
            bias = {
                "summary": _clean(self.bias_stats),
                "top": _records(self.bias_top),
                "bottom": _records(self.bias_bottom),
            }
        ratios = [float(r) for r in self.pca.explained_variance_ratio_]
        return {
            "model": _clean(self.model),
            "analysed_movies": len(self.movies),
            "stats_note": STATS_NOTE,
            "notes": list(self.notes),
            "bias": bias,
            "pca": {
                "n_components": self.pca.n_components,
                "explained_variance_ratio": _clean(ratios),
                "cumulative_explained_variance_ratio": _clean(list(np.cumsum(ratios))),
                "sign_convention": SIGN_NOTE,
            },
            "components": [
                {
                    "component": c.component,
                    "explained_variance_ratio": _clean(c.explained_variance_ratio),
                    "suggested_name": c.contrast.suggested_name,
                    "spearman": _clean(c.correlations),
                    "contrast": c.contrast.to_dict(),
                    "top": _records(c.top),
                    "bottom": _records(c.bottom),
                }
                for c in self.components
            ],
            "crosstab": {
                "users": [int(u) for u in self.crosstab.index],
                "movies": [
                    {"movie_id": int(m), "title": self.titles.get(int(m), f"movie {m}")}
                    for m in self.crosstab.columns
                ],
                "ratings": [
                    [None if math.isnan(v) else float(v) for v in row]
                    for row in self.crosstab.to_numpy()
                ],
            },
        }


def _pc_columns(k: int) -> list[str]:
    return [f"pc{i}" for i in range(1, k + 1)]


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/NA to None, floats rounded to 6 digits."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None:
        return []
    return [
        _clean(dict(zip(frame.columns, row, strict=True)))
        for row in frame.itertuples(index=False, name=None)
    ]


def _correlations(table: pd.DataFrame, column: str) -> dict[str, float | None]:
    """Spearman correlation of a score column with the movie facts (None if undefined)."""
    result: dict[str, float | None] = {}
    for other in ("mean_rating", "n_ratings", "year", "bias"):
        values = pd.to_numeric(table[other], errors="coerce").astype("float64")
        known = values.notna().to_numpy()
        rho = spearman(table[column].to_numpy()[known], values.to_numpy()[known])
        result[other] = None if np.isnan(rho) else rho
    return result


def _check_count(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < low:
        raise DataError(f"{name} must be an integer of at least {low}, got {value!r}.")
    return int(value)


def analyze_model(
    model: Any,
    *,
    top_movies: int = 2000,
    n_components: int = 3,
    n: int = 10,
    crosstab_users: int = 15,
    crosstab_movies: int = 15,
) -> MovieAnalysis:
    """Analyse what a fitted rating model learned about movies.

    Parameters
    ----------
    model : a fitted :class:`~recsys.models.rating_model.RatingModel` (any kind).
    top_movies : analyse the movies with the most training ratings (ties: smaller id);
        clamped, with a note, to the movies the model has embeddings for.
    n_components : principal components of the analysed movies' embeddings, from 1 to
        the embedding size.
    n : titles listed at each end of the bias ranking and of each component (clamped to
        half the analysed movies, with a note).
    crosstab_users, crosstab_movies : size of the users x movies rating table.

    Returns
    -------
    MovieAnalysis

    Raises
    ------
    DataError
        If a count is out of range (``n_components`` above the embedding size or not
        below the number of analysed movies, ``top_movies < 2``, ``n < 1``).
    ModelDirError
        If the model has no movie embeddings.

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> from recsys.models.rating_model import RatingModel
    >>> data = load_dataset()
    >>> ratings = data.ratings[data.ratings.user_id <= 100]  # a small, quick model
    >>> model = RatingModel("bias", factors=4, epochs=1).fit(ratings, movies=data.movies)
    >>> analysis = analyze_model(model, top_movies=300, n_components=3)
    >>> len(analysis.movies), [c.component for c in analysis.components]
    (300, [1, 2, 3])
    """
    top_movies = _check_count("top_movies", top_movies, 2)
    n_components = _check_count("n_components", n_components, 1)
    n = _check_count("n", n, 1)
    embeddings = movie_embedding_table(model)
    n_factors = embeddings.shape[1]
    if n_components > n_factors:
        raise DataError(
            f"asked for {n_components} components but the model's embeddings have "
            f"only {n_factors} factors; choose 1 to {n_factors} components."
        )
    notes: list[str] = []
    stats = movie_rating_stats(model)
    catalogue_size = len(stats)
    if top_movies > catalogue_size:
        notes.append(
            f"asked for the {top_movies:,} most-rated movies but the model has "
            f"embeddings for {catalogue_size:,}; analysing all {catalogue_size:,}."
        )
        top_movies = catalogue_size
    if n_components > top_movies - 1:
        raise DataError(
            f"{n_components} components need at least {n_components + 1} analysed "
            f"movies, got {top_movies}; analyse more movies or fewer components."
        )
    if n > top_movies // 2:
        notes.append(
            f"asked for {n} titles at each end but only {top_movies} movies are "
            f"analysed; listing {top_movies // 2} at each end."
        )
        n = top_movies // 2

    ids = most_rated(stats, top_movies)
    table = catalogue(model, ids)
    table = table.join(stats, on="movie_id")
    biases = model.movie_biases()
    table["bias"] = (
        biases.reindex(ids).to_numpy(dtype=np.float64)
        if biases is not None
        else np.full(len(ids), np.nan)
    )
    matrix = embeddings.loc[ids].to_numpy(dtype=np.float64)
    orient = table["mean_rating"].to_numpy(dtype=np.float64)
    pca = fit_pca(matrix, n_components, orient=orient)
    overview = fit_pca(
        matrix, max(n_components, min(VARIANCE_BARS, n_factors, top_movies - 1)), orient=orient
    )
    for i, column in enumerate(_pc_columns(n_components)):
        table[column] = pca.scores_[:, i]

    components = []
    for i in range(n_components):
        components.append(
            ComponentSummary(
                component=i + 1,
                explained_variance_ratio=float(pca.explained_variance_ratio_[i]),
                ends=component_ends(table, i + 1, n),
                contrast=end_contrast(table, i + 1),
                correlations=_correlations(table, f"pc{i + 1}"),
            )
        )
    bias_top = bias_bottom = bias_stats = None
    if biases is not None:
        bias_top, bias_bottom = bias_ranking(table, n)
        bias_stats = bias_summary(table)
    else:
        notes.append(
            f"the {model.kind} model has no movie bias; the bias ranking and bias "
            "plots are left out."
        )
    crosstab = rating_crosstab(model, crosstab_users, crosstab_movies)
    titles_of = catalogue(
        model, np.unique(np.concatenate([ids, np.asarray(crosstab.columns, dtype=np.int64)]))
    )
    titles = dict(zip(titles_of["movie_id"].astype(int), titles_of["title"], strict=True))
    summary = {
        "kind": model.kind,
        "factors": int(n_factors),
        "n_users": len(model.user_vocab_),
        "n_movies": int(catalogue_size),
        "n_training_ratings": int(len(model.seen_.movies)),
        "rating_scale": [float(x) for x in model.rating_scale_],
    }
    columns = [
        "movie_id",
        "title",
        "year",
        "genres",
        "n_ratings",
        "mean_rating",
        "raters_mean",
        "bias",
        *_pc_columns(n_components),
    ]
    return MovieAnalysis(
        model=summary,
        movies=table[columns].reset_index(drop=True),
        pca=pca,
        variance_ratios=overview.explained_variance_ratio_,
        components=components,
        bias_top=bias_top,
        bias_bottom=bias_bottom,
        bias_stats=bias_stats,
        crosstab=crosstab,
        titles=titles,
        n=n,
        notes=notes,
    )
