"""``RatingModel``: fit, predict, recommend and explain with a Keras rating network.

The estimator owns everything a prediction needs besides the network: the id
vocabularies (training part only), the rating scale, the bias baseline used for ids
the network has never seen, and the training interactions (to leave rated movies out
of recommendations).

Given movie side features (``fit(..., side_features=blocks)``), the movie vocabulary
also holds every movie that has at least one of the blocks, and the network adds a
projection of those features to each movie's id embedding and bias (see
:mod:`recsys.models.networks`). A movie without training ratings (cold start) is then
scored from its features alone, for each user personally.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator

from recsys.data.vocab import Vocabulary
from recsys.errors import (
    DataError,
    InvalidParameterError,
    NotFittedError,
    RecsysError,
    UnknownIdError,
)
from recsys.evaluation.rating import rmse
from recsys.features.store import FeatureBlock
from recsys.ids import IdMaps
from recsys.models.baselines import BiasBaseline
from recsys.models.day_bias import MAX_DAY, DayBiases, choose_day_biases, rating_days
from recsys.models.ensemble import MERGEABLE_KINDS, merge_networks, merged_spec
from recsys.models.history import EpochLog, TrainingResult
from recsys.models.interactions import Interactions
from recsys.models.model_dir import (
    SavedModel,
    load_network,
    read_model_dir,
    training_json,
    write_model_dir,
)
from recsys.models.options import TrainingOptions
from recsys.models.scoring import (
    FALLBACK_BOTH,
    FALLBACK_COLD,
    FALLBACK_MOVIE,
    FALLBACK_USER,
    ModelScorer,
    NetworkTables,
    TopKStream,
    baseline_tables,
)
from recsys.models.side_features import SideFeatures
from recsys.models.spec import (
    BPR_DEFAULTS,
    DEFAULTS,
    KINDS,
    PATIENCE,
    SCALE_AWARE,
    SIDE_DEFAULTS,
    NetworkSpec,
    rating_scale_factor,
)

Arrays = tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]]

__all__ = [
    "DEFAULTS",
    "FALLBACK_BOTH",
    "FALLBACK_COLD",
    "FALLBACK_MOVIE",
    "FALLBACK_USER",
    "SIDE_DEFAULTS",
    "RatingModel",
]

VALIDATION_SPLITS = ("ratings", "movies")
#: The training objectives (see ``objective``).
OBJECTIVES = ("rating", "bpr")
#: Largest side-feature table (float32, one row per movie) a model may hold in memory.
MAX_SIDE_TABLE_BYTES = 1 << 30


class RatingModel(BaseEstimator):
    """An embedding-based rating model (``dot``, ``bias`` or ``mlp``) as an estimator.

    Parameters
    ----------
    kind : ``"dot"`` (``u . m``), ``"bias"`` (``u . m + b_u + b_m + mu``) or ``"mlp"``
        (concatenated embeddings -> dropout -> dense relu -> dropout -> 1).
    factors : embedding size.
    l2 : row-wise L2 penalty on the embeddings a batch looks up (see
        :class:`~recsys.models.layers.RowL2Embedding`).
    bias_l2 : the same on the user and movie biases (``bias`` only).
    dropout : ``(before, after)`` the hidden layer (``mlp`` only).
    hidden : hidden layer width (``mlp`` only).
    learning_rate : of the :class:`~recsys.models.optimizers.LazyAdam` optimizer.
    batch_size : ratings per step.
    epochs : maximum epochs.
    patience : epochs without validation improvement before early stopping; ``None``
        is :data:`~recsys.models.spec.PATIENCE` of the objective (3 for ``rating``, 10
        for ``bpr``).
    validation_fraction : share of the training ratings held out for early stopping
        (0 trains every epoch without validation).
    output : ``"linear"`` or ``"sigmoid"`` (squash into the rating scale widened by 5%
        of its span on each side, as fastai's ``y_range``).
    seed : seeds weight initialisation, dropout, the validation carve and shuffling.
    verbose : print one line per epoch.
    side_l2 : L2 penalty on the kernels of the side-feature projections (only with
        side features).
    id_dropout : share of training ratings whose movie id embedding and id bias are
        dropped, so the side features learn to stand alone (only with side features).
        ``None``: 0.5 with ``validation_split="movies"`` (a cold-start objective: it
        lowers the validation RMSE of unrated movies for every kind), else 0 (it costs
        accuracy on movies with ratings).
    objective : ``"rating"`` fits the ratings (squared error); ``"bpr"`` fits a ranking
        (Bayesian personalised ranking: each training rating is a positive, scored
        above one movie its user did not rate in training, drawn anew every epoch), and
        early stopping watches the NDCG@``ranking_k`` of the validation part. A ``bpr``
        model's scores are not ratings: :meth:`predict` returns them unclipped and the
        output is linear unless ``output`` is given.
    ranking_k : the cut-off of the validation NDCG (``bpr`` only).
    fallback : ``"auto"``: when the fitted network's RMSE on the validation part is
        worse than the bias-only baseline's (fitted on the same fitting part), predict
        with the baseline instead (``fallback_`` says so; the embeddings stay the
        network's). ``"never"``: always predict with the network. Rating objective only.
    validation_split : ``"ratings"`` holds out a random ``validation_fraction`` of the
        training ratings; ``"movies"`` holds out every rating of a random
        ``validation_fraction`` of the training movies, which become cold-start movies
        for the fit, so early stopping measures cold-start accuracy (needs side
        features; use it when the test part is split by movies).
    members : train this many networks (seeds ``seed``, ``seed + 1``, ...) and predict
        with the mean of their scores, saved as one network with ``members * factors``
        factors (see :mod:`recsys.models.ensemble`; ``dot`` and ``bias`` only). Costs
        ``members`` times the training time; on ml-latest-small five default ``bias``
        members lowered the validation RMSE from 0.8483 to 0.8446.
    day_bias : ``"auto"``: when the training ratings have timestamps, add a bias per
        (user, day) fitted on the network's residuals, with its shrinkage chosen on the
        validation part, or none when it does not lower the validation RMSE (Koren's
        ``b_{u,t}``, see :mod:`recsys.models.day_bias`). It applies to predictions given
        a timestamp (``predict(..., timestamps=...)``; the evaluation passes the test
        ratings'); rankings are unchanged. ``"off"``: never. Rating objective only.

    ``None`` for ``factors``, ``l2`` or ``learning_rate`` means the kind's default in
    :data:`DEFAULTS` (:data:`~recsys.models.spec.BPR_DEFAULTS` first for ``bpr``, and
    :data:`SIDE_DEFAULTS` first when fitted with side features).

    The estimator follows scikit-learn's contract: ``get_params``/``set_params`` read
    the constructor's signature, ``sklearn.base.clone`` gives an unfitted copy, ``fit``
    returns ``self``. Only ``kind`` may be given by position.

    Attributes
    ----------
    network_ : keras.Model, the fitted network (a loaded model reads it on first use).
    spec_ : NetworkSpec, the network's description (sizes and resolved
        hyper-parameters).
    user_vocab_ : Vocabulary of n_users ids, the users of the fitting part.
    movie_vocab_ : Vocabulary of n_movies ids, the movies of the fitting part (and,
        with side features, every movie that has one of the blocks).
    baseline_ : BiasBaseline, for ids the network has not seen; ``user_bias_`` of shape
        (n_users,), ``movie_bias_`` of shape (n_movies,).
    rating_scale_ : tuple (low, high).
    global_mean_ : float, the mean rating of the fitting part.
    training_ : TrainingResult, the history of the training run (of the first member).
    members_training_ : list of TrainingResult, one per member (after ``fit`` only).
    n_train_ : int, ratings the network was trained on.
    n_validation_ : int, validation ratings early stopping watched.
    n_validation_dropped_ : int, carved validation ratings the network could not score.
    movies_ : DataFrame or None, the movie catalogue given to ``fit`` (titles, genres).
    seen_ : Interactions, who rated what in the training data given to ``fit``
        (early-stopping share included; ``indptr`` of shape (n_users + 1,)), for
        ``recommend`` and the analysis.
    side_features_ : SideFeatures or None, the side-feature layout and standardisation.
    movie_warm_ : ndarray of bool, shape (n_movies,), whether each movie of the
        vocabulary had training ratings (False: a cold-start movie known by its
        features).
    precision_ : str, the precision policy the network was trained with (only after
        ``fit``, not on a loaded model).
    scale_factor_ : float, what the defaults in :data:`~recsys.models.spec.SCALE_AWARE`
        were multiplied by for the spread of these ratings (1: ml-latest-small's spread;
        see :func:`~recsys.models.spec.rating_scale_factor`). Values given explicitly are
        never scaled.
    fallback_ : ``"bias_only"`` when predictions come from the bias-only baseline
        because it beat the network on the validation part, else ``None``.
    validation_rmse_ : float or None, the network's RMSE on the validation part
        (clipped to the scale; ``None`` without a validation part or for ``bpr``).
    baseline_validation_rmse_ : float or None, the bias-only baseline's on the same part.
    day_biases_ : DayBiases or None, the (user, day) biases (``day_bias``), ``None``
        when not fitted or not chosen.
    day_bias_report_ : dict or None, what the choice of ``day_biases_`` found: the
        validation RMSE without the term and per shrinkage, the chosen shrinkage, or
        why there is none.
    ids_ : IdMaps, the strings of string ids (the model's ids are their codes: turn
        them back with ``ids_.show_user(code)``, ``ids_.decode_frame(frame)``); empty
        for integer ids.

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> ratings = load_dataset().ratings
    >>> sample = ratings[ratings["user_id"] <= 50]
    >>> model = RatingModel("bias", epochs=2, factors=8).fit(sample)
    >>> model.training_.epochs_run, model.predict([1], [1]).shape
    (2, (1,))
    >>> from sklearn.base import clone
    >>> clone(model)
    RatingModel(epochs=2, factors=8)
    """

    spec_: NetworkSpec
    user_vocab_: Vocabulary
    movie_vocab_: Vocabulary
    baseline_: BiasBaseline
    rating_scale_: tuple[float, float]
    global_mean_: float
    training_: TrainingResult
    n_train_: int
    n_validation_: int
    n_validation_dropped_: int
    movies_: pd.DataFrame | None
    seen_: Interactions
    side_features_: SideFeatures | None
    movie_warm_: NDArray[np.bool_]
    precision_: str

    def __init__(
        self,
        kind: str = "bias",
        *,
        factors: int | None = None,
        l2: float | None = None,
        bias_l2: float | None = None,
        dropout: tuple[float, float] | None = None,
        hidden: int | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        epochs: int = 50,
        patience: int | None = None,
        validation_fraction: float = 0.05,
        output: str | None = None,
        seed: int = 0,
        verbose: bool = False,
        side_l2: float = 0.01,
        id_dropout: float | None = None,
        validation_split: str = "ratings",
        objective: str = "rating",
        ranking_k: int = 10,
        fallback: str = "auto",
        members: int = 1,
        day_bias: str = "auto",
    ) -> None:
        self.kind = kind
        self.factors = factors
        self.l2 = l2
        self.bias_l2 = bias_l2
        self.dropout = dropout
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.output = output
        self.seed = seed
        self.verbose = verbose
        self.side_l2 = side_l2
        self.id_dropout = id_dropout
        self.validation_split = validation_split
        self.fallback = fallback
        self.objective = objective
        self.ranking_k = ranking_k
        self.members = members
        self.day_bias = day_bias

    # ------------------------------------------------------------------ parameters
    def resolved_params(self) -> dict[str, Any]:
        """The hyper-parameters with the kind's defaults filled in."""
        return self._resolved(side=getattr(self, "side_features_", None) is not None)

    def _resolved(self, *, side: bool) -> dict[str, Any]:
        self._check_params()
        params = self.get_params(deep=False)
        defaults = {
            **DEFAULTS[self.kind],
            **(BPR_DEFAULTS[self.kind] if self.objective == "bpr" else {}),
            **(SIDE_DEFAULTS[self.kind] if side else {}),
        }
        scale = getattr(self, "scale_factor_", 1.0)
        for key, value in defaults.items():
            if params[key] is None:
                params[key] = value * scale if key in SCALE_AWARE[self.kind] else value
        if params["patience"] is None:
            params["patience"] = PATIENCE[self.objective]
        if params["id_dropout"] is None:
            params["id_dropout"] = 0.5 if self.validation_split == "movies" else 0.0
        params["dropout"] = tuple(float(d) for d in params["dropout"])
        return params

    def _check_params(self) -> None:
        if self.kind not in KINDS:
            raise InvalidParameterError(
                "kind", f"unknown model kind {self.kind!r}; use one of {', '.join(KINDS)}."
            )
        checks = [
            ("factors", self.factors, lambda v: v is None or (int(v) == v and v >= 1)),
            ("l2", self.l2, lambda v: v is None or v >= 0),
            ("bias_l2", self.bias_l2, lambda v: v is None or v >= 0),
            ("hidden", self.hidden, lambda v: v is None or (int(v) == v and v >= 1)),
            ("learning_rate", self.learning_rate, lambda v: v is None or v > 0),
            ("batch_size", self.batch_size, lambda v: v is None or (int(v) == v and v >= 1)),
            ("epochs", self.epochs, lambda v: int(v) == v and v >= 1),
            ("patience", self.patience, lambda v: v is None or (int(v) == v and v >= 1)),
            ("validation_fraction", self.validation_fraction, lambda v: 0 <= v < 1),
            (
                "dropout",
                self.dropout,
                lambda v: v is None or (len(v) == 2 and all(0 <= d < 1 for d in v)),
            ),
            ("side_l2", self.side_l2, lambda v: v >= 0),
            ("id_dropout", self.id_dropout, lambda v: v is None or 0 <= v < 1),
            ("ranking_k", self.ranking_k, lambda v: int(v) == v and v >= 1),
            ("members", self.members, lambda v: int(v) == v and v >= 1),
        ]
        for name, value, ok in checks:
            if not ok(value):
                raise InvalidParameterError(
                    name,
                    f"invalid {name}={value!r}; see RatingModel's docstring for the allowed range.",
                )
        if self.output not in (None, "linear", "sigmoid"):
            raise InvalidParameterError(
                "output", f"invalid output={self.output!r}; use 'linear' or 'sigmoid'."
            )
        if self.objective not in OBJECTIVES:
            raise InvalidParameterError(
                "objective",
                f"invalid objective={self.objective!r}; use one of {', '.join(OBJECTIVES)}.",
            )
        if self.fallback not in ("auto", "never"):
            raise InvalidParameterError(
                "fallback", f"invalid fallback={self.fallback!r}; use 'auto' or 'never'."
            )
        if self.day_bias not in ("auto", "off"):
            raise InvalidParameterError(
                "day_bias", f"invalid day_bias={self.day_bias!r}; use 'auto' or 'off'."
            )
        if self.members > 1 and self.kind not in MERGEABLE_KINDS:
            raise InvalidParameterError(
                "members",
                f"members={self.members} averages dot or bias networks; an {self.kind} "
                "network is not linear in its embeddings. Use members=1.",
            )
        if self.validation_split not in VALIDATION_SPLITS:
            raise InvalidParameterError(
                "validation_split",
                f"invalid validation_split={self.validation_split!r}; use 'ratings' or 'movies'.",
            )

    # ------------------------------------------------------------------------ fit
    def fit(
        self,
        ratings: pd.DataFrame,
        *,
        validation: pd.DataFrame | None = None,
        rating_scale: tuple[float, float] | None = None,
        movies: pd.DataFrame | None = None,
        side_features: Sequence[FeatureBlock] | None = None,
        options: TrainingOptions | None = None,
        ids: IdMaps | None = None,
    ) -> RatingModel:
        """Fit on a ratings frame (``user_id, movie_id, rating``); returns ``self``.

        Parameters
        ----------
        ratings : the training part. Unless ``validation`` is given, a seeded
            ``validation_fraction`` of it is held out for early stopping.
        validation : explicit validation ratings (never the test part).
        rating_scale : ``(low, high)``; inferred from ``ratings`` when omitted.
        movies : optional movie catalogue (``movie_id, title, ...``) kept for display.
        side_features : optional feature blocks (e.g. ``FeatureStore(dir).blocks([...])``)
            to add to the movie side. They are standardised with statistics of the
            training movies; every movie with at least one block joins the vocabulary,
            so movies without training ratings get predictions from their features.
            Movies with neither ratings nor features stay unknown (baseline fallback).
            Blocks learned from ratings (``embedding``, ``pca``, or any block whose
            provenance says so) are refused: they can have seen the test ratings.
        options : where and how to train: distribution, checkpoints, precision,
            optimizer updates (:class:`~recsys.models.options.TrainingOptions`; the
            Keras backend is the one :mod:`recsys.backend` selected). They never change
            the hyper-parameters.
        ids : the strings of string ids whose codes ``ratings`` holds
            (:attr:`recsys.data.Dataset.ids`); kept as ``ids_`` and saved with the
            model, so that the codes can be turned back into the strings.

        Raises
        ------
        InvalidParameterError
            If the id columns hold strings (number them with
            :func:`recsys.data.load_ratings_frame`).
        DataError
            On empty input, ratings outside ``rating_scale``, bad hyper-parameters,
            side-feature blocks learned from ratings, or side-feature blocks that cover
            none of the training movies.
        """
        _check_integer_ids(ratings, "ratings")
        if validation is not None:
            _check_integer_ids(validation, "validation")
        options = _with_strategy(options or TrainingOptions())
        if self.members > 1 and options.checkpoint_dir is not None:
            raise InvalidParameterError(
                "members",
                "checkpoints resume one network; train members > 1 without checkpoint_dir.",
            )
        blocks = list(side_features) if side_features is not None else None
        if blocks:
            SideFeatures.check_sources(blocks)  # no block learned from ratings: a leak
        low, high = self._rating_scale(ratings, rating_scale)
        self.scale_factor_ = (
            rating_scale_factor(float(np.std(ratings["rating"].to_numpy(dtype=np.float64))))
            if self.objective == "rating"
            else 1.0
        )
        params = self._resolved(side=bool(blocks))
        if self.validation_split == "movies" and not blocks and validation is None:
            raise InvalidParameterError(
                "validation_split",
                "validation_split='movies' needs side features: held-out "
                "validation movies can only be scored through them; pass "
                "side_features or use validation_split='ratings'.",
            )
        val_mask = None
        if validation is None and self.validation_fraction > 0:
            val_mask = self._validation_mask(ratings, np.random.default_rng(self.seed))
        fit_part = ratings if val_mask is None else ratings[~val_mask]
        self._fit_vocabularies(fit_part, blocks)
        self.rating_scale_ = (low, high)
        train_arrays, validation_arrays = self._index(ratings, val_mask, validation)
        self.movies_ = movies
        networks, runs = [], []
        for member in range(int(self.members)):
            spec = self._spec(params, int(self.seed) + member)
            network, optimizer = self._build(spec, blocks, params, options)
            runs.append(
                self._train(network, optimizer, train_arrays, validation_arrays, params, options)
            )
            last = runs[-1].history[-1]
            if not np.isfinite(last.loss):
                raise RecsysError(
                    f"training diverged at epoch {last.epoch} (the loss is not a "
                    "number); lower the learning rate or raise l2."
                )
            networks.append(self.network_)
        self.training_, self.members_training_ = runs[0], runs
        if len(networks) > 1:
            self.spec_ = merged_spec(self._spec(params, int(self.seed)), len(networks))
            self.network_ = merge_networks(
                networks, self._spec(params, int(self.seed)), options.precision
            )
        self.n_train_ = len(train_arrays[0])
        self.ids_ = ids if ids is not None else IdMaps()
        self._choose_fallback(validation_arrays)
        self._fit_day_biases(ratings, val_mask, validation)
        return self

    def _fit_day_biases(
        self,
        ratings: pd.DataFrame,
        val_mask: NDArray[np.bool_] | None,
        validation: pd.DataFrame | None,
    ) -> None:
        """Choose and fit :attr:`day_biases_` (see the ``day_bias`` parameter).

        The shrinkage is chosen on the validation part with residuals of the fitting
        part only; the chosen table is refitted on every rating of ``ratings`` (the
        carved validation share included, an explicit ``validation`` never).
        """
        self.day_biases_: DayBiases | None = None
        self.day_bias_report_: dict[str, Any] | None = None
        if self.day_bias == "off" or not self.predicts_ratings:
            return
        held_out = ratings[val_mask] if val_mask is not None else validation
        why = None
        if "timestamp" not in ratings.columns:
            why = "the training ratings have no timestamps"
        elif np.abs(rating_days(ratings["timestamp"].to_numpy())).max() > MAX_DAY:
            why = "the timestamps do not look like seconds since the epoch (ms or ns?)"
        elif held_out is None or len(held_out) == 0:
            why = "no validation part to choose the shrinkage on"
        elif "timestamp" not in held_out.columns:
            why = "the validation ratings have no timestamps"
        if why is not None:
            self.day_bias_report_ = {"shrinkage": None, "why": why}
            return
        assert held_out is not None
        every = self._residuals(ratings)  # one scoring pass over the training ratings
        if val_mask is not None:
            fit = tuple(a[~val_mask] for a in every)
            val_users, val_days, val_residuals = (a[val_mask] for a in every)
        else:
            fit = every
            val_users, val_days, val_residuals = self._residuals(held_out)
        truth = held_out["rating"].to_numpy(dtype=np.float64)
        chosen, report = choose_day_biases(
            (fit[0], fit[1], fit[2]),
            (val_users, val_days, truth - val_residuals, truth),
            self.rating_scale_,
        )
        self.day_bias_report_ = {"shrinkage": chosen, **report}
        if chosen is None:
            self.day_bias_report_["why"] = "no shrinkage lowered the validation RMSE"
            return
        # refitted on every training rating: the carved share too, an explicit
        # validation part never (``every`` is then the fitting part)
        self.day_biases_ = DayBiases.fit(*every, shrinkage=chosen)
        self.day_bias_report_["n_pairs"] = len(self.day_biases_.keys)

    def _residuals(
        self, frame: pd.DataFrame
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """User indices, days and ``rating - prediction`` (the clipped prediction
        without day biases) of a ratings frame with timestamps, each (n,)."""
        users, movies = frame["user_id"].to_numpy(), frame["movie_id"].to_numpy()
        predicted = self._scorer().predict(users, movies)["prediction"].astype(np.float64)
        return (
            self.user_vocab_.index(users, missing="negative").astype(np.int64),
            rating_days(frame["timestamp"].to_numpy()),
            frame["rating"].to_numpy(dtype=np.float64) - predicted,
        )

    def _choose_fallback(self, validation: Arrays | None) -> None:
        """Compare the network with the bias-only baseline on the validation part and
        set :attr:`fallback_` (see the ``fallback`` parameter)."""
        self.fallback_ = None
        self.validation_rmse_ = self.baseline_validation_rmse_ = None
        self.__dict__.pop("_baseline_tables", None)
        if not self.predicts_ratings or validation is None or len(validation[0]) == 0:
            return
        vu, vm, vr = (np.asarray(a) for a in validation)
        low, high = self.rating_scale_
        truth = vr.astype(np.float64)
        network = np.clip(self._tables().score(vu, vm).astype(np.float64), low, high)
        baseline = np.clip(self.baseline_.predict(vu, vm), low, high)
        self.validation_rmse_ = rmse(truth, network)
        self.baseline_validation_rmse_ = rmse(truth, baseline)
        if self.fallback == "auto" and self.baseline_validation_rmse_ < self.validation_rmse_:
            self.fallback_ = "bias_only"
            # chosen on validation: refitted, like any chosen model, on every training
            # rating the vocabularies know (the validation share included)
            seen = self.seen_
            users = np.repeat(np.arange(len(seen.indptr) - 1), np.diff(seen.indptr))
            self.baseline_ = BiasBaseline().fit(
                users,
                seen.movies,
                seen.ratings,
                n_users=len(self.user_vocab_),
                n_movies=len(self.movie_vocab_),
            )

    def _prediction_tables(self) -> NetworkTables:
        """The tables predictions score with: the network's, or, with
        :attr:`fallback_`, the bias-only baseline's as a ``bias`` network with zero
        factors (``mean + b_u + b_m``)."""
        if getattr(self, "fallback_", None) is None:
            return self._tables()
        tables = self.__dict__.get("_baseline_tables")
        if tables is None:
            tables = baseline_tables(self.baseline_)
            self.__dict__["_baseline_tables"] = tables
        return tables

    @staticmethod
    def _rating_scale(
        ratings: pd.DataFrame, rating_scale: tuple[float, float] | None
    ) -> tuple[float, float]:
        """The rating scale given or inferred, checked against the training ratings."""
        if len(ratings) == 0:
            raise DataError("cannot fit on zero ratings; give a non-empty training part.")
        values = ratings["rating"].to_numpy(dtype=np.float32)
        if rating_scale is None:
            rating_scale = (float(values.min()), float(values.max()))
            if rating_scale[0] == rating_scale[1]:
                raise DataError(
                    f"every training rating is {rating_scale[0]}; a rating model "
                    "needs at least two distinct values (or an explicit rating_scale).",
                    parameter="rating_scale",
                )
        low, high = (float(x) for x in rating_scale)
        if not low < high:
            raise InvalidParameterError(
                "rating_scale",
                f"rating_scale={tuple(rating_scale)} must have low < high, e.g. (0.5, 5.0).",
            )
        if values.min() < low or values.max() > high:
            raise DataError(
                f"training ratings span {values.min():g}..{values.max():g}, outside "
                f"the rating scale {low:g}..{high:g}; give a rating_scale that holds "
                "every training rating.",
                parameter="rating_scale",
            )
        return low, high

    def _fit_vocabularies(self, fit_part: pd.DataFrame, blocks: list[FeatureBlock] | None) -> None:
        """User and movie vocabularies (training part only) and the side-feature layout."""
        self.user_vocab_ = Vocabulary(fit_part["user_id"], entity="user")
        self.side_features_ = None
        if not blocks:
            self.movie_vocab_ = Vocabulary(fit_part["movie_id"], entity="movie")
            return
        self.side_features_ = side = SideFeatures.from_blocks(
            blocks, fit_part["movie_id"].to_numpy()
        )
        self.movie_vocab_ = Vocabulary(
            np.concatenate(
                [fit_part["movie_id"].to_numpy(dtype=np.int64), SideFeatures.covered(blocks)]
            ),
            entity="movie",
        )
        table_bytes = 4 * len(self.movie_vocab_) * side.dim
        if table_bytes > MAX_SIDE_TABLE_BYTES:
            sizes = ", ".join(f"{n} {d}-d" for n, d in zip(side.names, side.dims, strict=True))
            raise DataError(
                f"the side-feature table would take {table_bytes / 2**20:,.1f} MiB "
                f"({len(self.movie_vocab_):,} movies x {side.dim:,} columns: {sizes}); "
                "use fewer or smaller blocks (e.g. pooled poster features, not "
                "flattened ones)."
            )

    def _index(
        self,
        ratings: pd.DataFrame,
        val_mask: NDArray[np.bool_] | None,
        validation: pd.DataFrame | None,
    ) -> tuple[Arrays, Arrays | None]:
        """Index arrays of the fitting and validation parts; fits the baseline and
        who-rated-what on the way."""
        # every training rating is indexed once: the fitting part, the carved validation
        # part and who-rated-what are slices of these
        all_u = self.user_vocab_.index(ratings["user_id"], missing="negative")
        all_m = self.movie_vocab_.index(ratings["movie_id"], missing="negative")
        all_r = ratings["rating"].to_numpy(dtype=np.float32)
        fit_rows = slice(None) if val_mask is None else ~val_mask
        u, m, r = all_u[fit_rows], all_m[fit_rows], all_r[fit_rows]
        self.baseline_ = BiasBaseline().fit(
            u, m, r, n_users=len(self.user_vocab_), n_movies=len(self.movie_vocab_)
        )
        self.global_mean_ = float(r.mean())
        # who rated what: the whole training part (the early-stopping share included), so
        # recommendations leave out every movie the user rated in training
        known = (all_u >= 0) & (all_m >= 0)
        self.seen_ = Interactions.from_arrays(
            all_u[known], all_m[known], all_r[known], len(self.user_vocab_)
        )
        self.movie_warm_ = np.bincount(m, minlength=len(self.movie_vocab_)) > 0
        validation_arrays = None
        n_held_out = 0
        if val_mask is not None:
            vu, vm, vr = all_u[val_mask], all_m[val_mask], all_r[val_mask]
            n_held_out = len(vu)
        elif validation is not None and len(validation):
            vu = self.user_vocab_.index(validation["user_id"], missing="negative")
            vm = self.movie_vocab_.index(validation["movie_id"], missing="negative")
            vr = validation["rating"].to_numpy(dtype=np.float32)
        if val_mask is not None or (validation is not None and len(validation)):
            keep = (vu >= 0) & (vm >= 0)
            if keep.any():
                validation_arrays = (vu[keep], vm[keep], vr[keep])
        self.n_validation_ = 0 if validation_arrays is None else len(validation_arrays[0])
        #: validation ratings the network cannot score (user unseen in the fitting part)
        self.n_validation_dropped_ = n_held_out - self.n_validation_ if val_mask is not None else 0
        return (u, m, r), validation_arrays

    def _spec(self, params: dict[str, Any], seed: int) -> NetworkSpec:
        low, high = self.rating_scale_
        side = self.side_features_
        return NetworkSpec(
            kind=self.kind,
            n_users=len(self.user_vocab_),
            n_movies=len(self.movie_vocab_),
            factors=int(params["factors"]),
            l2=float(params["l2"]),
            bias_l2=float(params["bias_l2"]),
            dropout=params["dropout"],
            hidden=int(params["hidden"]),
            global_mean=self.global_mean_,
            output=params["output"],
            rating_range=(low - 0.05 * (high - low), high + 0.05 * (high - low)),
            seed=int(seed),
            # without side features there is no side path to size or regularise
            side_dim=0 if side is None else side.dim,
            side_l2=0.0 if side is None else float(self.side_l2),
            id_dropout=0.0 if side is None else float(params["id_dropout"]),
        )

    def _build(
        self,
        spec: NetworkSpec,
        blocks: list[FeatureBlock] | None,
        params: dict[str, Any],
        options: TrainingOptions,
    ) -> tuple[Any, Any]:
        """The Keras network and optimizer (under the TensorFlow strategy's scope)."""
        from recsys.backend import import_keras

        keras = import_keras()
        from recsys.models.networks import set_side_tables
        from recsys.models.optimizers import LazyAdam, SparseLossScaleOptimizer
        from recsys.models.precision import build_network_with_policy

        self.spec_ = spec
        if keras.backend.backend() == "tensorflow":  # elsewhere it would import TensorFlow
            keras.utils.set_random_seed(int(spec.seed))
        strategy = options.strategy
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            network = build_network_with_policy(spec, options.precision)
            if self.side_features_ is not None and blocks:
                set_side_tables(
                    network,
                    self.side_features_.transform(blocks, self.movie_vocab_.ids),
                    self.movie_warm_,
                )
            optimizer = LazyAdam(
                learning_rate=float(params["learning_rate"]), lazy=options.updates == "lazy"
            )
            if options.precision == "mixed_float16":
                optimizer = (
                    SparseLossScaleOptimizer(optimizer)
                    if keras.backend.backend() == "tensorflow"
                    else keras.optimizers.LossScaleOptimizer(optimizer)
                )
        return network, optimizer

    def _train(
        self,
        network: Any,
        optimizer: Any,
        train: Arrays,
        validation: Arrays | None,
        params: dict[str, Any],
        options: TrainingOptions,
    ) -> TrainingResult:
        from recsys.models.precision import build_network_with_policy
        from recsys.models.training import NegativeSampler, train_network

        sampler, validate = None, None
        if self.objective == "bpr":
            n_movies = len(self.movie_vocab_)
            seen = self.seen_
            seen_users = np.repeat(np.arange(seen.n_users, dtype=np.int64), np.diff(seen.indptr))
            sampler = NegativeSampler(
                train[0],
                np.unique(seen_users * n_movies + seen.movies),
                n_movies,
                seed=int(self.spec_.seed),
            )
            if validation is not None:
                validate = self._ranking_validator(train, validation)
        run_id = {
            "params": {k: v for k, v in params.items() if k != "verbose"},
            "spec": asdict(self.spec_),
            "precision": options.precision,
            "updates": options.updates,
            "n_validation": self.n_validation_,
        }
        result = train_network(
            network,
            optimizer,
            train,
            validation,
            epochs=int(params["epochs"]),
            batch_size=int(params["batch_size"]),
            patience=int(params["patience"]),
            seed=int(self.spec_.seed),
            clip=self.rating_scale_,
            on_epoch=self._print_epoch if self.verbose else None,
            on_resume=self._print_resume if self.verbose else None,
            options=options,
            run_id=run_id,
            objective=self.objective,
            sampler=sampler,
            validate=validate,
        )
        if options.strategy is not None:  # a plain copy, free of the mirrored variables
            plain = build_network_with_policy(self.spec_, options.precision)
            plain.set_weights(network.get_weights())
            network = plain
        self.network_ = network
        self.precision_ = options.precision
        return result

    def _ranking_validator(self, train: Arrays, validation: Arrays) -> Any:
        """The validation NDCG@``ranking_k`` of a network, for early stopping (``None``
        when no validation rating is relevant).

        The top-N protocol of :mod:`recsys.evaluation.protocol` on the validation part:
        relevant = validation ratings ``>= lo + 0.75 (hi - lo)``; candidates = every
        movie the user did not rate in the fitting part; ties by movie id.
        """
        from recsys.evaluation.protocol import RELEVANCE_SHARE
        from recsys.evaluation.topn import hits, mask_keys, ranking_metrics, top_k

        low, high = self.rating_scale_
        vu, vm, vr = (np.asarray(a) for a in validation)
        relevant = vr >= low + RELEVANCE_SHARE * (high - low)
        if not relevant.any():
            return None
        n = len(self.movie_vocab_)
        keys = np.unique(vu[relevant].astype(np.int64) * n + vm[relevant])
        rows, n_relevant = np.unique(keys // n, return_counts=True)
        fit_keys = np.unique(train[0].astype(np.int64) * n + train[1])
        k = int(self.ranking_k)

        def validate(network: Any) -> float:
            tables = NetworkTables.from_network(network)
            total = 0.0
            for start in range(0, len(rows), 1024):
                block = rows[start : start + 1024]
                scores = mask_keys(tables.score_users(block), block, fit_keys, n)
                columns, valid = top_k(scores, k)
                found = hits(columns, valid, block, keys, n)
                total += float(
                    ranking_metrics(found, n_relevant[start : start + 1024], k)["ndcg"].sum()
                )
            return total / len(rows)

        return validate

    def _validation_mask(
        self, ratings: pd.DataFrame, rng: np.random.Generator
    ) -> NDArray[np.bool_] | None:
        """Which training ratings form the validation part (``None``: too few)."""
        if self.validation_split == "movies":
            ids = ratings["movie_id"].to_numpy(dtype=np.int64)
            movies = np.unique(ids)
            n_val = int(round(self.validation_fraction * len(movies)))
            if n_val == 0 or n_val == len(movies):
                return None
            return np.isin(ids, rng.permutation(movies)[:n_val])
        n_val = int(round(self.validation_fraction * len(ratings)))
        if n_val == 0 or len(ratings) - n_val == 0:
            return None
        val_mask = np.zeros(len(ratings), dtype=bool)
        val_mask[rng.permutation(len(ratings))[:n_val]] = True
        # a validation rating whose user or movie has no other training rating could not
        # be scored by the network: it goes back to the fitting part instead of being lost
        for column in ("user_id", "movie_id"):
            ids = ratings[column].to_numpy()
            unseen = ~np.isin(ids, np.unique(ids[~val_mask]))
            val_mask &= ~unseen
        return val_mask if val_mask.any() else None

    @staticmethod
    def _print_resume(epoch: int, directory: object) -> None:
        print(f"resuming after epoch {epoch} from {directory}", flush=True)

    def _print_epoch(self, log: EpochLog) -> None:
        val = f"  val_rmse {log.val_rmse:.4f}" if log.val_rmse is not None else ""
        if log.val_ndcg is not None:
            val = f"  val_ndcg@{self.ranking_k} {log.val_ndcg:.4f}"
        print(
            f"epoch {log.epoch:3d}/{self.epochs}  loss {log.loss:.4f}{val}  "
            f"{log.seconds:6.2f}s  {log.ratings_per_second:,.0f} ratings/s",
            flush=True,
        )

    # ------------------------------------------------------ network and its tables
    @property
    def network_(self) -> Any:
        """The fitted Keras network. A loaded model reads it from its ``model.keras`` on
        first use (importing Keras); predictions do not need it (see :meth:`_tables`)."""
        state = self.__dict__
        network = state.get("_keras_network")
        if network is None:
            file = state.get("_network_file")
            if file is None:
                raise AttributeError("'RatingModel' object has no attribute 'network_'")
            network = state["_keras_network"] = load_network(file, self.spec_)
        return network

    @network_.setter
    def network_(self, network: Any) -> None:
        self._attach_network(network=network)
        if getattr(self, "fallback_", None) is not None:
            self.fallback_ = None  # the validation comparison was of the old network
        if getattr(self, "day_biases_", None) is not None:
            self.day_biases_ = None  # fitted on the old network's residuals
            self.day_bias_report_ = {"shrinkage": None, "why": "the network was replaced"}

    @network_.deleter
    def network_(self) -> None:
        self._attach_network()

    def _attach_network(
        self, *, network: Any = None, file: Any = None, tables: NetworkTables | None = None
    ) -> None:
        """Set the Keras network, or the ``model.keras`` to read it from on first use, and
        the tables it scores with (``None``: read from the network when first needed).
        Setting ``network_`` calls this, so a new network never scores with old tables."""
        self.__dict__.update(_keras_network=network, _network_file=file, _network_tables=tables)

    def _network_state(self) -> tuple[Any, Any]:
        """``(network, file)``: the Keras network if it is in memory (else ``None``) and
        the ``model.keras`` it was or can be loaded from (else ``None``)."""
        return self.__dict__.get("_keras_network"), self.__dict__.get("_network_file")

    def _tables(self, *, refresh: bool = False) -> NetworkTables:
        """The numpy tables every prediction scores with
        (:class:`~recsys.models.scoring.NetworkTables`).

        Read from ``network_`` once, on first use, and kept until ``network_`` is set
        again; a loaded model has them from its ``weights.npz``. After changing the
        network's weights in place, pass ``refresh=True`` (or set ``network_`` again).
        """
        self._check_fitted()
        tables = self.__dict__.get("_network_tables")
        if tables is None or refresh:
            tables = NetworkTables.from_network(self.network_)
            self.__dict__["_network_tables"] = tables
        return tables

    def _scorer(self) -> ModelScorer:
        """The tables with the vocabularies and the baseline, for :meth:`predict_frame`."""
        base = self.baseline_
        return ModelScorer(
            self._prediction_tables(),
            self.user_vocab_.ids,
            self.movie_vocab_.ids,
            (base.mean_, base.user_bias_, base.movie_bias_),
            self.movie_warm_,
            side=self.side_features_ is not None,
            rating_scale=self.rating_scale_ if self.predicts_ratings else None,
        )

    # -------------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        state = self.__dict__
        if state.get("_keras_network") is None and state.get("_network_file") is None:
            raise NotFittedError("this RatingModel is not fitted; call fit(ratings) first.")

    def predict_frame(
        self, user_ids: ArrayLike, movie_ids: ArrayLike, timestamps: ArrayLike | None = None
    ) -> pd.DataFrame:
        """Predictions for pairs of raw ids, with the fallback used for unknown ids.

        Computed with numpy from the network's tables (no Keras; see
        :mod:`recsys.models.scoring`). With ``timestamps`` (seconds since the epoch, one
        per pair) the fitted (user, day) biases are added (see ``day_bias``).

        Returns
        -------
        DataFrame with columns ``user_id, movie_id, prediction`` (clipped to the rating
        scale) and ``fallback`` (``""`` when the network scored the pair with the movie's
        learned embedding, :data:`FALLBACK_COLD` when it scored a cold-start movie from
        its side features, otherwise which baseline stood in and why); with
        ``timestamps`` also ``day_bias`` (0 for a (user, day) without training ratings).

        Raises
        ------
        InvalidParameterError
            If ``timestamps`` are not integers or not one per pair.
        """
        self._check_fitted()
        frame = pd.DataFrame(self._scorer().predict(user_ids, movie_ids))
        if timestamps is None:
            return frame
        try:
            stamps = np.asarray(timestamps, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError, OverflowError):
            raise InvalidParameterError(
                "timestamps", "timestamps must be integers (seconds since the epoch)."
            ) from None
        if len(stamps) != len(frame):
            raise InvalidParameterError(
                "timestamps", f"{len(stamps)} timestamps for {len(frame)} pairs; give one per pair."
            )
        table = getattr(self, "day_biases_", None)
        shift = np.zeros(len(frame))
        if table is not None:
            users = self.user_vocab_.index(np.asarray(user_ids).reshape(-1), missing="negative")
            shift = table.lookup(users, rating_days(stamps))
            low, high = self.rating_scale_
            frame["prediction"] = np.clip(frame["prediction"] + shift, low, high).astype(
                frame["prediction"].dtype
            )
        frame["day_bias"] = shift.astype(np.float32)
        return frame

    def predict(
        self, user_ids: ArrayLike, movie_ids: ArrayLike, timestamps: ArrayLike | None = None
    ) -> NDArray[np.float32]:
        """Predicted ratings, ``ndarray of shape (n,)``, clipped to the rating scale.

        Unknown ids fall back to the bias baseline (see :meth:`predict_frame`); with
        ``timestamps`` the (user, day) biases are added.
        """
        frame = self.predict_frame(user_ids, movie_ids, timestamps)
        return frame["prediction"].to_numpy(np.float32)

    # ------------------------------------------------------------------ recommend
    def recommend(
        self, user_id: int, k: int = 10, *, exclude_seen: bool = True, min_ratings: int = 0
    ) -> pd.DataFrame:
        """Top-``k`` movies for a user, leaving out the movies they rated in training.

        An unknown user gets the movies with the best baseline prediction
        (``mean + movie bias``), and the ``fallback`` column says so. ``min_ratings``
        keeps only movies with at least that many training ratings (a movie rated once
        has a noisy embedding). The user's scores are one matrix-vector product.

        Returns
        -------
        DataFrame with ``rank, movie_id, score, raw_score, fallback`` (and ``title``
        when the model knows the catalogue), best first: ``score`` is clipped to the
        rating scale, ``raw_score`` is the score the order follows (several movies can
        show the top of the scale; their raw scores tell them apart).
        """
        self._check_fitted()
        if k < 1:
            raise DataError(f"k must be at least 1, got {k}.")
        u = int(self.user_vocab_.index([user_id], missing="negative")[0])
        scores = self._prediction_tables().score_user(u) if u >= 0 else None
        top, scores, raw, reason = self._top_movies(
            u, scores, k, exclude_seen=exclude_seen, allowed=self._allowed_movies(min_ratings)
        )
        frame = pd.DataFrame(
            {
                "rank": np.arange(1, len(top) + 1),
                "movie_id": self.movie_vocab_.to_ids(top),
                "score": scores,
                "raw_score": raw,
                "fallback": reason,
            }
        )
        return self._with_titles(frame)

    def recommend_all(
        self,
        user_ids: ArrayLike | None = None,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        min_ratings: int = 0,
        block: int = 1024,
    ) -> TopKStream:
        """:meth:`recommend` for many users (default: every user of the vocabulary),
        scored in blocks of ``block`` users with one matrix product each.

        Yields
        ------
        ``(user_id, movie_ids, scores, fallback)`` per user, in the order given: the
        top-``k`` movie ids best first, their scores (clipped to the rating scale), and
        the fallback as in :meth:`recommend` (``""`` for a known user).
        """
        self._check_fitted()
        if k < 1:
            raise DataError(f"k must be at least 1, got {k}.")
        users = (
            self.user_vocab_.ids
            if user_ids is None
            else np.asarray(user_ids, dtype=np.int64).ravel()
        )
        for start in range(0, len(users), block):
            part = users[start : start + block]
            columns, valid, scores, reasons = self._top_block(
                part, k, exclude_seen=exclude_seen, min_ratings=min_ratings
            )
            ids = self.movie_vocab_.ids
            for i, user in enumerate(part.tolist()):
                keep = valid[i]
                yield int(user), ids[columns[i][keep]], scores[i][keep], reasons[i]

    def recommend_frame(
        self,
        user_ids: ArrayLike | None = None,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        min_ratings: int = 0,
        block: int = 1024,
    ) -> pd.DataFrame:
        """:meth:`recommend_all` as one frame: ``user_id, rank, movie_id, score`` (and
        ``fallback`` when some user was unknown), best first within each user.

        Each block of users is one score matrix and one vectorised top-k
        (:func:`recsys.evaluation.topn.top_k`; ties by movie id ascending).
        """
        self._check_fitted()
        if k < 1:
            raise DataError(f"k must be at least 1, got {k}.")
        users = (
            self.user_vocab_.ids
            if user_ids is None
            else np.asarray(user_ids, dtype=np.int64).ravel()
        )
        parts = []
        for start in range(0, len(users), block):
            part = users[start : start + block]
            columns, valid, scores, reasons = self._top_block(
                part, k, exclude_seen=exclude_seen, min_ratings=min_ratings
            )
            row, rank = np.nonzero(valid)
            parts.append(
                pd.DataFrame(
                    {
                        "user_id": part[row],
                        "rank": rank + 1,
                        "movie_id": self.movie_vocab_.ids[columns[row, rank]],
                        "score": scores[row, rank],
                        "fallback": np.asarray(reasons, dtype=object)[row],
                    }
                )
            )
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=["user_id", "rank", "movie_id", "score", "fallback"])
        )
        if not frame["fallback"].astype(bool).any():
            frame = frame.drop(columns="fallback")
        return frame

    def _top_block(
        self, users: NDArray[np.int64], k: int, *, exclude_seen: bool, min_ratings: int
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float32], list[str]]:
        """Vectorised top-``k`` of a block of raw user ids: movie indices, validity,
        scores (clipped to the rating scale for a rating model) and fallbacks."""
        from recsys.evaluation.topn import mask_keys, top_k

        index = self.user_vocab_.index(users, missing="negative").astype(np.int64)
        scores = self._index_scores(index)
        n = len(self.movie_vocab_)
        if exclude_seen:
            known = np.flatnonzero(index >= 0)
            seen = self._seen_keys(index[known])
            sub = scores[known]
            mask_keys(sub, np.arange(len(known)), seen, n)
            scores[known] = sub
        allowed = self._allowed_movies(min_ratings)
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        columns, valid = top_k(scores, k)
        picked = np.take_along_axis(scores, columns, axis=1).astype(np.float32)
        if self.predicts_ratings:
            picked = np.clip(picked, *self.rating_scale_)
        reasons = [FALLBACK_USER if u < 0 else "" for u in index.tolist()]
        return columns, valid, picked, reasons

    def _seen_keys(self, index: NDArray[np.int64]) -> NDArray[np.int64]:
        """Sorted keys ``row * n_movies + movie`` of the training movies of the users
        ``index`` (row = position in ``index``)."""
        seen, n = self.seen_, len(self.movie_vocab_)
        counts = seen.indptr[index + 1] - seen.indptr[index]
        starts = np.cumsum(counts) - counts
        positions = np.arange(int(counts.sum())) + np.repeat(seen.indptr[index] - starts, counts)
        rows = np.repeat(np.arange(len(index), dtype=np.int64), counts)
        return np.sort(rows * n + seen.movies[positions].astype(np.int64))

    def _index_scores(self, index: NDArray[np.int64]) -> NDArray[np.float32]:
        """Scores of every movie of the vocabulary for user indices ``index``
        (``-1``: an unknown user, ranked by the baseline ``mean + movie bias``)."""
        n = len(self.movie_vocab_)
        scores = np.empty((len(index), n), dtype=np.float32)
        known = index >= 0
        if known.any():
            scores[known] = self._prediction_tables().score_users(index[known])
        if (~known).any():
            scores[~known] = (self.baseline_.mean_ + self.baseline_.movie_bias_).astype(np.float32)
        return scores

    def score_users(
        self, user_ids: ArrayLike, movie_ids: ArrayLike | None = None
    ) -> NDArray[np.float32]:
        """Raw scores (not clipped) of ``movie_ids`` (default: the movie vocabulary) for
        each of ``user_ids``: ``ndarray of shape (n_users, n_movies)``, higher is better.

        A user unknown to the model gets the baseline ``mean + movie bias`` (the
        ranking :meth:`recommend` gives them); a movie unknown to it gets ``-inf`` (it
        cannot be ranked).
        """
        self._check_fitted()
        users = np.asarray(user_ids, dtype=np.int64).ravel()
        scores = self._index_scores(
            self.user_vocab_.index(users, missing="negative").astype(np.int64)
        )
        if movie_ids is None:
            return scores
        m = self.movie_vocab_.index(
            np.asarray(movie_ids, dtype=np.int64).ravel(), missing="negative"
        )
        out = scores[:, np.maximum(m, 0)]
        out[:, m < 0] = -np.inf
        return out

    @property
    def predicts_ratings(self) -> bool:
        """Whether the scores are ratings (``objective="rating"``) or only a ranking."""
        return self.objective == "rating"

    def rating_floor(self, share: float = 0.8) -> int:
        """A data-chosen floor for ``min_ratings``: the number of training ratings of the
        least-rated movie among the most-rated movies that together hold ``share`` of
        the training ratings (10 on all of ml-latest-small, where a movie bias estimated from
        10 ratings gets half its weight from them under the baseline's shrinkage).

        Examples
        --------
        >>> from recsys.data import load_dataset
        >>> model = RatingModel("bias", epochs=1, factors=4).fit(load_dataset().ratings)
        >>> model.rating_floor()
        10
        """
        self._check_fitted()
        counts = np.bincount(self.seen_.movies, minlength=len(self.movie_vocab_))
        ordered = np.sort(counts[counts > 0])[::-1]
        if len(ordered) == 0:
            return 0
        held = np.cumsum(ordered) / ordered.sum()
        return int(ordered[min(int(np.searchsorted(held, share)), len(ordered) - 1)])

    def _allowed_movies(self, min_ratings: int) -> NDArray[np.bool_] | None:
        """Which movies have at least ``min_ratings`` training ratings (``None``: all)."""
        if min_ratings <= 0:
            return None
        return np.bincount(self.seen_.movies, minlength=len(self.movie_vocab_)) >= min_ratings

    def _top_movies(
        self,
        u: int,
        scores: NDArray[np.float32] | None,
        k: int,
        *,
        exclude_seen: bool,
        allowed: NDArray[np.bool_] | None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32], str]:
        """The ``k`` best movie indices for user index ``u`` given its ``scores`` of every
        movie (``u = -1``: an unknown user, ranked by the baseline), their clipped
        scores, their raw scores (which set the order), and the fallback."""
        if u < 0:
            scores = (self.baseline_.mean_ + self.baseline_.movie_bias_).astype(np.float32)
            reason = FALLBACK_USER
        else:
            scores = np.array(scores, dtype=np.float32)
            reason = ""
            if exclude_seen:
                scores[self.seen_.movies_of(u)] = -np.inf
        if allowed is not None:
            scores[~allowed] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.lexsort((top, -scores[top]))]
        raw = scores[top]
        best = np.clip(raw, *self.rating_scale_) if self.predicts_ratings else raw
        return top, best, raw, reason

    def similar_movies(self, movie_id: int, k: int = 10, *, min_ratings: int = 0) -> pd.DataFrame:
        """The ``k`` movies whose embeddings have the highest cosine with ``movie_id``'s,
        among the movies with at least ``min_ratings`` training ratings (see
        :meth:`rating_floor`: embeddings of movies with a few ratings are mostly noise).

        Raises
        ------
        DataError
            If ``k`` is below 1.
        UnknownIdError
            If the movie has no embedding (it was not in the training data).
        """
        self._check_fitted()
        if k < 1:
            raise DataError(f"k must be at least 1, got {k}.")
        index = int(self.movie_vocab_.index([movie_id], missing="negative")[0])
        if index < 0:
            where = (
                "training data or side features"
                if self.side_features_ is not None
                else "training data"
            )
            raise UnknownIdError(
                f"movie {movie_id} has no embedding: it is not in the {where} "
                "of this model, so no similar movies can be computed."
            )
        table = self._tables().movie_factors()
        norms = np.linalg.norm(table, axis=1)
        cosine = table @ table[index] / np.maximum(norms * norms[index], 1e-12)
        cosine[index] = -np.inf
        allowed = self._allowed_movies(min_ratings)
        if allowed is not None:
            cosine[~allowed] = -np.inf
        k = min(k, int(np.isfinite(cosine).sum()))  # every other allowed movie at most
        top = np.argpartition(-cosine, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.lexsort((top, -cosine[top]))]
        frame = pd.DataFrame(
            {
                "rank": np.arange(1, len(top) + 1),
                "movie_id": self.movie_vocab_.to_ids(top),
                "similarity": cosine[top],
            }
        )
        return self._with_titles(frame)

    def _with_titles(self, frame: pd.DataFrame) -> pd.DataFrame:
        if (
            self.movies_ is not None
            and "title" in self.movies_.columns
            and (self.movies_["title"].notna().any())
        ):
            titles = self.movies_.drop_duplicates("movie_id").set_index("movie_id")["title"]
            frame.insert(2, "title", titles.reindex(frame["movie_id"]).to_numpy())
        return frame

    # ------------------------------------------------------------ learned tables
    def movie_factors(self) -> NDArray[np.float32]:
        """The movie embedding table, ``ndarray of shape (n_movies, factors)`` (a copy).

        Row ``i`` belongs to ``movie_vocab_.ids[i]``. With side features it is the
        effective movie vector the network uses, ``warm * E + side_factors(s)``.
        """
        self._check_fitted()
        return self._tables().movie_factors().copy()

    def movie_embeddings(self) -> pd.DataFrame:
        """Movie embeddings indexed by movie id, columns ``f0 .. f{factors-1}``."""
        table = self.movie_factors()
        return pd.DataFrame(
            table,
            index=pd.Index(self.movie_vocab_.ids, name="movie_id"),
            columns=[f"f{i}" for i in range(table.shape[1])],
        )

    def user_embeddings(self) -> pd.DataFrame:
        """User embeddings indexed by user id, columns ``f0 .. f{factors-1}``."""
        self._check_fitted()
        table = self._tables().user_factors().copy()
        return pd.DataFrame(
            table,
            index=pd.Index(self.user_vocab_.ids, name="user_id"),
            columns=[f"f{i}" for i in range(table.shape[1])],
        )

    def movie_biases(self) -> pd.Series | None:
        """Learned movie biases indexed by movie id (``None`` for models without biases).

        With side features, the effective bias the network uses,
        ``warm * B + side_bias(s)``.
        """
        self._check_fitted()
        biases = self._tables().movie_biases()
        if self.kind != "bias" or biases is None:
            return None
        return pd.Series(
            biases.copy(), index=pd.Index(self.movie_vocab_.ids, name="movie_id"), name="bias"
        )

    # ---------------------------------------------------------------- save / load
    def save(
        self, directory: str | os.PathLike[str], *, extra_files: dict[str, Any] | None = None
    ) -> Path:
        """Save the model (network, its numpy tables, vocabularies, baseline, config) to a
        directory, with ``extra_files`` (names to JSON data) beside it; returns the
        directory.

        The directory is written atomically: it appears complete or not at all. An
        existing directory is replaced only if it is empty or a model directory. A
        loaded model whose Keras network was never asked for is saved without Keras.
        The format is described in :mod:`recsys.models.model_dir`.

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        DataError
            If ``directory`` cannot be written, or is a non-empty directory that is not
            a model directory.
        """
        self._check_fitted()
        return write_model_dir(self._to_saved(), directory, extra_files=extra_files)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> RatingModel:
        """Load a model saved with :meth:`save`.

        Predictions use the saved numpy tables; the Keras network (``network_``) is read
        on first use.

        Raises
        ------
        ModelDirError
            If ``directory`` is not a saved model or is damaged.
        """
        return cls._from_saved(read_model_dir(directory))

    def _to_saved(self) -> SavedModel:
        """The fitted state as plain values, for
        :func:`~recsys.models.model_dir.write_model_dir`."""
        network, network_file = self._network_state()
        side = self.side_features_
        return SavedModel(
            params=self.get_params(deep=False),
            spec=self.spec_,
            rating_scale=self.rating_scale_,
            global_mean=self.global_mean_,
            n_train=self.n_train_,
            n_validation=self.n_validation_,
            n_validation_dropped=self.n_validation_dropped_,
            training=self.training_,
            user_ids=self.user_vocab_.ids,
            movie_ids=self.movie_vocab_.ids,
            baseline_mean=self.baseline_.mean_,
            baseline_user_bias=self.baseline_.user_bias_,
            baseline_movie_bias=self.baseline_.movie_bias_,
            seen=self.seen_,
            side_features=None if side is None else side.to_json(),
            side_means=None if side is None else side.means,
            side_scales=None if side is None else side.scales,
            movie_warm=None if side is None else self.movie_warm_,
            movies=self.movies_,
            network=network,
            network_file=network_file,
            tables=None if network is not None else self._tables(),
            fallback=self._fallback_json(),
            scale_factor=getattr(self, "scale_factor_", 1.0),
            ids=getattr(self, "ids_", IdMaps()),
            day_biases=getattr(self, "day_biases_", None),
            day_bias_report=getattr(self, "day_bias_report_", None),
        )

    def _fallback_json(self) -> dict[str, Any] | None:
        """What :meth:`_choose_fallback` found, for the model folder (``None``: not
        compared)."""
        if getattr(self, "validation_rmse_", None) is None:
            return None
        return {
            "used": self.fallback_,
            "validation_rmse": self.validation_rmse_,
            "baseline_validation_rmse": self.baseline_validation_rmse_,
        }

    @classmethod
    def _from_saved(cls, saved: SavedModel) -> RatingModel:
        """The fitted model whose state :meth:`_to_saved` gave (read back from a folder)."""
        model = cls(**saved.params)
        model.user_vocab_ = Vocabulary(saved.user_ids, entity="user")
        model.movie_vocab_ = Vocabulary(saved.movie_ids, entity="movie")
        model.baseline_ = BiasBaseline.from_biases(
            saved.baseline_mean, saved.baseline_user_bias, saved.baseline_movie_bias
        )
        model.seen_ = saved.seen
        model.side_features_ = None
        if saved.side_features is not None:
            assert saved.side_means is not None and saved.side_scales is not None
            model.side_features_ = SideFeatures.from_json(
                saved.side_features, saved.side_means, saved.side_scales
            )
        if saved.movie_warm is not None:
            model.movie_warm_ = saved.movie_warm
        else:  # without side features every movie of the vocabulary had ratings
            model.movie_warm_ = (
                np.bincount(saved.seen.movies, minlength=len(model.movie_vocab_)) > 0
            )
        model.spec_ = saved.spec
        model._attach_network(network=saved.network, file=saved.network_file, tables=saved.tables)
        model.rating_scale_ = saved.rating_scale
        model.global_mean_ = saved.global_mean
        model.n_train_ = saved.n_train
        model.n_validation_ = saved.n_validation
        model.n_validation_dropped_ = saved.n_validation_dropped
        model.training_ = saved.training
        model.movies_ = saved.movies
        model.scale_factor_ = saved.scale_factor
        model.ids_ = saved.ids
        found = saved.fallback or {}
        model.fallback_ = found.get("used")
        model.validation_rmse_ = found.get("validation_rmse")
        model.baseline_validation_rmse_ = found.get("baseline_validation_rmse")
        model.day_biases_ = saved.day_biases
        model.day_bias_report_ = saved.day_bias_report
        return model

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: kind, hyper-parameters, sizes, training history."""
        self._check_fitted()
        return {
            "kind": self.kind,
            "params": {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in self.resolved_params().items()
            },
            "n_users": len(self.user_vocab_),
            "n_movies": len(self.movie_vocab_),
            "rating_scale": list(self.rating_scale_),
            "global_mean": self.global_mean_,
            "n_train": int(self.n_train_),
            "n_validation": int(self.n_validation_),
            **(
                {
                    "side_features": self.side_features_.to_json(),
                    "n_warm_movies": int(self.movie_warm_.sum()),
                }
                if self.side_features_ is not None
                else {}
            ),
            "training": training_json(self.training_),
            **({"fallback": fb} if (fb := self._fallback_json()) is not None else {}),
            **(
                {"day_biases": report}
                if (report := getattr(self, "day_bias_report_", None)) is not None
                else {}
            ),
            "scale_factor": getattr(self, "scale_factor_", 1.0),
        }


def _check_integer_ids(frame: pd.DataFrame, parameter: str) -> None:
    """Refuse a frame whose id columns are not integers (string ids need codes)."""
    for column in ("user_id", "movie_id"):
        if column in frame.columns and frame[column].dtype.kind not in "iu":
            raise InvalidParameterError(
                parameter,
                f"{parameter}[{column!r}] holds {frame[column].dtype} values, not integer "
                "ids; for string ids use data = recsys.data.load_ratings_frame(frame, "
                "user=..., item=..., rating=...) and fit(data.ratings, ids=data.ids).",
            )


def _with_strategy(options: TrainingOptions) -> TrainingOptions:
    """``options`` with a ``tf.distribute`` strategy made for ``distribute`` when the
    backend is TensorFlow and none was given (the network is built under its scope)."""
    if options.distribute is None or options.strategy is not None:
        return options
    from recsys.backend import import_keras

    if import_keras().backend.backend() != "tensorflow":
        return options
    import dataclasses

    from recsys.models.distribute import make_strategy

    return dataclasses.replace(options, strategy=make_strategy(options.distribute))
