"""Reading principal components: the movies at each end and how the two ends differ.

For a component ``k`` (a ``pc{k}`` column of the analysed movies table) this module
lists the titles with the highest and lowest scores, and contrasts the two ends -- by
default the top and bottom decile of the analysed movies -- by genre shares (compared
with the base rate of the whole analysed set: the *lift*), median release year, mean
training rating and number of ratings. From that contrast it suggests a short name such
as ``"Drama/older vs Action/newer"``. The name is a data-driven suggestion, not a
verdict: read the titles before adopting it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.errors import DataError

__all__ = [
    "ComponentContrast",
    "EndProfile",
    "component_ends",
    "end_contrast",
    "genre_shares",
]

#: A genre names an end when at least this share of the end has it ...
NAME_MIN_SHARE = 0.15
#: ... and it is this many times more common there than in the analysed set.
NAME_MIN_LIFT = 1.25
#: Year, rating and popularity differences between the ends name a component when they
#: reach this many standard deviations (of the analysed set) ...
NAME_MIN_EFFECT = 0.5
#: ... and at least these absolute differences (years between the median years, rating
#: points between the mean ratings, log of the ratio of the median numbers of ratings).
NAME_MIN_DIFFERENCE = {"year": 5.0, "mean_rating": 0.25, "log_n_ratings": math.log(1.5)}


@dataclass(frozen=True)
class EndProfile:
    """What the movies at one end of a component have in common.

    Attributes
    ----------
    size : number of movies in the end.
    genres : up to three over-represented genres as ``(genre, share, lift)``, by
        decreasing ``share * log(lift)``.
    median_year : median release year (None without years).
    mean_rating : average of the movies' mean training ratings.
    median_n_ratings : median number of training ratings.
    label : the short label used in the suggested name (e.g. ``"Drama/older"``).
    """

    size: int
    genres: list[tuple[str, float, float]]
    median_year: float | None
    mean_rating: float
    median_n_ratings: float
    label: str

    def describe(self) -> str:
        """E.g. ``"38% Drama (x1.6), 9% War (x2.4); median year 1962; mean rating 3.95"``."""
        parts = [
            ", ".join(
                f"{share:.0%} {genre} (x{lift:.1f})" for genre, share, lift in self.genres[:2]
            )
            or "no over-represented genre"
        ]
        if self.median_year is not None:
            parts.append(f"median year {self.median_year:.0f}")
        parts.append(f"mean rating {self.mean_rating:.2f}")
        parts.append(f"median {self.median_n_ratings:.0f} ratings")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "size": self.size,
            "genres": [
                {"genre": g, "share": round(s, 4), "lift": round(lift, 4)}
                for g, s, lift in self.genres
            ],
            "median_year": self.median_year,
            "mean_rating": round(self.mean_rating, 4),
            "median_n_ratings": self.median_n_ratings,
            "label": self.label,
        }


@dataclass(frozen=True)
class ComponentContrast:
    """The contrast between the two ends of one principal component.

    Attributes
    ----------
    component : 1-based component number.
    top, bottom : EndProfile of the highest- and lowest-scoring movies.
    genre_table : DataFrame with ``genre, base_share, top_share, bottom_share, top_lift,
        bottom_lift`` (one row per genre, by decreasing base share).
    differences : top-minus-bottom differences of the median ``year``, the mean
        ``mean_rating`` and the median ``log_n_ratings`` (None where data is missing).
    effects : the same divided by the standard deviation over the analysed set
        ``log_n_ratings`` (None where the data is missing or constant).
    suggested_name : e.g. ``"Drama/older vs Action/newer"``.
    """

    component: int
    top: EndProfile
    bottom: EndProfile
    genre_table: pd.DataFrame = field(repr=False)
    differences: dict[str, float | None]
    effects: dict[str, float | None]
    suggested_name: str

    def describe(self) -> str:
        """``"top end (200 movies): ...; bottom end (200 movies): ..."``."""
        return (
            f"top end ({self.top.size} movies): {self.top.describe()}; "
            f"bottom end ({self.bottom.size} movies): {self.bottom.describe()}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "component": self.component,
            "suggested_name": self.suggested_name,
            "description": self.describe(),
            "top": self.top.to_dict(),
            "bottom": self.bottom.to_dict(),
            "differences": {
                k: (None if v is None else round(v, 4)) for k, v in self.differences.items()
            },
            "effects": {k: (None if v is None else round(v, 4)) for k, v in self.effects.items()},
        }


def _score_column(table: pd.DataFrame, component: int) -> str:
    column = f"pc{component}"
    if column not in table.columns:
        found = [c for c in table.columns if c.startswith("pc")]
        raise DataError(
            f"no column {column!r} in the movies table (it has "
            f"{', '.join(found) or 'no pc columns'}); choose a component from 1 to "
            f"{len(found)}."
        )
    return column


def _ordered(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Row positions by decreasing and by increasing score (ties by movie id)."""
    ids = table["movie_id"].to_numpy()
    scores = table[column].to_numpy(dtype=np.float64)
    return np.lexsort((ids, -scores)), np.lexsort((ids, scores))


