"""The rating networks' forward pass in numpy, from their weight tables (no Keras).

A fitted network (:func:`recsys.models.networks.build_network`) is, at inference, a
few table lookups and small matrix products. :class:`NetworkTables` holds the tables
that pass needs and evaluates it with numpy, so that queries on a saved model
(``recsys predict``, ``recommend``, ``similar``) load neither Keras nor a backend:

``dot``   ``u . m``
``bias``  ``u . m + b_u + b_m + mu``
``mlp``   ``out(relu(hidden([u, m])))`` (dropout is off at inference)

then, with a sigmoid output, ``sigmoid(score) * (high - low) + low``.

The side-feature path of a cold-start network is folded in once, when the tables are
read from the network: at inference the id gate is the movie's warm flag, so the
movie factors and bias the network uses are

    ``m = warm * E[movie] + side_table[movie] @ K + k``,
    ``b_m = warm * B[movie] + side_table[movie] @ K_b + k_b``

and those effective tables are what is stored (``movie_factors``, ``movie_bias``). A
network computed in a mixed-precision policy is scored in float32 (its variables are
float32; its float16/bfloat16 arithmetic is not reproduced).

This module imports numpy only (and :mod:`recsys.errors`). :class:`ModelScorer` adds
what a rating model does around the network (index lookup, the bias baseline for
unknown ids, clipping), for callers that must not import pandas either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError
from recsys.models.spec import KINDS, NetworkSpec, table_shapes

__all__ = [
    "FALLBACK_BOTH",
    "FALLBACK_COLD",
    "FALLBACK_MOVIE",
    "FALLBACK_USER",
    "ModelScorer",
    "NetworkTables",
    "TopKStream",
    "baseline_tables",
    "sorted_index",
]

FALLBACK_USER = "unknown user: movie baseline (mean + movie bias)"
FALLBACK_MOVIE = "unknown movie: user baseline (mean + user bias)"
FALLBACK_BOTH = "unknown user and movie: global mean"
FALLBACK_COLD = "cold-start movie: side features"

#: What :meth:`RatingModel.recommend_all <recsys.models.rating_model.RatingModel.recommend_all>`
#: yields: ``(user_id, movie_ids, scores, fallback)`` per user.
TopKStream = Iterator[tuple[int, NDArray[np.int64], NDArray[np.float32], str]]

#: Pairs scored per step of :meth:`NetworkTables.score` (bounds the temporaries).
PAIR_CHUNK = 1 << 16
#: Float32 elements of the ``(users, movies, hidden)`` temporary of an mlp score matrix.
MLP_BLOCK_ELEMENTS = 1 << 23


class NetworkTables:
    """The weights a rating network scores with, as float32 numpy arrays, by name.

    ===================  ==========================  ==============================
    name                 shape                        kinds
    ===================  ==========================  ==============================
    ``user_factors``     (n_users, factors)           all
    ``movie_factors``    (n_movies, factors)          all (side path folded in)
    ``user_bias``        (n_users,)                   bias
    ``movie_bias``       (n_movies,)                  bias (side path folded in)
    ``offset``           ()                           bias (the learned global mean)
    ``hidden_kernel``    (2 * factors, hidden)        mlp
    ``hidden_bias``      (hidden,)                    mlp
    ``out_kernel``       (hidden,)                    mlp
    ``out_bias``         ()                           mlp
    ``rating_range``     (2,)                         sigmoid output: (low, high)
    ===================  ==========================  ==============================

    Parameters
    ----------
    kind : ``"dot"``, ``"bias"`` or ``"mlp"``.
    arrays : the tables above for that kind and output.
    output : ``"linear"`` or ``"sigmoid"``.

    Raises
    ------
    ValueError
        On an unknown kind or output, a missing or extra table, or inconsistent shapes.

    Examples
    --------
    >>> tables = NetworkTables("dot", {"user_factors": [[1.0, 2.0]],
    ...                                "movie_factors": [[3.0, 4.0], [0.5, 0.0]]})
    >>> tables.score([0, 0], [0, 1]).tolist()
    [11.0, 0.5]
    >>> tables.score_user(0).tolist()
    [11.0, 0.5]
    """

    def __init__(self, kind: str, arrays: dict[str, ArrayLike], output: str = "linear") -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
        if output not in ("linear", "sigmoid"):
            raise ValueError(f"unknown output {output!r}; expected 'linear' or 'sigmoid'")
        self.kind, self.output = kind, output
        self.arrays: dict[str, NDArray[Any]] = {
            name: np.asarray(value, dtype=np.float64 if name == "rating_range" else np.float32)
            for name, value in arrays.items()
        }
        expected = _names(kind, output)
        if set(self.arrays) != expected:
            missing = sorted(expected - set(self.arrays))
            extra = sorted(set(self.arrays) - expected)
            raise ValueError(
                f"the {kind} ({output}) tables "
                + (
                    f"lack {', '.join(missing)}"
                    if missing
                    else f"have unexpected {', '.join(extra)}"
                )
            )
        found = {name: a.shape for name, a in self.arrays.items()}
        hidden = found.get("hidden_bias", (0,))
        wanted = self.expected_shapes(
            NetworkSpec(
                kind,
                n_users=self.n_users,
                n_movies=self.n_movies,
                factors=self.factors,
                hidden=int(hidden[0]) if len(hidden) == 1 else -1,
                output=output,
            )
        )
        wrong = [name for name in sorted(wanted) if found[name] != wanted[name]]
        if wrong:
            raise ValueError(
                f"table {wrong[0]!r} has shape {found[wrong[0]]}, expected {wanted[wrong[0]]}"
            )
        self._movie_hidden: NDArray[np.float32] | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def n_users(self) -> int:
        """Rows of the user tables."""
        shape = np.shape(self.arrays["user_factors"])
        return int(shape[0]) if shape else -1

    @property
    def n_movies(self) -> int:
        """Rows of the movie tables."""
        shape = np.shape(self.arrays["movie_factors"])
        return int(shape[0]) if shape else -1

    @property
    def factors(self) -> int:
        """Embedding size."""
        shape = np.shape(self.arrays["user_factors"])
        return int(shape[1]) if len(shape) == 2 else -1

    @staticmethod
    def expected_shapes(spec: NetworkSpec) -> dict[str, tuple[int, ...]]:
        """The tables a network of ``spec`` scores with and their shapes: the layers of
        :func:`~recsys.models.spec.table_shapes`, plus their biases and the output range.

        Examples
        --------
        >>> shapes = NetworkTables.expected_shapes(NetworkSpec("bias", 3, 4, factors=2))
        >>> shapes["movie_factors"], shapes["movie_bias"], shapes["offset"]
        ((4, 2), (4,), ())
        """
        layers = table_shapes(spec)
        shapes = {
            "user_factors": layers["user_embedding"],
            "movie_factors": layers["movie_embedding"],
        }
        if spec.kind == "bias":
            shapes |= {
                "user_bias": layers["user_bias"][:1],
                "movie_bias": layers["movie_bias"][:1],
                "offset": (),
            }
        if spec.kind == "mlp":
            shapes |= {
                "hidden_kernel": layers["hidden"],
                "hidden_bias": layers["hidden"][1:],
                "out_kernel": layers["out"][:1],
                "out_bias": (),
            }
        if spec.output == "sigmoid":
            shapes["rating_range"] = (2,)
        return shapes

    def check(self, spec: NetworkSpec) -> None:
        """Check that these tables belong to a network of ``spec``.

        Raises
        ------
        ValueError
            On another kind or output, or a table of another shape, with the first
            difference in the message.
        """
        if (self.kind, self.output) != (spec.kind, spec.output):
            raise ValueError(
                f"the tables are of a {self.kind} network with a {self.output} "
                f"output, expected {spec.kind} with {spec.output}"
            )
        for name, shape in self.expected_shapes(spec).items():
            if self.arrays[name].shape != shape:
                raise ValueError(
                    f"table {name!r} has shape {self.arrays[name].shape}, expected {shape}"
                )
        if spec.output == "sigmoid" and not np.allclose(
            self.arrays["rating_range"], spec.rating_range
        ):
            raise ValueError(
                f"the output range is {tuple(self.arrays['rating_range'])}, "
                f"expected {tuple(spec.rating_range)}"
            )

    # ---------------------------------------------------------- from / to files
    @classmethod
    def from_network(cls, network: Any) -> NetworkTables:
        """Read the tables from a Keras network built by
        :func:`~recsys.models.networks.build_network` (or its mixed-precision wrapper),
        by layer name; the side-feature path, when there is one, is folded into the
        movie tables.

        Raises
        ------
        ValueError
            If a layer the network's kind needs is missing.
        """
        layers = _layers_by_name(network)

        def weights(name: str) -> list[NDArray[np.float32]]:
            if name not in layers:
                raise ValueError(f"the network has no layer {name!r}")
            return [np.asarray(w, dtype=np.float32) for w in layers[name].get_weights()]

        kind = "mlp" if "hidden" in layers else "bias" if "user_bias" in layers else "dot"
        movie_factors = weights("movie_embedding")[0]
        arrays: dict[str, ArrayLike] = {
            "user_factors": weights("user_embedding")[0],
            "movie_factors": movie_factors,
        }
        side: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None  # (table, warm)
        if "side_table" in layers:
            table, warm = weights("side_table")[0], weights("movie_warm")[0]
            side = table, warm
            kernel, bias = weights("side_factors")
            arrays["movie_factors"] = (movie_factors * warm + (table @ kernel + bias)).astype(
                np.float32
            )
        if kind == "bias":
            movie_bias = weights("movie_bias")[0]
            if side is not None:
                table, warm = side
                kernel, bias = weights("side_bias")
                movie_bias = movie_bias * warm + (table @ kernel + bias)
            arrays |= {
                "user_bias": weights("user_bias")[0][:, 0],
                "movie_bias": movie_bias[:, 0],
                "offset": weights("global_mean")[0],
            }
        if kind == "mlp":
            hidden_kernel, hidden_bias = weights("hidden")
            out_kernel, out_bias = weights("out")
            arrays |= {
                "hidden_kernel": hidden_kernel,
                "hidden_bias": hidden_bias,
                "out_kernel": out_kernel[:, 0],
                "out_bias": out_bias[0],
            }
        output = "linear"
        if "sigmoid_range" in layers:
            output = "sigmoid"
            layer = layers["sigmoid_range"]
            arrays["rating_range"] = [float(layer.low), float(layer.high)]
        return cls(kind, arrays, output)

    def to_npz(self, file: str | os.PathLike[str]) -> None:
        """Write the tables (uncompressed, for fast loading) with their kind and output."""
        arrays: dict[str, Any] = {
            "kind": np.array(self.kind),
            "output": np.array(self.output),
            **self.arrays,
        }
        np.savez(file, **arrays)

    @classmethod
    def from_npz(cls, file: str | os.PathLike[str]) -> NetworkTables:
        """Read tables written by :meth:`to_npz`.

        Raises
        ------
        ValueError, KeyError, OSError, zipfile.BadZipFile
            On a damaged or foreign file.
        """
        with np.load(file, allow_pickle=False) as saved:
            kind, output = str(saved["kind"]), str(saved["output"])
            arrays = {name: saved[name] for name in saved.files if name not in ("kind", "output")}
        return cls(kind, arrays, output)

    # -------------------------------------------------------------------- tables
    def user_factors(self) -> NDArray[np.float32]:
        """The user embedding table, ``(n_users, factors)``."""
        return self.arrays["user_factors"]

    def movie_factors(self) -> NDArray[np.float32]:
        """The movie vectors the network uses, ``(n_movies, factors)`` (with side features
        ``warm * E + side_factors(s)``)."""
        return self.arrays["movie_factors"]

    def user_biases(self) -> NDArray[np.float32] | None:
        """The user biases, ``(n_users,)``; ``None`` for a kind without biases."""
        return self.arrays.get("user_bias")

    def movie_biases(self) -> NDArray[np.float32] | None:
        """The movie biases the network uses, ``(n_movies,)``; ``None`` without biases."""
        return self.arrays.get("movie_bias")

    # ------------------------------------------------------------------- scoring
    def score(self, users: ArrayLike, movies: ArrayLike) -> NDArray[np.float32]:
        """The network's output for pairs of indices, ``float32 ndarray of shape (n,)``.

        Raises
        ------
        ValueError
            On arrays of different lengths or an index outside the tables.
        """
        u = np.asarray(users, dtype=np.int64).ravel()
        m = np.asarray(movies, dtype=np.int64).ravel()
        if u.shape != m.shape:
            raise ValueError(f"got {len(u)} user indices but {len(m)} movie indices")
        _check_range(u, self.n_users, "user")
        _check_range(m, self.n_movies, "movie")
        out = np.empty(len(u), dtype=np.float32)
        for start in range(0, len(u), PAIR_CHUNK):
            part = slice(start, start + PAIR_CHUNK)
            out[part] = self._pairs(u[part], m[part])
        return self._finish(out)

    def score_user(self, user: int) -> NDArray[np.float32]:
        """Scores of every movie for one user index, ``(n_movies,)``: one matrix-vector
        product."""
        return self.score_users(np.array([int(user)]))[0]

    def score_users(self, users: ArrayLike) -> NDArray[np.float32]:
        """Scores of every movie for each user index, ``(len(users), n_movies)``.

        One matrix product for ``dot`` and ``bias``; the ``mlp`` works in blocks of users
        (its hidden layer does not factor). Give a few thousand users at a time to bound
        the result's memory (see :meth:`iter_user_scores`).
        """
        u = np.asarray(users, dtype=np.int64).ravel()
        _check_range(u, self.n_users, "user")
        a = self.arrays
        if self.kind == "mlp":
            movie_part = self._movie_projection()
            factors = self.factors
            user_part = a["user_factors"][u] @ a["hidden_kernel"][:factors] + a["hidden_bias"]
            out = np.empty((len(u), self.n_movies), dtype=np.float32)
            step = max(1, MLP_BLOCK_ELEMENTS // max(1, movie_part.size))
            for start in range(0, len(u), step):
                block = np.maximum(user_part[start : start + step, None, :] + movie_part[None], 0)
                out[start : start + step] = block @ a["out_kernel"] + a["out_bias"]
            return self._finish(out)
        if len(u) == 1:
            out = (a["movie_factors"] @ a["user_factors"][u[0]])[None, :]
        else:
            out = a["user_factors"][u] @ a["movie_factors"].T
        if self.kind == "bias":
            out = out + a["user_bias"][u][:, None]
            out += a["movie_bias"][None, :]
            out += a["offset"]
        return self._finish(np.asarray(out, dtype=np.float32))

    def iter_user_scores(
        self, users: ArrayLike, block: int = 1024
    ) -> Iterator[tuple[slice, NDArray[np.float32]]]:
        """``(rows, scores)`` for consecutive blocks of ``users``: ``scores`` is
        :meth:`score_users` of ``users[rows]``."""
        u = np.asarray(users, dtype=np.int64).ravel()
        for start in range(0, len(u), block):
            rows = slice(start, min(start + block, len(u)))
            yield rows, self.score_users(u[rows])

    def _pairs(self, u: NDArray[np.int64], m: NDArray[np.int64]) -> NDArray[np.float32]:
        a = self.arrays
        users, movies = a["user_factors"][u], a["movie_factors"][m]
        if self.kind == "mlp":
            factors = self.factors
            hidden = (
                users @ a["hidden_kernel"][:factors]
                + movies @ a["hidden_kernel"][factors:]
                + a["hidden_bias"]
            )
            return np.maximum(hidden, 0) @ a["out_kernel"] + a["out_bias"]
        score = np.einsum("ij,ij->i", users, movies)
        if self.kind == "bias":
            score = score + a["user_bias"][u] + a["movie_bias"][m] + a["offset"]
        return score

    def _movie_projection(self) -> NDArray[np.float32]:
        """``movie_factors @ hidden_kernel[factors:]``, the movie half of the mlp's hidden
        layer (computed once)."""
        if self._movie_hidden is None:
            kernel = self.arrays["hidden_kernel"][self.factors :]
            self._movie_hidden = (self.arrays["movie_factors"] @ kernel).astype(np.float32)
        return self._movie_hidden

    def _finish(self, raw: NDArray[np.float32]) -> NDArray[np.float32]:
        raw = np.asarray(raw, dtype=np.float32)
        if self.output != "sigmoid":
            return raw
        low, high = (float(x) for x in self.arrays["rating_range"])
        with np.errstate(over="ignore"):
            squashed = np.float32(1) / (np.float32(1) + np.exp(-raw))
        return (squashed * np.float32(high - low) + np.float32(low)).astype(np.float32)


def _names(kind: str, output: str) -> set[str]:
    spec = NetworkSpec(kind, n_users=0, n_movies=0, output=output)
    return set(NetworkTables.expected_shapes(spec))


def _layers_by_name(network: Any) -> dict[str, Any]:
    """Every layer of ``network`` by name, nested models' layers included."""
    found: dict[str, Any] = {}
    for layer in getattr(network, "layers", []):
        found.setdefault(layer.name, layer)
        if getattr(layer, "layers", None):
            for name, inner in _layers_by_name(layer).items():
                found.setdefault(name, inner)
    return found


