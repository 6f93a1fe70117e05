"""Saving and loading a fitted :class:`~recsys.models.rating_model.RatingModel`.

A model directory holds:

``model.keras``        the Keras network (architecture, weights, custom layers)
``recsys_model.json``  format version, kind, hyper-parameters, rating scale, training
                       summary
``arrays.npz``         the user and movie vocabularies, the bias baseline and the
                       training interactions (CSR: who rated what); for a model with
                       side features also their standardisation (``side_means``,
                       ``side_scales``) and which movies had training ratings
                       (``movie_warm``)
``movies.parquet``     the movie catalogue (titles, years, genres), when known

A model with side features also lists its blocks (names, dimensions, columns,
provenance) under ``side_features`` in ``recsys_model.json``; the standardised
side-feature table itself is a non-trainable weight of the network.

It is written atomically (built in a temporary sibling, then renamed into place). An
existing directory is replaced only if it is empty or a model directory (it has
``recsys_model.json``), never someone else's folder.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

import recsys
from recsys.data.vocab import Vocabulary
from recsys.errors import ModelDirError
from recsys.fileio import atomic_directory, check_writable_dir, write_json_atomic
from recsys.jsonutil import jsonable
from recsys.models.baselines import BiasBaseline
from recsys.models.networks import NetworkSpec, table_shapes
from recsys.models.side_features import SideFeatures
from recsys.models.training import EpochLog, TrainingResult

__all__ = ["FORMAT", "MARKER", "load_model", "save_model"]

FORMAT = "recsys-rating-model/1"
#: The file that marks a directory as a model directory ``save_model`` may replace.
MARKER = "recsys_model.json"
_FILES = ("model.keras", "recsys_model.json", "arrays.npz")


def save_model(model: Any, directory: str | os.PathLike[str],
               extra_files: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``directory`` atomically; ``extra_files`` maps names to JSON data.

    Raises
    ------
    DataError
        If ``directory`` cannot be written, or is a non-empty directory that is not a
        model directory (see :func:`recsys.fileio.check_replaceable`).
    """
    model._check_fitted()
    target = check_writable_dir(directory, what="model", marker=MARKER)
    with atomic_directory(target, marker=MARKER, what="model") as tmp:
        model.network_.save(tmp / "model.keras")
        meta = {
            "format": FORMAT,
            "recsys_version": recsys.__version__,
            "params": jsonable(model.get_params()),
            "spec": jsonable(model.spec_.__dict__),
            "rating_scale": list(model.rating_scale_),
            "global_mean": model.global_mean_,
            "n_train": int(model.n_train_),
            "n_validation": int(model.n_validation_),
            "n_validation_dropped": int(model.n_validation_dropped_),
            "training": model.describe()["training"],
        }
        side = getattr(model, "side_features_", None)
        side_arrays = {}
        if side is not None:
            meta["side_features"] = side.to_json()
            side_arrays = {"side_means": side.means, "side_scales": side.scales,
                           "movie_warm": model.movie_warm_}
        write_json_atomic(tmp / MARKER, meta)
        seen = model.seen_
        np.savez(
            tmp / "arrays.npz",
            user_ids=model.user_vocab_.ids, movie_ids=model.movie_vocab_.ids,
            baseline_mean=np.array(model.baseline_.mean_),
            baseline_user_bias=model.baseline_.user_bias_,
            baseline_movie_bias=model.baseline_.movie_bias_,
            seen_indptr=seen.indptr, seen_movies=seen.movies, seen_ratings=seen.ratings,
            **side_arrays,
        )
        if model.movies_ is not None:
            movies = model.movies_.copy()
            if "genres" in movies.columns:
                movies["genres"] = ["|".join(g) if isinstance(g, (tuple, list)) else g
                                    for g in movies["genres"]]
            movies.to_parquet(tmp / "movies.parquet", index=False)
        for name, payload in (extra_files or {}).items():
            write_json_atomic(tmp / name, payload)
    return target