def component_ends(table: pd.DataFrame, component: int, n: int = 10) -> pd.DataFrame:
    """The ``n`` highest- and ``n`` lowest-scoring movies of a component.

    Parameters
    ----------
    table : analysed movies with ``movie_id, title, year, genres, mean_rating, n_ratings``
        and ``pc1 .. pcK`` columns (``MovieAnalysis.movies``).
    component : 1-based component number.
    n : titles per end (clamped to half the movies so the ends do not overlap).

    Returns
    -------
    DataFrame with ``end`` (``"top"``/``"bottom"``), ``rank``, ``movie_id``, ``title``,
    ``year``, ``genres`` (``"A|B"``), ``score``, ``mean_rating``, ``n_ratings``; the top
    end by decreasing score, then the bottom end by increasing score.

    Raises
    ------
    DataError
        If ``pc{component}`` is not a column of ``table`` or ``n < 1``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> table = pd.DataFrame({
    ...     "movie_id": range(1, 41), "title": [f"movie {i}" for i in range(1, 41)],
    ...     "year": [1950] * 20 + [2010] * 20, "genres": [("Drama",)] * 20 + [("Comedy",)] * 20,
    ...     "mean_rating": [4.0] * 20 + [3.0] * 20, "n_ratings": [10] * 40,
    ...     "pc1": np.linspace(1, -1, 40)})
    >>> ends = component_ends(table, 1, n=2)
    >>> ends[ends.end == "top"].title.tolist(), ends[ends.end == "bottom"].title.tolist()
    (['movie 1', 'movie 2'], ['movie 40', 'movie 39'])
    """
    column = _score_column(table, component)
    if n < 1:
        raise DataError(f"n must be at least 1, got {n}.")
    n = max(1, min(n, len(table) // 2))
    down, up = _ordered(table, column)
    frames = []
    for end, order in (("top", down[:n]), ("bottom", up[:n])):
        rows = table.iloc[order]
        frames.append(
            pd.DataFrame(
                {
                    "end": end,
                    "rank": np.arange(1, len(rows) + 1),
                    "movie_id": rows["movie_id"].to_numpy(),
                    "title": rows["title"].to_numpy(),
                    "year": rows["year"].to_numpy(),
                    "genres": ["|".join(g) for g in rows["genres"]],
                    "score": rows[column].to_numpy(dtype=np.float64),
                    "mean_rating": rows["mean_rating"].to_numpy(dtype=np.float64),
                    "n_ratings": rows["n_ratings"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def genre_shares(genres: pd.Series) -> pd.Series:
    """Share of movies having each genre (multi-label: shares need not sum to 1).

    >>> genre_shares(pd.Series([("Drama",), ("Drama", "War"), ()])).round(3).to_dict()
    {'Drama': 0.667, 'War': 0.333}
    """
    counts: dict[str, int] = {}
    for item in genres:
        for genre in item:
            counts[genre] = counts.get(genre, 0) + 1
    if not counts or len(genres) == 0:
        return pd.Series(dtype=np.float64, name="share")
    shares = pd.Series(counts, dtype=np.float64, name="share") / len(genres)
    return shares.sort_index()


def _median_year(rows: pd.DataFrame) -> float | None:
    years = pd.to_numeric(rows["year"], errors="coerce").dropna()
    return float(years.median()) if len(years) else None


def _effect(
    top: pd.Series, bottom: pd.Series, base: pd.Series, how: str
) -> tuple[float | None, float | None]:
    """(top - bottom difference of the median or mean, the same in base standard deviations)."""
    top, bottom, base = (
        pd.to_numeric(s, errors="coerce").dropna().astype(np.float64) for s in (top, bottom, base)
    )
    if len(top) == 0 or len(bottom) == 0:
        return None, None
    if how == "median":
        difference = float(top.median() - bottom.median())
    else:
        difference = float(top.mean() - bottom.mean())
    spread = float(base.std(ddof=1)) if len(base) > 1 else 0.0
    return difference, (difference / spread if spread > 0 else None)


def _end_genres(
    shares: pd.Series, base: pd.Series, size: int, min_share: float
) -> list[tuple[str, float, float]]:
    """Over-represented genres of an end, most telling first.

    A genre's weight is ``share * log(lift)``, its term in the Kullback-Leibler
    divergence of the end from the analysed set: it favours genres that are both common
    in the end and much more common there than overall (Adventure at 50% and x2.2
    outranks IMAX at 16% and x4.2).
    """
    picked = []
    for genre, share in shares.items():
        lift = share / base[genre]
        if share >= min_share and round(share * size) >= 2 and lift > 1.0:
            picked.append((str(genre), float(share), float(lift)))
    picked.sort(key=lambda item: (-round(item[1] * math.log(item[2]), 12), item[0]))
    return picked[:3]


_WORDS = {
    "year": ("newer", "older"),
    "mean_rating": ("higher-rated", "lower-rated"),
    "log_n_ratings": ("more-rated", "less-rated"),
}


def _labels(
    top_genres: list[tuple[str, float, float]],
    bottom_genres: list[tuple[str, float, float]],
    differences: dict[str, float | None],
    effects: dict[str, float | None],
) -> tuple[str, str]:
    def genre_of(picked: list[tuple[str, float, float]]) -> list[str]:
        for genre, share, lift in picked:
            if share >= NAME_MIN_SHARE and lift >= NAME_MIN_LIFT:
                return [genre]
        return []

    strong = sorted(
        (
            (abs(v), k)
            for k, v in effects.items()
            if v is not None
            and abs(v) >= NAME_MIN_EFFECT
            and abs(differences[k] or 0.0) >= NAME_MIN_DIFFERENCE[k]
        ),
        reverse=True,
    )[:2]
    top, bottom = genre_of(top_genres), genre_of(bottom_genres)
    for _, key in strong:
        high, low = _WORDS[key]
        positive = effects[key] > 0  # type: ignore[operator]
        top.append(high if positive else low)
        bottom.append(low if positive else high)
    return "/".join(top) or "mixed", "/".join(bottom) or "mixed"


def end_contrast(
    table: pd.DataFrame, component: int, *, end_fraction: float = 0.1, min_end: int = 10
) -> ComponentContrast:
    """Contrast the two ends of a component by genre, year, rating and popularity.

    Parameters
    ----------
    table : analysed movies with ``pc{component}``, ``genres``, ``year``,
        ``mean_rating`` and ``n_ratings`` columns.
    component : 1-based component number.
    end_fraction : share of the analysed movies in each end (default the top and bottom
        decile) ...
    min_end : ... but at least this many movies, and at most half of them.

    Returns
    -------
    ComponentContrast, with a suggested name: for each end, the most telling genre
    (highest ``share * log(lift)``) among those held by at least 15% of the end and at
    least 1.25 times as common there as in the analysed set, followed by up to two of
    ``older/newer``, ``higher-rated/lower-rated`` and ``more-rated/less-rated`` (the
    strongest) when the two ends differ by at least half a standard deviation of the
    analysed set and by a visible amount (5 years, 0.25 rating points, 1.5 times as many
    ratings); ``"mixed"`` when nothing stands out.

    Raises
    ------
    DataError
        If the column is missing or fewer than 2 movies are given.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> table = pd.DataFrame({
    ...     "movie_id": range(1, 41), "title": [f"movie {i}" for i in range(1, 41)],
    ...     "year": [1950] * 20 + [2010] * 20, "genres": [("Drama",)] * 20 + [("Comedy",)] * 20,
    ...     "mean_rating": [4.0] * 20 + [3.0] * 20, "n_ratings": [10] * 40,
    ...     "pc1": np.linspace(1, -1, 40)})
    >>> end_contrast(table, 1).suggested_name
    'Drama/older/higher-rated vs Comedy/newer/lower-rated'
    """
    column = _score_column(table, component)
    if len(table) < 2:
        raise DataError(
            f"need at least 2 movies to contrast the ends of a component, got {len(table)}."
        )
    size = int(min(len(table) // 2, max(min_end, math.ceil(end_fraction * len(table)))))
    down, up = _ordered(table, column)
    top_rows, bottom_rows = table.iloc[down[:size]], table.iloc[up[:size]]

    base = genre_shares(table["genres"])
    top_shares = genre_shares(top_rows["genres"]).reindex(base.index, fill_value=0.0)
    bottom_shares = genre_shares(bottom_rows["genres"]).reindex(base.index, fill_value=0.0)
    genre_table = pd.DataFrame(
        {
            "genre": base.index.astype(str),
            "base_share": base.to_numpy(),
            "top_share": top_shares.to_numpy(),
            "bottom_share": bottom_shares.to_numpy(),
            "top_lift": (top_shares / base).to_numpy(),
            "bottom_lift": (bottom_shares / base).to_numpy(),
        }
    )
    genre_table = genre_table.iloc[
        np.lexsort((genre_table["genre"].to_numpy(), -genre_table["base_share"].to_numpy()))
    ]
    genre_table = genre_table.reset_index(drop=True)

    log_n = np.log(table["n_ratings"].to_numpy(dtype=np.float64))
    log_series = pd.Series(log_n, index=table.index)
    measured = {
        "year": _effect(top_rows["year"], bottom_rows["year"], table["year"], "median"),
        "mean_rating": _effect(
            top_rows["mean_rating"], bottom_rows["mean_rating"], table["mean_rating"], "mean"
        ),
        "log_n_ratings": _effect(
            log_series.loc[top_rows.index], log_series.loc[bottom_rows.index], log_series, "median"
        ),
    }
    differences = {key: value[0] for key, value in measured.items()}
    effects = {key: value[1] for key, value in measured.items()}
    min_share = 0.10
    top_genres = _end_genres(top_shares[top_shares > 0], base, size, min_share)
    bottom_genres = _end_genres(bottom_shares[bottom_shares > 0], base, size, min_share)
    top_label, bottom_label = _labels(top_genres, bottom_genres, differences, effects)
    if top_label == bottom_label == "mixed":
        name = "no clear genre, year or rating contrast"
    else:
        name = f"{top_label} vs {bottom_label}"

    def profile(
        rows: pd.DataFrame, genres: list[tuple[str, float, float]], label: str
    ) -> EndProfile:
        return EndProfile(
            size=len(rows),
            genres=genres,
            median_year=_median_year(rows),
            mean_rating=float(rows["mean_rating"].mean()),
            median_n_ratings=float(rows["n_ratings"].median()),
            label=label,
        )

    return ComponentContrast(
        component=component,
        top=profile(top_rows, top_genres, top_label),
        bottom=profile(bottom_rows, bottom_genres, bottom_label),
        genre_table=genre_table,
        differences=differences,
        effects=effects,
        suggested_name=name,
    )
