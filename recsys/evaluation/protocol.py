"""The top-N protocol: who is evaluated, what is relevant, which movies are candidates.

Default protocol (each part is a field of :class:`TopNProtocol`):

* **Evaluated users**: users of the test part who are in the training vocabulary and
  have at least one relevant test rating.
* **Relevant**: every test rating of the user ``>= lo + 0.75 * (hi - lo)`` of the
  training rating scale (4 on 1-5 and 0.5-5 scales), or ``relevance``. Test movies
  absent from the training vocabulary still count as relevant: they can never be
  retrieved, so they count against recall and the ideal DCG.
* **Candidates**: every movie of the training vocabulary the user did not rate in the
  training part (test movies included). ``candidates="sampled:N"`` ranks each user's
  relevant test movies among ``N`` sampled movies the user did not rate instead, for
  comparison with papers only: sampled metrics can order models differently from the
  full ranking (Krichene and Rendle, KDD 2020).
* **Ranking**: by score, highest first; ties by movie id ascending
  (:func:`recsys.evaluation.topn.top_k`).
* **Metrics** at ``k``, averaged over evaluated users (:mod:`recsys.evaluation.topn`),
  and catalogue coverage (share of training movies in at least one list).

:meth:`TopNProtocol.prepare` indexes a train/test pair once (a :class:`TopNTask`); the
task then scores any ranker: a function from user indices to a ``(users, movies)``
score matrix over the task's movie vocabulary, a fitted
:class:`~recsys.models.rating_model.RatingModel` (:meth:`TopNTask.model_scorer`), or
the baselines fitted on the same training part (:meth:`TopNTask.baselines`). Test
ratings are read only to build the relevant set; the candidates and every baseline come
from the training part alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.data.vocab import Vocabulary
from recsys.errors import DataError, InvalidParameterError
from recsys.evaluation.topn import METRICS, hits, mask_keys, ranking_metrics, top_k

if TYPE_CHECKING:
    from recsys.models.rating_model import RatingModel

__all__ = ["BASELINE_RANKERS", "Scorer", "TopNProtocol", "TopNTask", "parse_candidates"]

#: A ranker: user indices ``(b,)`` -> scores ``(b, n_movies)`` over the task's movies.
Scorer = Callable[[NDArray[np.int64]], NDArray[Any]]

#: The baselines every comparison reports, in order.
BASELINE_RANKERS = ("global_mean", "bias_only", "popularity", "random")

#: Share of the rating scale above its low end where relevance starts.
RELEVANCE_SHARE = 0.75


def parse_candidates(text: str) -> int | None:
    """``"all"`` -> ``None``; ``"sampled:N"`` -> ``N``.

    Raises
    ------
    InvalidParameterError
        On any other text, or N below 1.

    Examples
    --------
    >>> parse_candidates("all"), parse_candidates("sampled:100")
    (None, 100)
    """
    if text == "all":
        return None
    kind, _, number = text.partition(":")
    if kind == "sampled":
        try:
            n = int(number)
        except ValueError:
            n = 0
        if n >= 1:
            return n
    raise InvalidParameterError(
        "candidates",
        f"candidates={text!r}: use 'all' or 'sampled:N' with N >= 1, e.g. sampled:100.",
    )


@dataclass(frozen=True)
class TopNProtocol:
    """How top-N lists are evaluated (see the module docstring).

    Parameters
    ----------
    k : list length (>= 1).
    relevance : the lowest relevant test rating; ``None`` is
        ``lo + 0.75 * (hi - lo)`` of the training rating scale.
    candidates : ``"all"`` (every unrated training movie) or ``"sampled:N"``.
    seed : seeds the sampled candidates and the random baseline.
    block : users scored per matrix.

    Examples
    --------
    >>> train = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [10, 20, 10],
    ...                       "rating": [1.0, 5.0, 3.0]})
    >>> test = pd.DataFrame({"user_id": [2], "movie_id": [20], "rating": [4.5]})
    >>> task = TopNProtocol(k=1).prepare(train, test)
    >>> task.threshold, task.n_users
    (4.0, 1)
    >>> task.evaluate(task.baselines()["popularity"])["ndcg@1"]
    1.0
    """

    k: int = 10
    relevance: float | None = None
    candidates: str = "all"
    seed: int = 0
    block: int = 1024

    def __post_init__(self) -> None:
        if int(self.k) != self.k or self.k < 1:
            raise InvalidParameterError("k", f"k must be a whole number >= 1, got {self.k!r}.")
        if int(self.block) != self.block or self.block < 1:
            raise InvalidParameterError("block", f"block must be >= 1, got {self.block!r}.")
        parse_candidates(self.candidates)

    def threshold(self, rating_scale: tuple[float, float]) -> float:
        """The lowest relevant rating on ``rating_scale``.

        Raises
        ------
        InvalidParameterError
            If ``relevance`` lies outside the scale.

        >>> TopNProtocol().threshold((0.5, 5.0)), TopNProtocol().threshold((1.0, 5.0))
        (3.875, 4.0)
        """
        low, high = (float(x) for x in rating_scale)
        if self.relevance is None:
            return low + RELEVANCE_SHARE * (high - low)
        if not low <= self.relevance <= high:
            raise InvalidParameterError(
                "relevance",
                f"relevance={self.relevance:g} is outside the rating scale {low:g}..{high:g}; "
                "give a rating within it.",
            )
        return float(self.relevance)

    def prepare(
        self,
        train: pd.DataFrame,
        test: pd.DataFrame,
        *,
        rating_scale: tuple[float, float] | None = None,
    ) -> TopNTask:
        """Index ``train`` and ``test`` (``user_id, movie_id, rating``) for evaluation.

        Parameters
        ----------
        rating_scale : ``(low, high)``; ``None`` is the training ratings' min and max.
            On 0.5-5 the default threshold 3.875 makes 4 and above relevant.

        Raises
        ------
        DataError
            If the training part is empty, or no test user is known to the training
            part with a relevant rating.
        """
        return TopNTask(self, train, test, rating_scale)


@dataclass(eq=False)
class TopNTask:
    """A train/test pair indexed for the top-N protocol (made by
    :meth:`TopNProtocol.prepare`).

    Attributes
    ----------
    users : Vocabulary of the training users; ``movies``: of the training movies (the
        columns of every score matrix, sorted by id).
    rows : int64 ndarray of shape (n_users,), the evaluated user indices.
    n_relevant : int64 ndarray of shape (n_users,), relevant test movies per
        evaluated user (unretrievable ones included).
    relevant_keys : sorted int64 ndarray, ``user * n_movies + movie`` of every
        relevant (user, training movie) pair.
    seen_keys : sorted int64 ndarray, the same for every training rating.
    threshold : the lowest relevant rating.
    rating_scale : ``(low, high)`` of the training part.
    """

    protocol: TopNProtocol
    train: pd.DataFrame
    test: pd.DataFrame
    scale: tuple[float, float] | None = None
    users: Vocabulary = field(init=False)
    movies: Vocabulary = field(init=False)

    def __post_init__(self) -> None:
        train, test = self.train, self.test
        if len(train) == 0:
            raise DataError("the training part is empty; give ratings to train on.")
        values = train["rating"].to_numpy(dtype=np.float64)
        if self.scale is None:
            self.scale = (float(values.min()), float(values.max()))
        self.rating_scale: tuple[float, float] = (float(self.scale[0]), float(self.scale[1]))
        self.threshold = self.protocol.threshold(self.rating_scale)
        self.users = Vocabulary(train["user_id"], entity="user")
        self.movies = Vocabulary(train["movie_id"], entity="movie")
        n_movies = len(self.movies)
        self.train_users = self.users.index(train["user_id"]).astype(np.int64)
        self.train_movies = self.movies.index(train["movie_id"]).astype(np.int64)
        self.train_ratings = values
        self.seen_keys = np.unique(self.train_users * n_movies + self.train_movies)
        tu = self.users.index(test["user_id"], missing="negative").astype(np.int64)
        tm = self.movies.index(test["movie_id"], missing="negative").astype(np.int64)
        relevant = (test["rating"].to_numpy(dtype=np.float64) >= self.threshold) & (tu >= 0)
        # a (user, movie) pair counts once, however many relevant test ratings it has
        unretrievable = -1 - np.arange(int(relevant.sum()))  # each counts once
        movie_or_unknown = np.where(tm[relevant] >= 0, tm[relevant], unretrievable)
        pairs = np.unique(np.stack([tu[relevant], movie_or_unknown], axis=1), axis=0)
        self.rows, self.n_relevant = np.unique(pairs[:, 0], return_counts=True)
        self.rows = self.rows.astype(np.int64)
        self.n_relevant = self.n_relevant.astype(np.int64)
        known = pairs[pairs[:, 1] >= 0]
        self.relevant_keys = np.unique(known[:, 0] * n_movies + known[:, 1])
        self.n_unknown_test_users = int(len(np.unique(test["user_id"].to_numpy()[tu < 0])))
        if len(self.rows) == 0:
            raise DataError(
                f"no test user is in the training part with a rating >= {self.threshold:g} "
                f"(of {test['user_id'].nunique():,} test users, {self.n_unknown_test_users:,} "
                "are unknown to it); give test ratings of known users, or a lower relevance."
            )
        self._sample = parse_candidates(self.protocol.candidates)

    # ------------------------------------------------------------------ sizes
    @property
    def n_users(self) -> int:
        """Evaluated users."""
        return len(self.rows)

    @property
    def n_movies(self) -> int:
        """Movies of the training vocabulary (score-matrix columns)."""
        return len(self.movies)

    # ---------------------------------------------------------------- scoring
    def _candidate_mask(self, rows: NDArray[np.int64], scores: NDArray[Any]) -> NDArray[Any]:
        """``scores`` as float64 with non-candidates set to ``-inf``."""
        s = np.array(scores, dtype=np.float64)
        if s.shape != (len(rows), self.n_movies):
            raise DataError(
                f"a ranker returned scores of shape {s.shape}; expected "
                f"{(len(rows), self.n_movies)} (users x training movies)."
            )
        mask_keys(s, rows, self.seen_keys, self.n_movies)
        if self._sample is not None:
            s = self._sampled(rows, s)
        return s

    def _sampled(self, rows: NDArray[np.int64], s: NDArray[Any]) -> NDArray[Any]:
        """Keep each user's relevant movies and ``N`` random unrated others."""
        n = self.n_movies
        keep = np.zeros(s.shape, dtype=bool)
        for i, u in enumerate(rows.tolist()):
            lo = np.searchsorted(self.relevant_keys, u * n)
            hi = np.searchsorted(self.relevant_keys, (u + 1) * n)
            relevant = self.relevant_keys[lo:hi] % n
            pool = np.isfinite(s[i])
            pool[relevant] = False
            choices = np.flatnonzero(pool)
            rng = np.random.default_rng([int(self.protocol.seed), 7, u])
            take = rng.choice(choices, size=min(self._sample or 0, len(choices)), replace=False)
            keep[i, take] = True
            keep[i, relevant] = True
        return np.where(keep, s, -np.inf)

    def blocks(self) -> Iterator[NDArray[np.int64]]:
        """The evaluated user indices in blocks of ``protocol.block``."""
        for start in range(0, self.n_users, self.protocol.block):
            yield self.rows[start : start + self.protocol.block]

    def evaluate(self, scorer: Scorer, *, per_user: bool = False) -> dict[str, Any]:
        """The metrics at ``k`` of ``scorer``'s lists, averaged over evaluated users.

        Parameters
        ----------
        scorer : user indices ``(b,)`` -> scores ``(b, n_movies)`` over
            :attr:`movies`; higher is better.
        per_user : also return ``"per_user"``: a dict of ``(n_users,)`` arrays.

        Returns
        -------
        dict with ``precision@k, recall@k, ndcg@k, map@k, mrr@k, hit_rate@k,
        coverage@k`` (floats) and ``n_users``.
        """
        k = self.protocol.k
        parts: dict[str, list[NDArray[np.float64]]] = {name: [] for name in METRICS}
        listed = np.zeros(self.n_movies, dtype=bool)
        start = 0
        for rows in self.blocks():
            scores = self._candidate_mask(rows, scorer(rows))
            columns, valid = top_k(scores, k)
            listed[columns[valid]] = True
            hit = hits(columns, valid, rows, self.relevant_keys, self.n_movies)
            metrics = ranking_metrics(hit, self.n_relevant[start : start + len(rows)], k)
            for name in METRICS:
                parts[name].append(metrics[name])
            start += len(rows)
        values = {name: np.concatenate(parts[name]) for name in METRICS}
        report: dict[str, Any] = {f"{name}@{k}": float(values[name].mean()) for name in METRICS}
        report[f"coverage@{k}"] = float(listed.mean()) if self.n_movies else 0.0
        report["n_users"] = self.n_users
        if per_user:
            report["per_user"] = values
        return report

    def top_lists(self, scorer: Scorer) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """``(columns, valid)`` of every evaluated user's list (see
        :func:`~recsys.evaluation.topn.top_k`), for inspection and tests."""
        cols, valid = [], []
        for rows in self.blocks():
            c, v = top_k(self._candidate_mask(rows, scorer(rows)), self.protocol.k)
            cols.append(c)
            valid.append(v)
        return np.concatenate(cols), np.concatenate(valid)

    # ------------------------------------------------------------ the rankers
    def baselines(self) -> dict[str, Scorer]:
        """The baselines of :data:`BASELINE_RANKERS`, fitted on the training part."""
        from recsys.models.baselines import BiasBaseline, GlobalMean, Popularity, RandomScores

        u, m, r = self.train_users, self.train_movies, self.train_ratings
        n_users, n_movies = len(self.users), self.n_movies
        mean = GlobalMean().fit(u, m, r)
        bias = BiasBaseline().fit(u, m, r, n_users=n_users, n_movies=n_movies)
        popular = Popularity().fit(u, m, n_movies=n_movies)
        rand = RandomScores(seed=self.protocol.seed).fit(u, m, n_movies=n_movies)
        return {
            "global_mean": lambda rows: mean.score_users(rows, n_movies),
            "bias_only": bias.score_users,
            "popularity": popular.score_users,
            "random": rand.score_users,
        }

    def model_scorer(self, model: RatingModel) -> Scorer:
        """A fitted model's scores over this task's users and movies.

        Users and movies the model does not know (ids of the training part it never
        saw, e.g. all of whose ratings went to its early-stopping share) get its
        baseline fallback, as in :meth:`RatingModel.score_users`.
        """
        user_ids, movie_ids = self.users.ids, self.movies.ids

        def score(rows: NDArray[np.int64]) -> NDArray[Any]:
            return model.score_users(user_ids[rows], movie_ids)

        return score

    def rating_free(self, name: str) -> bool:
        """Whether the baseline ``name`` predicts no ratings (popularity, random)."""
        return name in ("popularity", "random")