def _check_range(indices: NDArray[np.int64], size: int, what: str) -> None:
    if len(indices) and (indices.min() < 0 or indices.max() >= size):
        bad = int(indices[(indices < 0) | (indices >= size)][0])
        raise ValueError(f"{what} index {bad} is outside the table (0..{size - 1})")


def baseline_tables(baseline: Any) -> NetworkTables:
    """A bias-only baseline (``mean_``, ``user_bias_``, ``movie_bias_``) as the tables of a
    ``bias`` network with one zero factor: it scores ``mean + b_u + b_m``, so every
    prediction and top-N path can use it in place of a network's tables."""
    user_bias = np.asarray(baseline.user_bias_, dtype=np.float32)
    movie_bias = np.asarray(baseline.movie_bias_, dtype=np.float32)
    return NetworkTables(
        "bias",
        {
            "user_factors": np.zeros((len(user_bias), 1), dtype=np.float32),
            "movie_factors": np.zeros((len(movie_bias), 1), dtype=np.float32),
            "user_bias": user_bias,
            "movie_bias": movie_bias,
            "offset": np.float32(baseline.mean_),
        },
    )


def sorted_index(ids: NDArray[np.int64], raw_ids: ArrayLike) -> NDArray[np.int32]:
    """Positions of ``raw_ids`` in the sorted unique array ``ids``; ``-1`` for an id not
    in it (what :meth:`recsys.data.vocab.Vocabulary.index` returns with
    ``missing="negative"``).

    >>> sorted_index(np.array([10, 20, 30]), [20, 5, 30, 99]).tolist()
    [1, -1, 2, -1]
    """
    raw = np.asarray(raw_ids, dtype=np.int64).ravel()
    if not len(ids):
        return np.full(len(raw), -1, dtype=np.int32)
    pos = np.minimum(np.searchsorted(ids, raw), len(ids) - 1)
    return np.where(ids[pos] == raw, pos, -1).astype(np.int32)


