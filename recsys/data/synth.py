"""Synthetic MovieLens-layout datasets with a planted structure, at any size.

:func:`write_synthetic` writes ``ratings.csv`` and ``movies.csv`` in the ml-latest
layout (so ``recsys train --data DIR`` reads it like a GroupLens release) and
``planted.npz`` with the truth the ratings were drawn from:

    ``rating = round_half(clip(mu + b_u + b_m + p_u . q_m + noise, low, high))``

* ``p_u, q_m`` are ``factors``-dimensional latent vectors (normal, scaled so the
  interaction term has variance ``interaction_var``), ``b_u, b_m`` normal biases,
  ``noise`` normal with standard deviation ``noise``.
* Who rates what follows power laws: the ``k``-th most active user and the ``k``-th most
  popular movie are drawn with weight ``(k + c)^-a`` (Zipf-like; ``c`` tempers the head
  so the most popular movie is not rated by more users than exist). Which id holds which
  rank is a seeded permutation. A (user, movie) pair is rated at most once, as in
  MovieLens; repeated draws are replaced by further draws.
* Rows come sorted by user then movie, as in GroupLens' files, with timestamps that
  fall in a plausible 1996-2019 window.

Everything is vectorised numpy and written in chunks through pyarrow's CSV writer, so
25M ratings take a few minutes and about 2 GB of memory, never 25M Python objects. The
same arguments and seed give byte-identical files.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from recsys.errors import DataError, InvalidParameterError, check_seed
from recsys.fileio import atomic_directory, check_writable_dir, write_json_atomic

__all__ = ["GENRES", "MARKER", "SynthSpec", "planted_truth", "sample_pairs", "write_synthetic"]

#: The file that marks a directory as a synthetic dataset ``write_synthetic`` may replace.
MARKER = "synth.json"

#: The genre names of the MovieLens releases, used for the synthetic catalogue.
GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

_CHUNK = 1 << 20
_T0, _T1 = 820_454_400, 1_574_000_000  # 1996-01-01 .. 2019-11-17


@dataclass(frozen=True)
class SynthSpec:
    """The size and structure of a synthetic dataset.

    Attributes
    ----------
    n_users, n_movies, n_ratings : catalogue sizes and number of ratings (distinct pairs).
    factors : dimension of the planted latent vectors.
    seed : every random draw derives from it.
    mean : the global offset ``mu``.
    user_bias_sd, movie_bias_sd : standard deviations of ``b_u`` and ``b_m``.
    interaction_var : variance of ``p_u . q_m``.
    noise : standard deviation of the per-rating noise.
    user_zipf, movie_zipf : power-law exponents ``a`` of user activity and popularity.
    user_offset, movie_offset : the head-tempering ``c`` as a fraction of the catalogue.
    scale : ``(low, high, step)`` of the rating scale (MovieLens: half stars 0.5..5).
    """

    n_users: int
    n_movies: int
    n_ratings: int
    factors: int = 8
    seed: int = 0
    mean: float = 3.5
    user_bias_sd: float = 0.35
    movie_bias_sd: float = 0.45
    interaction_var: float = 0.3
    noise: float = 0.5
    user_zipf: float = 1.0
    movie_zipf: float = 1.0
    user_offset: float = 0.01
    movie_offset: float = 0.001
    scale: tuple[float, float, float] = (0.5, 5.0, 0.5)

    def check(self) -> None:
        """Raise :class:`DataError` on sizes or parameters that cannot be generated."""
        for name in ("n_users", "n_movies", "n_ratings", "factors"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    name, f"synthetic data: {name} must be a positive integer, got {value!r}."
                )
        capacity = self.n_users * self.n_movies
        if self.n_ratings > capacity // 2:
            raise DataError(
                f"synthetic data: {self.n_ratings:,} ratings do not fit {self.n_users:,} users "
                f"x {self.n_movies:,} movies (each pair is rated at most once; keep ratings "
                f"at most half of the {capacity:,} pairs): add users or movies."
            )
        if self.n_users >= 2**31 or self.n_movies >= 2**31:
            raise DataError(
                "synthetic data: ids must fit int32 (fewer than 2**31 users and movies)."
            )
        low, high, step = self.scale
        if not (low < high and step > 0):
            raise DataError(
                f"synthetic data: rating scale {self.scale} needs low < high and a positive step."
            )
        for name in ("noise", "user_bias_sd", "movie_bias_sd", "interaction_var"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InvalidParameterError(
                    name,
                    f"synthetic data: {name}={value!r} must be a finite number >= 0 (a "
                    "standard deviation or variance), e.g. 0.5.",
                )
        check_seed(self.seed)


def _rng(spec: SynthSpec, *stream: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, *stream])


def _zipf_weights(
    n: int, exponent: float, offset: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Weights ``(rank + c)^-a`` normalised to 1, assigned to ids in a random order."""
    c = max(1.0, offset * n)
    by_rank = (np.arange(n, dtype=np.float64) + c) ** -float(exponent)
    weights = np.empty(n)
    weights[rng.permutation(n)] = by_rank / by_rank.sum()
    return weights


