"""Which genres occur together: co-occurrence counts, spectral co-clustering, decades.

The co-occurrence matrix ``C = Yᵀ Y`` counts, for every pair of genres, the movies
carrying both; its diagonal is each genre's count. Spectral co-clustering
(``sklearn.cluster.SpectralCoclustering``) groups genres that co-occur with each
other more than with the rest; reordering rows and columns by cluster shows the
groups as "boxes" along the diagonal of the heatmap.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError, InvalidParameterError

__all__ = ["Coclusters", "cocluster", "cooccurrence_matrix", "genres_by_decade"]


def cooccurrence_matrix(Y: ArrayLike) -> NDArray[np.int64]:
    """Counts of movies per pair of genres, shape ``(n_genres, n_genres)``.

    >>> cooccurrence_matrix([[1, 1, 0], [1, 0, 0], [0, 1, 1]]).tolist()
    [[2, 1, 0], [1, 2, 1], [0, 1, 1]]
    """
    y = np.asarray(Y)
    if y.ndim != 2:
        raise DataError(f"expected a 2-d label matrix, received shape {y.shape}.")
    y = y.astype(np.int64)
    return y.T @ y


@dataclass(frozen=True)
class Coclusters:
    """Result of :func:`cocluster`.

    Attributes
    ----------
    labels : ndarray of shape (n_genres,), the cluster of each genre.
    order : ndarray of shape (n_genres,), genre indices grouped by cluster (clusters in
        order of their largest genre, genres by decreasing count within a cluster).
    note : ``None``, or one line saying why there are fewer groups than asked (k-means
        found fewer distinct clusters, e.g. genres that always occur together).
    """

    labels: NDArray[np.int64]
    order: NDArray[np.int64]
    note: str | None = None

    def groups(self, genres: Sequence[str]) -> list[list[str]]:
        """The genre names of each cluster, in display order."""
        out: list[list[str]] = []
        previous = None
        for j in self.order:
            if self.labels[j] != previous:
                out.append([])
                previous = self.labels[j]
            out[-1].append(genres[j])
        return out


def cocluster(C: ArrayLike, n_clusters: int = 4, *, seed: int = 0) -> Coclusters:
    """Spectral co-clustering of a (symmetric, non-negative) co-occurrence matrix.

    Parameters
    ----------
    C : array-like of shape (n_genres, n_genres).
    n_clusters : number of genre groups, between 2 and ``n_genres``.
    seed : random state of the k-means step.

    Returns
    -------
    Coclusters; when k-means cannot find ``n_clusters`` distinct groups (on a small set,
    genres with the same co-occurrence rows), scikit-learn's ``ConvergenceWarning`` is
    caught and explained in ``note`` instead.

    Raises
    ------
    DataError
        If ``n_clusters`` is out of range, or a genre never occurs.

    Examples
    --------
    >>> C = np.array([[9, 8, 0, 0], [8, 9, 0, 1], [0, 0, 9, 7], [0, 1, 7, 9]])
    >>> result = cocluster(C, 2)
    >>> sorted(map(sorted, result.groups(["a", "b", "c", "d"])))
    [['a', 'b'], ['c', 'd']]
    """
    from sklearn.cluster import SpectralCoclustering
    from sklearn.exceptions import ConvergenceWarning

    c = np.asarray(C, dtype=float)
    k = c.shape[0]
    if c.ndim != 2 or c.shape[1] != k:
        raise DataError(f"expected a square co-occurrence matrix, received shape {c.shape}.")
    if not 2 <= n_clusters <= k:
        raise InvalidParameterError(
            "n_clusters",
            f"n_clusters must be between 2 and the number of genres ({k}), received {n_clusters}.",
        )
    if np.any(c.sum(axis=1) == 0):
        raise DataError("a genre never occurs, so it cannot be clustered; rebuild the set.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = SpectralCoclustering(n_clusters=n_clusters, random_state=seed).fit(c)
    converged = True
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            converged = False
        else:  # not ours to hide
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    labels = np.asarray(model.row_labels_, dtype=np.int64)
    found = len(set(labels.tolist()))
    note = None
    if not converged or found < n_clusters:
        fix = (
            f"use n_clusters={found} or fewer, or more movies"
            if found >= 2
            else ("use more movies")
        )
        note = (
            f"co-clustering found {found} distinct genre group(s), not the {n_clusters} "
            "asked: some genres occur with the same genres in the same proportions "
            f"(common on a small set); {fix}"
        )
    counts = np.diag(c)
    cluster_rank = sorted(set(labels.tolist()), key=lambda lab: -counts[labels == lab].max())
    rank = {lab: i for i, lab in enumerate(cluster_rank)}
    order = np.array(
        sorted(range(k), key=lambda j: (rank[labels[j]], -counts[j], j)), dtype=np.int64
    )
    return Coclusters(labels, order, note)


def genres_by_decade(frame: pd.DataFrame, genres: Sequence[str]) -> pd.DataFrame:
    """Movies per release decade and genre (rows ``1910s``.., plus ``unknown`` if any).

    Parameters
    ----------
    frame : rows with ``year`` (nullable int) and ``genres`` (tuple of names).
    genres : the genre columns, in order.

    >>> rows = pd.DataFrame({"year": [1994, 1999, 2003, None],
    ...                      "genres": [("Drama",), ("Comedy", "Drama"), ("Comedy",), ("Drama",)]})
    >>> table = genres_by_decade(rows, ["Comedy", "Drama"])
    >>> table.index.tolist(), table.loc["1990s"].tolist()
    (['1990s', '2000s', 'unknown'], [1, 2, 2])
    """
    years = pd.to_numeric(frame["year"], errors="coerce")
    decade = [f"{int(y) // 10 * 10}s" if pd.notna(y) else "unknown" for y in years]
    rows: dict[str, dict[str, int]] = {}
    for d, movie_genres in zip(decade, frame["genres"], strict=True):
        row = rows.setdefault(d, {g: 0 for g in genres} | {"movies": 0})
        row["movies"] += 1
        for g in movie_genres:
            if g in row:
                row[g] += 1
    index = sorted(r for r in rows if r != "unknown") + (["unknown"] if "unknown" in rows else [])
    return pd.DataFrame([rows[i] for i in index], index=pd.Index(index, name="decade"))