class ModelScorer:
    """A fitted rating model's predictions, with numpy only: the network's tables, the
    id vocabularies, and the bias baseline for ids the network has not seen.

    :meth:`RatingModel.predict_frame <recsys.models.rating_model.RatingModel.predict_frame>`
    is this class's :meth:`predict` as a DataFrame; ``recsys predict`` uses it directly.

    Parameters
    ----------
    tables : the network's tables.
    user_ids, movie_ids : the sorted raw ids of the vocabularies (row ``i`` of a table
        belongs to ``ids[i]``).
    baseline : ``(mean, user_bias, movie_bias)`` of the bias baseline.
    movie_warm : bool ``(n_movies,)``, whether each movie had training ratings.
    side : whether the model has side features (its cold movies are scored by them).
    rating_scale : ``(low, high)``: predictions are clipped to it; ``None`` leaves
        them as they are (a model trained for ranking, whose scores are not ratings).
    """

    def __init__(
        self,
        tables: NetworkTables,
        user_ids: NDArray[np.int64],
        movie_ids: NDArray[np.int64],
        baseline: tuple[float, NDArray[np.float64], NDArray[np.float64]],
        movie_warm: NDArray[np.bool_],
        *,
        side: bool,
        rating_scale: tuple[float, float] | None,
    ) -> None:
        self.tables = tables
        self.user_ids, self.movie_ids = user_ids, movie_ids
        self.baseline = baseline
        self.movie_warm = movie_warm
        self.side = side
        self.rating_scale = rating_scale

    def predict(self, user_ids: ArrayLike, movie_ids: ArrayLike) -> dict[str, NDArray[Any]]:
        """Predictions for pairs of raw ids, as columns: ``user_id``, ``movie_id``,
        ``prediction`` (float32, clipped to the rating scale) and ``fallback`` (what
        stood in for the network, ``""`` when it scored the pair).

        Raises
        ------
        DataError
            If the two id arrays differ in length.
        """
        users = np.asarray(user_ids, dtype=np.int64).ravel()
        movies = np.asarray(movie_ids, dtype=np.int64).ravel()
        if users.shape != movies.shape:
            raise DataError(
                f"got {len(users)} user ids but {len(movies)} movie ids; give one movie per user."
            )
        u = sorted_index(self.user_ids, users)
        m = sorted_index(self.movie_ids, movies)
        known = (u >= 0) & (m >= 0)
        mean, user_bias, movie_bias = self.baseline
        pred = (
            mean
            + np.where(u >= 0, user_bias[np.maximum(u, 0)], 0.0)
            + np.where(m >= 0, movie_bias[np.maximum(m, 0)], 0.0)
        ).astype(np.float32)
        if known.any():
            pred[known] = self.tables.score(u[known], m[known])
        fallback = np.full(len(users), "", dtype=object)
        fallback[(u < 0) & (m >= 0)] = FALLBACK_USER
        fallback[(u >= 0) & (m < 0)] = FALLBACK_MOVIE
        fallback[(u < 0) & (m < 0)] = FALLBACK_BOTH
        if self.side:
            fallback[known & ~self.movie_warm[np.maximum(m, 0)]] = FALLBACK_COLD
        return {
            "user_id": users,
            "movie_id": movies,
            "prediction": pred if self.rating_scale is None else np.clip(pred, *self.rating_scale),
            "fallback": fallback,
        }