def planted_truth(spec: SynthSpec) -> dict[str, NDArray]:
    """The planted parameters of ``spec`` (deterministic in the seed).

    Returns
    -------
    dict with ``user_factors (n_users, factors)``, ``movie_factors (n_movies, factors)``,
    ``user_bias (n_users,)``, ``movie_bias (n_movies,)``, ``user_weight (n_users,)`` and
    ``movie_weight (n_movies,)`` (sampling probabilities), ``mean``, ``noise`` (0-d arrays).
    Row ``i`` belongs to id ``i + 1``.

    Examples
    --------
    >>> truth = planted_truth(SynthSpec(n_users=4, n_movies=3, n_ratings=5, factors=2))
    >>> truth["movie_factors"].shape, truth["user_weight"].sum().round(6)
    ((3, 2), np.float64(1.0))
    """
    spec.check()
    scale = (spec.interaction_var / spec.factors) ** 0.25
    rng = _rng(spec, 1)
    return {
        "user_factors": rng.normal(0, scale, (spec.n_users, spec.factors)).astype(np.float32),
        "movie_factors": rng.normal(0, scale, (spec.n_movies, spec.factors)).astype(np.float32),
        "user_bias": rng.normal(0, spec.user_bias_sd, spec.n_users).astype(np.float32),
        "movie_bias": rng.normal(0, spec.movie_bias_sd, spec.n_movies).astype(np.float32),
        "user_weight": _zipf_weights(spec.n_users, spec.user_zipf, spec.user_offset, _rng(spec, 2)),
        "movie_weight": _zipf_weights(
            spec.n_movies, spec.movie_zipf, spec.movie_offset, _rng(spec, 3)
        ),
        "mean": np.asarray(spec.mean, dtype=np.float64),
        "noise": np.asarray(spec.noise, dtype=np.float64),
    }


def _draw_codes(
    spec: SynthSpec, truth: dict[str, NDArray], n: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """``n`` pair codes ``user * n_movies + movie``, sorted, duplicates possible."""
    users = np.repeat(
        np.arange(spec.n_users, dtype=np.int64), rng.multinomial(n, truth["user_weight"])
    )
    cdf = np.cumsum(truth["movie_weight"])
    movies = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)
    codes = users * spec.n_movies + movies
    codes.sort()
    return codes


def _distinct(sorted_codes: NDArray[np.int64]) -> NDArray[np.int64]:
    if len(sorted_codes) < 2:
        return sorted_codes
    keep = np.empty(len(sorted_codes), dtype=bool)
    keep[0] = True
    np.not_equal(sorted_codes[1:], sorted_codes[:-1], out=keep[1:])
    return sorted_codes[keep]


def sample_pairs(spec: SynthSpec, truth: dict[str, NDArray]) -> NDArray[np.int64]:
    """Distinct (user, movie) pairs drawn from the power laws, sorted.

    One large draw, then small top-up draws that replace the repeated pairs (each one
    checked against the sorted pairs by binary search, so no second big sort).

    Returns
    -------
    ndarray of int64, shape ``(n_ratings,)``: ``user_index * n_movies + movie_index``.

    Raises
    ------
    DataError
        If the popularity laws are so steep that the pairs cannot be filled.
    """
    codes = _distinct(_draw_codes(spec, truth, spec.n_ratings, _rng(spec, 4, 0)))
    for round_ in range(1, 200):
        need = spec.n_ratings - len(codes)
        if need <= 0:
            break
        new = _distinct(_draw_codes(spec, truth, 2 * need + 16, _rng(spec, 4, round_)))
        at = np.searchsorted(codes, new)
        fresh = new[(at >= len(codes)) | (codes[np.minimum(at, len(codes) - 1)] != new)]
        if len(fresh) > need:  # a seeded random subset, so no id range is favoured
            fresh = np.sort(_rng(spec, 5, round_).choice(fresh, need, replace=False))
        codes = np.insert(codes, np.searchsorted(codes, fresh), fresh)
    else:
        raise DataError(
            f"synthetic data: could not draw {spec.n_ratings:,} distinct pairs "
            "under these popularity laws; lower the Zipf exponents or ratings."
        )
    return codes


def _ratings_of(
    spec: SynthSpec,
    truth: dict[str, NDArray],
    users: NDArray[np.int64],
    movies: NDArray[np.int64],
    rng: np.random.Generator,
) -> NDArray[np.float32]:
    low, high, step = spec.scale
    raw = (
        spec.mean
        + truth["user_bias"][users]
        + truth["movie_bias"][movies]
        + np.einsum("ij,ij->i", truth["user_factors"][users], truth["movie_factors"][movies])
        + rng.normal(0, spec.noise, len(users))
    )
    stepped = low + np.round((raw - low) / step) * step
    return np.clip(stepped, low, high).astype(np.float32)


