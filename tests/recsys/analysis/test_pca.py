"""PCA: agreement with numpy's SVD, the sign convention, invariances and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recsys.analysis.pca import fit_pca
from recsys.errors import DataError

# Six movies, two factors, by hand: the spread is mostly along (1, 1).
MATRIX = np.array([[2.0, 1.5], [0.5, 0.0], [-1.0, -1.5], [3.0, 3.5], [-2.0, -1.0], [1.0, 2.0]])


def _svd_reference(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    centred = matrix - matrix.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    # fix the signs the documented way: largest |loading| of each component positive
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    return vt * signs[:, None], (u * s) * signs[None, :], s


def test_matches_numpy_svd_on_a_hand_made_matrix() -> None:
    components, scores, s = _svd_reference(MATRIX)
    result = fit_pca(MATRIX, 2)
    np.testing.assert_allclose(result.components_, components, atol=1e-12)
    np.testing.assert_allclose(result.scores_, scores, atol=1e-12)
    np.testing.assert_allclose(result.singular_values_, s)
    np.testing.assert_allclose(result.explained_variance_ratio_, s**2 / np.sum(s**2))
    np.testing.assert_allclose(result.explained_variance_, np.var(scores, axis=0, ddof=1))
    np.testing.assert_allclose(result.mean_, MATRIX.mean(axis=0))
    # hand-checked: the first axis is close to the diagonal, and it explains most variance
    assert result.components_[0] == pytest.approx([0.7071, 0.7071], abs=0.02)
    assert result.explained_variance_ratio_[0] > 0.95
    assert result.explained_variance_ratio_.sum() == pytest.approx(1.0)


def test_transform_projects_new_rows_like_the_fitted_ones() -> None:
    result = fit_pca(MATRIX, 1)
    np.testing.assert_allclose(result.transform(MATRIX), result.scores_, atol=1e-12)
    # one unit along the axis from the mean projects to exactly 1
    np.testing.assert_allclose(result.transform([result.mean_ + result.components_[0]]), [[1.0]])
    with pytest.raises(DataError, match="2 columns"):
        result.transform(np.zeros((3, 3)))


def test_sign_follows_orient_when_given() -> None:
    default = fit_pca(MATRIX, 2)
    for orient in (MATRIX[:, 0], -MATRIX[:, 0]):
        result = fit_pca(MATRIX, 2, orient=orient)
        covariance = (orient - orient.mean()) @ result.scores_
        assert (covariance >= 0).all()
        np.testing.assert_allclose(np.abs(result.components_), np.abs(default.components_))
    flipped = fit_pca(MATRIX, 1, orient=-MATRIX[:, 0])
    np.testing.assert_allclose(flipped.components_, -default.components_[:1])


def test_scores_do_not_depend_on_a_rotation_of_the_factors() -> None:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 6)) * [3, 2, 1, 0.5, 0.3, 0.1]
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    orient = table[:, 0] + rng.normal(size=50)
    a = fit_pca(table, 3, orient=orient)
    b = fit_pca(table @ rotation, 3, orient=orient)
    np.testing.assert_allclose(a.scores_, b.scores_, atol=1e-9)
    np.testing.assert_allclose(a.explained_variance_ratio_, b.explained_variance_ratio_)


def test_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    table = rng.normal(size=(200, 16))
    a, b = fit_pca(table, 4), fit_pca(table.copy(), 4)
    assert np.array_equal(a.components_, b.components_) and np.array_equal(a.scores_, b.scores_)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(3, 12), st.integers(2, 5)),
        elements=st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 2)),
    )
)
def test_invariants(matrix: np.ndarray) -> None:
    centred = matrix - matrix.mean(axis=0)
    if np.linalg.svd(centred, compute_uv=False)[0] < 1e-6:
        return  # constant matrix: rejected, tested below
    k = min(matrix.shape[0] - 1, matrix.shape[1])
    result = fit_pca(matrix, k)
    np.testing.assert_allclose(result.components_ @ result.components_.T, np.eye(k), atol=1e-9)
    np.testing.assert_allclose(result.transform(matrix), result.scores_, atol=1e-8)
    assert np.all(np.diff(result.explained_variance_ratio_) <= 1e-12)
    assert 0 < result.explained_variance_ratio_.sum() <= 1 + 1e-9
    biggest = np.argmax(np.abs(result.components_), axis=1)
    assert (result.components_[np.arange(k), biggest] > 0).all()


@pytest.mark.parametrize(
    ("matrix", "k", "fragment"),
    [
        (MATRIX, 3, "from 1 to 2"),
        (MATRIX, 0, "from 1 to 2"),
        (MATRIX[:1], 1, "at least 2 rows"),
        (np.ones((4, 3)), 1, "all identical"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), 1, "NaN"),
        (np.ones(5), 1, "2-D"),
    ],
)
def test_bad_input(matrix: np.ndarray, k: int, fragment: str) -> None:
    with pytest.raises(DataError, match=fragment):
        fit_pca(matrix, k)


def test_bad_orient() -> None:
    with pytest.raises(DataError, match="one per row"):
        fit_pca(MATRIX, 1, orient=[1.0, 2.0])
