"""Top-k selection and the ranking metrics: hand-computed values, ties, the reference
implementation (scikit-learn's ``ndcg_score``) and invariants (Hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from recsys.errors import DataError, InvalidParameterError
from recsys.evaluation.protocol import TopNProtocol
from recsys.evaluation.topn import coverage, hits, mask_keys, ranking_metrics, top_k

# 3 users, 6 movies (ids 10..60). Training: what each user rated (never a candidate).
TRAIN = pd.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 3, 3, 1],
        "movie_id": [10, 20, 10, 30, 40, 50, 60],
        "rating": [5.0, 1.0, 4.0, 2.0, 3.0, 5.0, 4.0],
    }
)
# Test: user 1 likes 30 and 50, user 2 likes 20 (and a movie 70 never seen in training),
# user 3 has no relevant rating (3.5 < 4 on the 1-5 scale) and is not evaluated.
TEST = pd.DataFrame(
    {
        "user_id": [1, 1, 1, 2, 2, 2, 3],
        "movie_id": [30, 50, 40, 20, 70, 60, 10],
        "rating": [4.0, 5.0, 2.0, 4.5, 5.0, 1.0, 3.5],
    }
)
MOVIES = np.array([10, 20, 30, 40, 50, 60])


def fixed_scores(table: dict[int, list[float]]):
    """A ranker giving each user (by id) the scores of movies 10..60."""

    def scorer(task):
        def score(rows):
            return np.array([table[int(task.users.ids[r])] for r in rows], dtype=np.float64)

        return score

    return scorer


def test_hand_computed_metrics_with_ties_and_a_user_without_relevant_items() -> None:
    task = TopNProtocol(k=2).prepare(TRAIN, TEST)
    assert task.threshold == 4.0
    assert task.users.ids[task.rows].tolist() == [1, 2]  # user 3: nothing relevant
    assert task.n_relevant.tolist() == [2, 2]  # user 2: movie 70 counts, unretrievable
    # user 1 candidates: 30, 40, 50 (10, 20, 60 rated in training). Scores tie 30, 40 and
    # 50 at 1.0: the tie rule picks 30 then 40 -> hit at rank 1 only.
    # user 2 candidates: 20, 40, 50, 60. 60 scores highest, then 20 -> hit at rank 2.
    scores = {
        1: [9.0, 9.0, 1.0, 1.0, 1.0, 0.0],
        2: [9.0, 0.5, 0.0, 0.0, 0.0, 0.9],
        3: [0.0] * 6,
    }
    report = task.evaluate(fixed_scores(scores)(task), per_user=True)
    per = report["per_user"]
    idcg2 = 1 + 1 / np.log2(3)
    np.testing.assert_allclose(per["precision"], [0.5, 0.5])
    np.testing.assert_allclose(per["recall"], [0.5, 0.5])
    np.testing.assert_allclose(per["ndcg"], [1 / idcg2, (1 / np.log2(3)) / idcg2])
    np.testing.assert_allclose(per["map"], [(1 / 1) / 2, (1 / 2) / 2])
    np.testing.assert_allclose(per["mrr"], [1.0, 0.5])
    np.testing.assert_allclose(per["hit_rate"], [1.0, 1.0])
    assert report["ndcg@2"] == pytest.approx(np.mean(per["ndcg"]))
    # lists: user 1 [30, 40], user 2 [60, 20] -> 4 of 6 training movies
    assert report["coverage@2"] == pytest.approx(4 / 6)
    columns, valid = task.top_lists(fixed_scores(scores)(task))
    assert MOVIES[columns].tolist() == [[30, 40], [60, 20]] and valid.all()


def test_ties_are_broken_by_movie_id_whatever_the_column_order_of_equal_scores() -> None:
    cols, _ = top_k(np.array([[1.0, 1.0, 1.0, 1.0]]), 3)
    assert cols.tolist() == [[0, 1, 2]]
    cols, _ = top_k(np.array([[0.0, 2.0, 1.0, 2.0, 1.0]]), 4)
    assert cols.tolist() == [[1, 3, 2, 4]]


def test_training_ratings_are_never_candidates_nor_read_as_test() -> None:
    # a ranker that puts every training movie first still cannot list them
    task = TopNProtocol(k=6).prepare(TRAIN, TEST)
    columns, valid = task.top_lists(lambda rows: np.tile(np.arange(6.0, 0, -1), (len(rows), 1)))
    for row, user in enumerate(task.users.ids[task.rows]):
        rated = set(TRAIN.loc[TRAIN["user_id"] == user, "movie_id"])
        listed = set(MOVIES[columns[row][valid[row]]])
        assert not listed & rated
    # a training rating of a relevant level is not relevant: user 1 rated 10 with a 5
    assert 0 * task.n_movies + 0 not in set(task.relevant_keys.tolist())
    # adding the test ratings to training removes them from the candidates: no hit left
    both = pd.concat([TRAIN, TEST])
    leaky = TopNProtocol(k=6).prepare(both, TEST)
    report = leaky.evaluate(lambda rows: np.ones((len(rows), leaky.n_movies)))
    assert report["recall@6"] == 0.0


def test_popularity_baseline_exact_ranking() -> None:
    train = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 1, 2, 3, 4, 4],
            "movie_id": [5, 5, 5, 7, 7, 9, 3, 1],
            "rating": [4.0] * 8,
        }
    )
    test = pd.DataFrame({"user_id": [4], "movie_id": [9], "rating": [5.0]})
    task = TopNProtocol(k=4).prepare(train, test)
    columns, valid = task.top_lists(task.baselines()["popularity"])
    # user 4 rated 3 and 1; counts: 5 -> 3, 7 -> 2, 9 -> 1; left: 5, 7, 9 (k cut to 3)
    assert task.movies.ids[columns[0][valid[0]]].tolist() == [5, 7, 9]
    assert valid[0].tolist() == [True, True, True, False]


def test_unknown_test_users_only_is_a_clear_error() -> None:
    test = pd.DataFrame({"user_id": [99], "movie_id": [10], "rating": [5.0]})
    with pytest.raises(DataError, match="no test user"):
        TopNProtocol().prepare(TRAIN, test)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"k": 0}, "k"),
        ({"candidates": "some"}, "candidates"),
        ({"candidates": "sampled:0"}, "candidates"),
    ],
)
def test_bad_protocol_parameters(kwargs: dict, parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as error:
        TopNProtocol(**kwargs)
    assert error.value.parameter == parameter


def test_relevance_outside_the_scale() -> None:
    with pytest.raises(InvalidParameterError, match="outside the rating scale") as error:
        TopNProtocol(relevance=7).prepare(TRAIN, TEST)
    assert error.value.parameter == "relevance"


def test_sampled_candidates_keep_the_relevant_movies_and_n_others() -> None:
    task = TopNProtocol(k=6, candidates="sampled:1").prepare(TRAIN, TEST)
    _, valid = task.top_lists(lambda rows: np.zeros((len(rows), task.n_movies)))
    # user 1: relevant 30, 50 + 1 sampled; user 2: relevant 20 + 1 sampled
    assert valid.sum(axis=1).tolist() == [3, 2]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(2, 12),  # scikit-learn needs two documents or more
    st.integers(1, 8),
    st.integers(0, 2**31 - 1),
)
def test_ndcg_agrees_with_scikit_learn(n_users: int, n_movies: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # distinct scores: scikit-learn averages over ties, the protocol breaks them by id
    scores = rng.permutation(n_users * n_movies).reshape(n_users, n_movies).astype(float)
    relevant = rng.random((n_users, n_movies)) < 0.4
    relevant[np.arange(n_users), rng.integers(0, n_movies, n_users)] = True
    columns, valid = top_k(scores, k)
    rows = np.arange(n_users)
    keys = np.flatnonzero(relevant.ravel())  # row * n_movies + column, sorted
    found = hits(columns, valid, rows, keys, n_movies)
    metrics = ranking_metrics(found, relevant.sum(axis=1), k)
    for u in range(n_users):
        expected = ndcg_score(relevant[u : u + 1].astype(float), scores[u : u + 1], k=k)
        assert metrics["ndcg"][u] == pytest.approx(expected)
    # precision and recall straight from the definitions
    top = np.argsort(-scores, axis=1, kind="stable")[:, : min(k, n_movies)]
    n_hits = np.take_along_axis(relevant, top, axis=1).sum(axis=1)
    np.testing.assert_allclose(metrics["precision"], n_hits / k)
    np.testing.assert_allclose(metrics["recall"], n_hits / relevant.sum(axis=1))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 15), st.integers(1, 10), st.integers(0, 2**31 - 1))
def test_top_k_is_sorted_excludes_masked_and_matches_lexsort(
    n_users: int, n_movies: int, k: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, (n_users, n_movies)).astype(float)  # many ties
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    columns, valid = top_k(scores, k)
    for u in range(n_users):
        finite = np.flatnonzero(np.isfinite(scores[u]))
        expected = finite[np.lexsort((finite, -scores[u][finite]))][:k]
        assert columns[u][valid[u]].tolist() == expected.tolist()
        picked = scores[u][columns[u][valid[u]]]
        assert (np.diff(picked) <= 0).all()


def test_mask_keys_and_coverage() -> None:
    s = np.zeros((2, 4))
    mask_keys(s, [1, 0], np.array([1, 4 + 3]), 4)
    assert np.isinf(s).sum() == 2 and np.isinf(s[0, 3]) and np.isinf(s[1, 1])
    assert coverage([[0, 1]], [[True, False]], 4) == 0.25


def test_ranking_metrics_refuse_users_without_relevant_items() -> None:
    with pytest.raises(InvalidParameterError):
        ranking_metrics([[True]], [0], 1)