def _timestamps(
    users: NDArray[np.int64], first: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.int64]:
    """Each user rates within 400 days from a seeded first day."""
    return first[users] + rng.integers(0, 400 * 86_400, len(users))


def _rating_text(spec: SynthSpec) -> NDArray[np.object_]:
    low, high, step = spec.scale
    n = int(round((high - low) / step)) + 1
    decimals = 0 if float(step).is_integer() and float(low).is_integer() else 1
    return np.array([f"{low + i * step:.{max(decimals, 1)}f}" for i in range(n)], dtype=object)


def _movie_titles(spec: SynthSpec, truth: dict[str, NDArray]) -> tuple[list[str], list[str]]:
    rng = _rng(spec, 6)
    years = rng.integers(1920, 2020, spec.n_movies)
    titles = [f"Synthetic Movie {i + 1} ({y})" for i, y in enumerate(years.tolist())]
    # genre g is a direction in factor space; a movie has the genres it points at most
    directions = rng.normal(0, 1, (len(GENRES), spec.factors))
    affinity = truth["movie_factors"] @ directions.T
    cut = np.quantile(affinity, 0.85, axis=0) if spec.n_movies > 1 else affinity.max(axis=0)
    member = affinity >= cut
    names = np.array(GENRES, dtype=object)
    genres = ["|".join(names[row]) or "(no genres listed)" for row in member]
    return titles, genres


def write_synthetic(
    spec: SynthSpec, out: str | os.PathLike[str], *, progress: bool = False
) -> Path:
    """Generate ``spec`` and write it as a MovieLens directory at ``out`` (atomically).

    Writes ``ratings.csv`` (``userId,movieId,rating,timestamp``), ``movies.csv``
    (``movieId,title,genres``), ``planted.npz`` (see :func:`planted_truth`) and
    ``synth.json`` (the spec). User ids are ``1..n_users``, movie ids ``1..n_movies``.

    Raises
    ------
    DataError
        Impossible sizes (see :meth:`SynthSpec.check`), an unwritable ``out``, or an
        ``out`` that is a non-empty directory but no synthetic dataset (no ``synth.json``).

    Examples
    --------
    >>> spec = SynthSpec(n_users=50, n_movies=40, n_ratings=500)
    >>> import tempfile
    >>> folder = write_synthetic(spec, Path(tempfile.mkdtemp()) / "synth", progress=False)
    >>> sorted(p.name for p in folder.iterdir())  # doctest: +ELLIPSIS
    [...'movies.csv', ...'ratings.csv', 'synth.json']
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    spec.check()
    target = check_writable_dir(out, what="synthetic dataset", marker=MARKER, parameter="out")
    truth = planted_truth(spec)
    codes = sample_pairs(spec, truth)
    first = _rng(spec, 7).integers(_T0, _T1 - 400 * 86_400, spec.n_users)
    text = _rating_text(spec)
    low, _, step = spec.scale
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with atomic_directory(target, marker=MARKER, what="synthetic dataset") as tmp:
        with open(tmp / "ratings.csv", "wb") as handle:
            handle.write(b"userId,movieId,rating,timestamp\n")
            for chunk, start in enumerate(range(0, len(codes), _CHUNK)):
                part = codes[start : start + _CHUNK]
                users, movies = np.divmod(part, spec.n_movies)
                rng = _rng(spec, 8, chunk)
                values = _ratings_of(spec, truth, users, movies, rng)
                stamps = _timestamps(users, first, rng)
                table = pa.table(
                    {
                        "userId": pa.array((users + 1).astype(np.int32)),
                        "movieId": pa.array((movies + 1).astype(np.int32)),
                        "rating": pa.array(
                            text[np.round((values - low) / step).astype(np.int64)], pa.string()
                        ),
                        "timestamp": pa.array(stamps),
                    }
                )
                pacsv.write_csv(table, handle, options)
                if progress:
                    print(
                        f"  {min(start + _CHUNK, len(codes)):,} / {len(codes):,} ratings",
                        flush=True,
                    )
        titles, genres = _movie_titles(spec, truth)
        movies_table = pa.table(
            {
                "movieId": pa.array(np.arange(1, spec.n_movies + 1, dtype=np.int32)),
                "title": pa.array(titles, pa.string()),
                "genres": pa.array(genres, pa.string()),
            }
        )
        with open(tmp / "movies.csv", "wb") as handle:
            handle.write(b"movieId,title,genres\n")
            pacsv.write_csv(
                movies_table,
                handle,
                pacsv.WriteOptions(include_header=False, quoting_style="needed"),
            )
        np.savez(tmp / "planted.npz", **truth)  # type: ignore[arg-type]  # stub: **kwds may fill allow_pickle
        write_json_atomic(
            tmp / MARKER,
            {"format": "recsys-synthetic/1", **{k: v for k, v in spec.__dict__.items()}},
        )
    return target
