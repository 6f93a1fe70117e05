"""Saving and loading a fitted :class:`~recsys.models.rating_model.RatingModel`.

A model directory holds:

``model.keras``        the Keras network (architecture, weights, custom layers)
``weights.npz``        the tables the network scores with, for numpy
                       (:class:`~recsys.models.scoring.NetworkTables`; the side-feature
                       path folded into the movie tables)
``recsys_model.json``  format version, kind, hyper-parameters, rating scale, training
                       summary
``arrays.npz``         the user and movie vocabularies, the bias baseline and the
                       training interactions (CSR: who rated what); for a model with
                       side features also their standardisation (``side_means``,
                       ``side_scales``) and which movies had training ratings
                       (``movie_warm``)
``movies.parquet``     the movie catalogue (titles, years, genres), when known
``titles.json``        the catalogue's titles by movie id, when known (read without
                       pandas by ``recsys predict``)

A model with side features also lists its blocks (names, dimensions, columns,
provenance) under ``side_features`` in ``recsys_model.json``; the standardised
side-feature table itself is a non-trainable weight of the network.

Loading answers queries from ``weights.npz`` with numpy: ``model.keras`` is read (and
Keras imported) only when someone asks for the Keras network (``model.network_``).
A directory written before ``weights.npz`` existed still loads: its network is read
and the tables are derived from it. :func:`load_scorer` reads only what a prediction
needs, without pandas or Keras.

It is written atomically (built in a temporary sibling, then renamed into place). An
existing directory is replaced only if it is empty or a model directory (it has
``recsys_model.json``), never someone else's folder.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

import recsys
from recsys.errors import ModelDirError
from recsys.fileio import atomic_directory, check_writable_dir, write_json_atomic
from recsys.jsonutil import jsonable
from recsys.models.scoring import ModelScorer, NetworkTables
from recsys.models.spec import NetworkSpec, table_shapes

__all__ = ["FORMAT", "MARKER", "load_model", "load_scorer", "load_titles", "save_model"]

FORMAT = "recsys-rating-model/1"
#: The file that marks a directory as a model directory ``save_model`` may replace.
MARKER = "recsys_model.json"
_FILES = ("model.keras", "recsys_model.json", "arrays.npz")
WEIGHTS = "weights.npz"
TITLES = "titles.json"
#: What the loaders catch as "a damaged file" (numpy, json and zip errors).
_DAMAGE = (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile)


def save_model(
    model: Any, directory: str | os.PathLike[str], extra_files: dict[str, Any] | None = None
) -> Path:
    """Write ``model`` to ``directory`` atomically; ``extra_files`` maps names to JSON data.

    A model loaded from a directory whose Keras network was never asked for is saved
    without Keras: its ``model.keras`` is copied.

    Raises
    ------
    DataError
        If ``directory`` cannot be written, or is a non-empty directory that is not a
        model directory (see :func:`recsys.fileio.check_replaceable`).
    """
    model._check_fitted()
    target = check_writable_dir(directory, what="model", marker=MARKER)
    network, network_file = model._network_state()
    with atomic_directory(target, marker=MARKER, what="model") as tmp:
        if network is not None:
            from recsys.backend import import_tensorflow_quietly

            import_tensorflow_quietly()  # Keras' serializer imports it on every backend
            network.save(tmp / "model.keras")
            tables = NetworkTables.from_network(network)  # what model.keras holds, now
        else:
            shutil.copyfile(network_file, tmp / "model.keras")
            tables = model._tables()
        tables.to_npz(tmp / WEIGHTS)
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
            side_arrays = {
                "side_means": side.means,
                "side_scales": side.scales,
                "movie_warm": model.movie_warm_,
            }
        write_json_atomic(tmp / MARKER, meta)
        seen = model.seen_
        np.savez(
            tmp / "arrays.npz",
            user_ids=model.user_vocab_.ids,
            movie_ids=model.movie_vocab_.ids,
            baseline_mean=np.array(model.baseline_.mean_),
            baseline_user_bias=model.baseline_.user_bias_,
            baseline_movie_bias=model.baseline_.movie_bias_,
            seen_indptr=seen.indptr,
            seen_movies=seen.movies,
            seen_ratings=seen.ratings,
            **side_arrays,
        )
        if model.movies_ is not None:
            movies = model.movies_.copy()
            if "genres" in movies.columns:
                movies["genres"] = [
                    "|".join(g) if isinstance(g, (tuple, list)) else g for g in movies["genres"]
                ]
            movies.to_parquet(tmp / "movies.parquet", index=False)
            if {"movie_id", "title"} <= set(movies.columns):
                first = movies.drop_duplicates("movie_id")
                (tmp / TITLES).write_text(
                    json.dumps(
                        {
                            "movie_id": [int(i) for i in first["movie_id"]],
                            "title": [t if isinstance(t, str) else None for t in first["title"]],
                        }
                    )
                )
        for name, payload in (extra_files or {}).items():
            write_json_atomic(tmp / name, payload)
    return target


def load_model(directory: str | os.PathLike[str]) -> Any:
    """Load a model directory written by :func:`save_model`.

    The network's tables come from ``weights.npz``; the Keras network is loaded from
    ``model.keras`` on first use of ``model.network_`` (at once for a directory written
    before ``weights.npz`` existed).

    Raises
    ------
    ModelDirError
        Missing directory or files, a foreign or newer format, damaged files.
    """
    import pandas as pd

    from recsys.data.vocab import Vocabulary
    from recsys.models.baselines import BiasBaseline
    from recsys.models.history import EpochLog, TrainingResult
    from recsys.models.rating_model import RatingModel, _Interactions
    from recsys.models.side_features import SideFeatures

    path, meta = _open(directory)
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
            model.seen_ = _Interactions(
                arrays["seen_indptr"], arrays["seen_movies"], arrays["seen_ratings"]
            )
            model.side_features_ = None
            if "side_features" in meta:
                model.side_features_ = SideFeatures.from_json(
                    meta["side_features"], arrays["side_means"], arrays["side_scales"]
                )
                model.movie_warm_ = arrays["movie_warm"].astype(bool)
            else:
                model.movie_warm_ = (
                    np.bincount(model.seen_.movies, minlength=len(model.movie_vocab_)) > 0
                )
        model.spec_ = _spec(meta)
        network, tables = _network_and_tables(path, model.spec_)
        model._attach_network(network=network, file=path / "model.keras", tables=tables)
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
                movies["genres"] = [
                    tuple(g.split("|")) if isinstance(g, str) and g else ()
                    for g in movies["genres"]
                ]
            model.movies_ = movies
    except ModelDirError:
        raise
    except _DAMAGE as error:
        raise _damaged(path, error) from None
    _check_sizes(
        path, model.spec_, len(model.user_vocab_), len(model.movie_vocab_), len(model.movie_warm_)
    )
    return model


def load_scorer(directory: str | os.PathLike[str]) -> ModelScorer:
    """What :meth:`RatingModel.predict_frame` needs of a saved model, read with numpy
    only (no pandas, no Keras for a directory with ``weights.npz``).

    Raises
    ------
    ModelDirError
        As :func:`load_model`.
    """
    path, meta = _open(directory)
    try:
        spec = _spec(meta)
        side = "side_features" in meta
        with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
            user_ids = np.unique(arrays["user_ids"].astype(np.int64))
            movie_ids = np.unique(arrays["movie_ids"].astype(np.int64))
            baseline = (
                float(arrays["baseline_mean"]),
                arrays["baseline_user_bias"],
                arrays["baseline_movie_bias"],
            )
            warm = (
                arrays["movie_warm"].astype(bool) if side else np.ones(len(movie_ids), dtype=bool)
            )  # only read with side features
        _, tables = _network_and_tables(path, spec)
        scale = tuple(float(x) for x in meta["rating_scale"])
    except ModelDirError:
        raise
    except _DAMAGE as error:
        raise _damaged(path, error) from None
    _check_sizes(path, spec, len(user_ids), len(movie_ids), len(warm))
    if len(baseline[1]) != len(user_ids) or len(baseline[2]) != len(movie_ids):
        raise ModelDirError(
            f"{str(path)!r}: the baseline does not match the vocabularies; "
            "the directory was altered. Retrain the model."
        )
    return ModelScorer(
        tables, user_ids, movie_ids, baseline, warm, side=side, rating_scale=(scale[0], scale[1])
    )


def load_titles(directory: str | os.PathLike[str]) -> dict[int, str | None]:
    """The titles of a model directory's movie catalogue by movie id (empty without a
    catalogue); ``None`` for a movie whose title is unknown. Read from ``titles.json``
    (no pandas), or from ``movies.parquet`` for a directory without it.

    Raises
    ------
    ModelDirError
        If the file is damaged.
    """
    path = Path(directory).expanduser()
    try:
        if (path / TITLES).is_file():
            saved = json.loads((path / TITLES).read_text(encoding="utf-8"))
            return {
                int(i): (t if isinstance(t, str) else None)
                for i, t in zip(saved["movie_id"], saved["title"], strict=True)
            }
        if not (path / "movies.parquet").is_file():
            return {}
        import pandas as pd

        movies = pd.read_parquet(path / "movies.parquet")
        if not {"movie_id", "title"} <= set(movies.columns):
            return {}
        titles: dict[int, str | None] = {}
        for movie, title in zip(movies["movie_id"], movies["title"], strict=True):
            titles.setdefault(int(movie), title if isinstance(title, str) else None)
        return titles
    except (json.JSONDecodeError, UnicodeDecodeError, *_DAMAGE) as error:
        raise _damaged(path, error) from None


def _open(directory: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The directory and its ``recsys_model.json``, checked to be a model of this format."""
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise ModelDirError(
            f"no model directory at {str(path)!r}; train one with "
            "`recsys train --out DIR` and pass that DIR."
        )
    missing = [f for f in _FILES if not (path / f).is_file()]
    if missing:
        raise ModelDirError(
            f"{str(path)!r} is not a recsys model directory (missing "
            f"{', '.join(missing)}); pass a directory written by recsys train."
        )
    try:
        meta = json.loads((path / "recsys_model.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelDirError(
            f"{str(path / 'recsys_model.json')!r} is damaged ({error}); retrain the model."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelDirError(
            f"{str(path)!r} holds format {found!r}, expected {FORMAT!r}; "
            "retrain it with this version of recsys."
        )
    return path, meta


def _spec(meta: dict[str, Any]) -> NetworkSpec:
    spec = dict(meta["spec"])
    spec["dropout"] = tuple(spec["dropout"])
    spec["rating_range"] = tuple(spec["rating_range"])
    return NetworkSpec(**spec)


def _damaged(path: Path, error: BaseException) -> ModelDirError:
    return ModelDirError(
        f"{str(path)!r} is damaged or incomplete ({type(error).__name__}: "
        f"{error}); retrain the model."
    )


def _check_sizes(path: Path, spec: NetworkSpec, n_users: int, n_movies: int, n_warm: int) -> None:
    if n_users != spec.n_users or n_movies != spec.n_movies or n_warm != n_movies:
        raise ModelDirError(
            f"{str(path)!r}: the vocabularies do not match the network; "
            "the directory was altered. Retrain the model."
        )


def _network_and_tables(path: Path, spec: NetworkSpec) -> tuple[Any, NetworkTables]:
    """The network's tables from ``weights.npz`` (and no network), or, for a directory
    written before that file existed, the Keras network and the tables derived from it.

    Raises
    ------
    ModelDirError
        If a file is damaged or holds another network than ``spec``.
    """
    file = path / WEIGHTS
    network = None
    if file.is_file():
        try:
            tables = NetworkTables.from_npz(file)
        except _DAMAGE as error:
            raise ModelDirError(
                f"{str(file)!r} is damaged ({type(error).__name__}: {error}); retrain the model."
            ) from None
    else:
        network = _load_network(path / "model.keras", spec)
        try:
            tables = NetworkTables.from_network(network)
        except ValueError as error:
            raise _altered(path / "model.keras", spec, str(error)) from None
    try:
        tables.check(spec)
    except ValueError as error:
        raise _altered(
            file if network is None else path / "model.keras", spec, str(error)
        ) from None
    return network, tables


def _altered(file: Path, spec: NetworkSpec, what: str) -> ModelDirError:
    return ModelDirError(
        f"{str(file)!r} does not hold the {spec.kind} network its "
        f"recsys_model.json describes ({what}); the directory was "
        "altered. Retrain the model."
    )


def _load_network(file: Path, spec: NetworkSpec) -> Any:
    """The Keras network of a model directory, checked against its spec.

    Raises
    ------
    ModelDirError
        If ``model.keras`` cannot be read, or holds a network other than the one
        ``recsys_model.json`` describes (other layers or table shapes).
    """
    from recsys.backend import import_keras

    keras = import_keras()
    import recsys.models.layers  # registers the custom layers
    import recsys.models.optimizers  # noqa: F401

    try:
        network = keras.saving.load_model(file, compile=False)
    except Exception as error:  # Keras raises many kinds of error for a bad file
        detail = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise ModelDirError(
            f"{str(file)!r} is damaged or not a Keras model file ({detail}); retrain the model."
        ) from None
    expected = table_shapes(spec)
    found = {layer.name: tuple(layer.weights[0].shape) for layer in network.layers if layer.weights}
    wrong = [name for name, shape in expected.items() if found.get(name) != shape]
    if wrong or network.name != f"{spec.kind}_rating_model":
        what = (
            f"layer {wrong[0]!r} is {'missing' if wrong[0] not in found else found[wrong[0]]}"
            f", expected {expected[wrong[0]]}"
            if wrong
            else f"network {network.name!r}"
        )
        raise _altered(file, spec, what)
    return network
