"""Principal component analysis of an embedding table, with a deterministic sign.

Formulation
-----------
Rows are samples (movies) and columns are features (embedding factors). Each column is
centred over the rows, and the principal axes are the right singular vectors of the
centred matrix: ``X - mean = U S Vt``, ``components_ = Vt[:k]``, ``scores_ = U[:, :k] S[:k]``.

This is the statistically meaningful orientation for embeddings. A rating model is
unchanged when its factor axes are rotated, so the axes carry no meaning on their own;
what is meaningful is how the movies spread in the factor space. Centring over movies
and looking for the directions of largest spread among movies is invariant to such a
rotation (rotate the factors and the scores stay the same), and a movie that was not in
the fit can be projected with :meth:`PCAResult.transform`. Fitting PCA on the transposed
table (factors as samples, as in the course notebook this toolkit grew from) instead
centres each *movie* over the arbitrary factor axes and yields no projection for new
rows.

Sign convention
---------------
A principal axis is only defined up to its sign. By default each component is flipped
so that its largest-magnitude loading is positive (the first one on a tie), as
scikit-learn's ``svd_flip(u_based_decision=False)`` does. When an ``orient`` vector is
given (one number per row, e.g. each movie's mean rating), each component is instead
flipped so that its scores have a non-negative covariance with ``orient``: the "top
end" of every component is then the end with the larger ``orient`` values, which makes
components easier to read. A zero covariance falls back to the loading rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError

__all__ = ["PCAResult", "fit_pca"]


@dataclass(frozen=True)
class PCAResult:
    """A fitted PCA (see :func:`fit_pca`).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Unit-length principal axes, by decreasing explained variance.
    explained_variance_ : ndarray of shape (n_components,)
        Variance of the scores along each axis (``ddof=1``).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Share of the total variance of the centred matrix along each axis.
    singular_values_ : ndarray of shape (n_components,)
    mean_ : ndarray of shape (n_features,)
        Column means subtracted before projecting.
    scores_ : ndarray of shape (n_samples, n_components)
        The fitted rows projected on the axes (``transform`` of the fitted matrix).
    """

    components_: NDArray[np.float64]
    explained_variance_: NDArray[np.float64]
    explained_variance_ratio_: NDArray[np.float64]
    singular_values_: NDArray[np.float64]
    mean_: NDArray[np.float64]
    scores_: NDArray[np.float64]

    @property
    def n_components(self) -> int:
        """Number of components kept."""
        return int(self.components_.shape[0])

    def transform(self, matrix: ArrayLike) -> NDArray[np.float64]:
        """Project rows on the principal axes.

        Parameters
        ----------
        matrix : array-like of shape (n_rows, n_features)

        Returns
        -------
        ndarray of shape (n_rows, n_components)

        Raises
        ------
        DataError
            If the number of columns differs from the fitted matrix.
        """
        values = np.asarray(matrix, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.mean_.shape[0]:
            raise DataError(
                f"expected a matrix with {self.mean_.shape[0]} columns, got shape "
                f"{values.shape}; give rows of the same embedding size."
            )
        return (values - self.mean_) @ self.components_.T


def fit_pca(matrix: ArrayLike, n_components: int, *, orient: ArrayLike | None = None) -> PCAResult:
    """PCA of ``matrix`` (rows = samples, centred per column) by singular value decomposition.

    Parameters
    ----------
    matrix : array-like of shape (n_samples, n_features)
        E.g. movie embeddings, one row per movie.
    n_components : int
        How many axes to keep, ``1 <= n_components <= min(n_samples - 1, n_features)``.
    orient : array-like of shape (n_samples,), optional
        Flip each component so that its scores co-vary non-negatively with this vector
        (see the module docstring); default: largest-magnitude loading positive.

    Returns
    -------
    PCAResult

    Raises
    ------
    DataError
        On a non-2-D or non-finite matrix, too few rows, a constant matrix, an
        ``n_components`` out of range or an ``orient`` of the wrong length.

    Examples
    --------
    >>> result = fit_pca([[0, 0], [2, 0], [0, 1], [2, 1]], 1)
    >>> result.components_.round(3).tolist(), result.explained_variance_ratio_.round(3).tolist()
    ([[1.0, 0.0]], [0.8])
    >>> result.scores_.ravel().round(3).tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    values = np.asarray(matrix, dtype=np.float64)
    if values.ndim != 2:
        raise DataError(f"PCA needs a 2-D matrix (rows = samples), got {values.ndim} dimension(s).")
    n_samples, n_features = values.shape
    if not np.isfinite(values).all():
        raise DataError(
            "PCA got NaN or infinite values; the embedding table is damaged (retrain the model)."
        )
    if n_samples < 2:
        raise DataError(f"PCA needs at least 2 rows, got {n_samples}.")
    limit = min(n_samples - 1, n_features)
    if (
        isinstance(n_components, bool)
        or int(n_components) != n_components
        or not (1 <= n_components <= limit)
    ):
        raise DataError(
            f"n_components must be an integer from 1 to {limit} (min of rows - 1 "
            f"= {n_samples - 1} and columns = {n_features}), got {n_components!r}."
        )
    k = int(n_components)
    mean = values.mean(axis=0)
    centred = values - mean
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(s**2))
    if total <= 0.0:
        raise DataError(
            "PCA got a matrix whose rows are all identical: there is no variance to explain."
        )
    components = vt[:k].copy()
    scores = u[:, :k] * s[:k]
    signs = _loading_signs(components)
    if orient is not None:
        target = np.asarray(orient, dtype=np.float64).ravel()
        if target.shape != (n_samples,) or not np.isfinite(target).all():
            raise DataError(
                f"orient must be {n_samples} finite numbers (one per row), got "
                f"shape {target.shape}."
            )
        covariance = (target - target.mean()) @ scores
        signs = np.where(covariance > 0, 1.0, np.where(covariance < 0, -1.0, signs))
    components *= signs[:, None]
    scores = scores * signs[None, :]
    variance = s[:k] ** 2 / (n_samples - 1)
    return PCAResult(
        components_=components,
        explained_variance_=variance,
        explained_variance_ratio_=s[:k] ** 2 / total,
        singular_values_=s[:k].copy(),
        mean_=mean,
        scores_=scores,
    )


def _loading_signs(components: NDArray[np.float64]) -> NDArray[np.float64]:
    """+1 or -1 per row: the sign of the row's largest-magnitude entry (first on a tie)."""
    biggest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), biggest])
    return np.where(signs == 0, 1.0, signs)