def load_model(directory: str | os.PathLike[str]) -> Any:
    """Load a model directory written by :func:`save_model`.

    Raises
    ------
    ModelDirError
        Missing directory or files, a foreign or newer format, damaged files.
    """
    from recsys.models.rating_model import RatingModel, _Interactions

    path = Path(directory).expanduser()
    if not path.is_dir():
        raise ModelDirError(f"no model directory at {str(path)!r}; train one with "
                            "`recsys train --out DIR` and pass that DIR.")
    missing = [f for f in _FILES if not (path / f).is_file()]
    if missing:
        raise ModelDirError(f"{str(path)!r} is not a recsys model directory (missing "
                            f"{', '.join(missing)}); pass a directory written by recsys train.")
    try:
        meta = json.loads((path / "recsys_model.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelDirError(f"{str(path / 'recsys_model.json')!r} is damaged ({error}); "
                            "retrain the model.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelDirError(f"{str(path)!r} holds format {found!r}, expected {FORMAT!r}; "
                            "retrain it with this version of recsys.")
    try:
        params = dict(meta["params"])
        if params.get("dropout") is not None:
            params["dropout"] = tuple(params["dropout"])
        model = RatingModel(**params)
        with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
            model.user_vocab_ = Vocabulary(arrays["user_ids"], entity="user")
            model.movie_vocab_ = Vocabulary(arrays["movie_ids"], entity="movie")
            baseline = BiasBaseline()
            baseline.mean_ = float(arrays["baseline_mean"])
            baseline.user_bias_ = arrays["baseline_user_bias"]
            baseline.movie_bias_ = arrays["baseline_movie_bias"]
            model.baseline_ = baseline
            model.seen_ = _Interactions(arrays["seen_indptr"], arrays["seen_movies"],
                                        arrays["seen_ratings"])
            model.side_features_ = None
            if "side_features" in meta:
                model.side_features_ = SideFeatures.from_json(
                    meta["side_features"], arrays["side_means"], arrays["side_scales"])
                model.movie_warm_ = arrays["movie_warm"].astype(bool)
            else:
                model.movie_warm_ = np.bincount(model.seen_.movies,
                                                minlength=len(model.movie_vocab_)) > 0
        spec = dict(meta["spec"])
        spec["dropout"] = tuple(spec["dropout"])
        spec["rating_range"] = tuple(spec["rating_range"])
        model.spec_ = NetworkSpec(**spec)
        model.network_ = _load_network(path / "model.keras", model.spec_)
        model.rating_scale_ = tuple(meta["rating_scale"])
        model.global_mean_ = float(meta["global_mean"])
        model.n_train_ = int(meta["n_train"])
        model.n_validation_ = int(meta["n_validation"])
        model.n_validation_dropped_ = int(meta.get("n_validation_dropped", 0))
        training = meta["training"]
        model.training_ = TrainingResult(
            history=[EpochLog(**h) for h in training["history"]],
            best_epoch=int(training["best_epoch"]),
            train_seconds=float(training["train_seconds"]),
            stopped_early=bool(training["stopped_early"]),
        )
        model.movies_ = None
        if (path / "movies.parquet").is_file():
            movies = pd.read_parquet(path / "movies.parquet")
            if "genres" in movies.columns:
                movies["genres"] = [tuple(g.split("|")) if isinstance(g, str) and g else ()
                                    for g in movies["genres"]]
            model.movies_ = movies
    except ModelDirError:
        raise
    except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as error:
        raise ModelDirError(f"{str(path)!r} is damaged or incomplete ({type(error).__name__}: "
                            f"{error}); retrain the model.") from None
    if len(model.user_vocab_) != model.spec_.n_users or (
            len(model.movie_vocab_) != model.spec_.n_movies) or (
            len(model.movie_warm_) != len(model.movie_vocab_)):
        raise ModelDirError(f"{str(path)!r}: the vocabularies do not match the network; "
                            "the directory was altered. Retrain the model.")
    return model


def _load_network(file: Path, spec: NetworkSpec) -> keras.Model:
    """The Keras network of a model directory, checked against its spec.

    Raises
    ------
    ModelDirError
        If ``model.keras`` cannot be read, or holds a network other than the one
        ``recsys_model.json`` describes (other layers or table shapes).
    """
    try:
        network = keras.saving.load_model(file, compile=False)
    except Exception as error:  # Keras raises many kinds of error for a bad file
        detail = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise ModelDirError(f"{str(file)!r} is damaged or not a Keras model file ({detail}); "
                            "retrain the model.") from None
    expected = table_shapes(spec)
    found = {layer.name: tuple(layer.weights[0].shape) for layer in network.layers
             if layer.weights}
    wrong = [name for name, shape in expected.items() if found.get(name) != shape]
    if wrong or network.name != f"{spec.kind}_rating_model":
        what = (f"layer {wrong[0]!r} is {'missing' if wrong[0] not in found else found[wrong[0]]}"
                f", expected {expected[wrong[0]]}" if wrong else f"network {network.name!r}")
        raise ModelDirError(f"{str(file)!r} does not hold the {spec.kind} network its "
                            f"recsys_model.json describes ({what}); the directory was "
                            "altered. Retrain the model.")
    return network
