"""The model-folder format of a :class:`~recsys.models.rating_model.RatingModel`.

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
                       (``movie_warm``); for a model with (user, day) biases their
                       table (``day_keys``, ``day_values``, see
                       :mod:`recsys.models.day_bias`)
``movies.parquet``     the movie catalogue (titles, years, genres), when known
``titles.json``        the catalogue's titles by movie id, when known (read without
                       pandas by ``recsys predict``)
``ids.npz``            for data with string ids (:mod:`recsys.ids`): the strings
                       of the user and/or movie codes (``user_labels``,
                       ``movie_labels``), read by :func:`load_ids`

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

import recsys
from recsys.errors import ModelDirError
from recsys.fileio import atomic_directory, check_writable_dir, readable_dir, write_json_atomic
from recsys.ids import IdMaps
from recsys.jsonutil import jsonable
from recsys.models.day_bias import DayBiases
from recsys.models.history import EpochLog, TrainingResult
from recsys.models.interactions import Interactions
from recsys.models.scoring import ModelScorer, NetworkTables, baseline_tables
from recsys.models.spec import NetworkSpec, table_shapes

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMAT",
    "KIND",
    "MARKER",
    "SavedModel",
    "load_ids",
    "load_network",
    "load_scorer",
    "load_titles",
    "read_model_dir",
    "write_model_dir",
]

FORMAT = "recsys-rating-model/1"
#: What ``recsys_model.json`` says the folder holds (its top-level ``kind``; folders
#: written before it existed have none and are read as this kind).
KIND = "rating-model"
#: The file that marks a directory as a model directory ``write_model_dir`` may replace.
MARKER = "recsys_model.json"
_FILES = ("model.keras", "recsys_model.json", "arrays.npz")
WEIGHTS = "weights.npz"
TITLES = "titles.json"
IDS = "ids.npz"
#: What the loaders catch as "a damaged file" (numpy, json and zip errors).
_DAMAGE = (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile)


@dataclass
class SavedModel:
    """Everything a model folder holds, as plain values (no estimator).

    :meth:`RatingModel._to_saved` makes one and :meth:`RatingModel._from_saved` builds
    the estimator from one; this module only writes and reads them.

    Attributes
    ----------
    params : the estimator's constructor arguments (``get_params()``).
    spec : the network's description.
    rating_scale : ``(low, high)``.
    global_mean : mean of the fitting ratings.
    n_train, n_validation, n_validation_dropped : sizes of the training run's parts.
    training : the training history.
    user_ids : ndarray of int64, shape (n_users,), the user vocabulary.
    movie_ids : ndarray of int64, shape (n_movies,), the movie vocabulary.
    baseline_mean : the bias baseline's global mean.
    baseline_user_bias : ndarray of float64, shape (n_users,).
    baseline_movie_bias : ndarray of float64, shape (n_movies,).
    seen : who rated what in the training data.
    side_features : the side-feature layout as JSON (``SideFeatures.to_json``), or
        ``None`` for a model without side features.
    side_means, side_scales : ndarray of float32, shape (n_side_columns,), their
        standardisation (``None`` without side features).
    movie_warm : ndarray of bool, shape (n_movies,), which movies had training ratings
        (``None`` without side features: every movie of the vocabulary had).
    movies : the movie catalogue, or ``None``.
    network : the Keras network when it is in memory (writing saves it; reading gives
        it only for a folder without ``weights.npz``, else ``None``).
    network_file : the ``model.keras`` the network can be read from (``None``: none).
    tables : the numpy tables the network scores with (``None`` when writing a
        network in memory: they are read from it).
    fallback : ``{"used": "bias_only" or None, "validation_rmse": ...,
        "baseline_validation_rmse": ...}``: whether predictions come from the bias-only
        baseline because it beat the network on validation (``None``: not compared).
    scale_factor : the ratings' spread relative to ml-latest-small's (scale-aware
        defaults).
    ids : the strings of string user or movie ids (empty for integer ids).
    day_biases : the (user, day) biases, or ``None``.
    day_bias_report : how they were chosen (``recsys_model.json``'s ``day_biases``), or
        ``None`` when not tried.
    """

    params: dict[str, Any]
    spec: NetworkSpec
    rating_scale: tuple[float, float]
    global_mean: float
    n_train: int
    n_validation: int
    n_validation_dropped: int
    training: TrainingResult
    user_ids: NDArray[np.int64]
    movie_ids: NDArray[np.int64]
    baseline_mean: float
    baseline_user_bias: NDArray[np.float64]
    baseline_movie_bias: NDArray[np.float64]
    seen: Interactions
    side_features: dict[str, Any] | None = None
    side_means: NDArray[np.float32] | None = None
    side_scales: NDArray[np.float32] | None = None
    movie_warm: NDArray[np.bool_] | None = None
    movies: pd.DataFrame | None = None
    network: Any = None
    network_file: Path | None = None
    tables: NetworkTables | None = None
    fallback: dict[str, Any] | None = None
    scale_factor: float = 1.0
    ids: IdMaps = field(default_factory=IdMaps)
    day_biases: DayBiases | None = None
    day_bias_report: dict[str, Any] | None = None


def _write_arrays(file: Path, arrays: dict[str, Any]) -> None:
    """``arrays.npz`` (one function, so a test can make the write fail)."""
    np.savez(file, **arrays)


def write_model_dir(
    saved: SavedModel,
    directory: str | os.PathLike[str],
    extra_files: dict[str, Any] | None = None,
) -> Path:
    """Write ``saved`` to ``directory`` atomically; ``extra_files`` maps names to JSON data.

    A model whose Keras network is not in memory (``saved.network`` is ``None``) is
    saved without Keras: its ``model.keras`` is copied from ``saved.network_file``.

    Raises
    ------
    DataError
        If ``directory`` cannot be written, or is a non-empty directory that is not a
        model directory (see :func:`recsys.fileio.check_replaceable`).
    """
    target = check_writable_dir(directory, what="model", marker=MARKER)
    with atomic_directory(target, marker=MARKER, what="model") as tmp:
        if saved.network is not None:
            from recsys.backend import import_tensorflow_quietly

            import_tensorflow_quietly()  # Keras' serializer imports it on every backend
            saved.network.save(tmp / "model.keras")
            tables = NetworkTables.from_network(saved.network)  # what model.keras holds
        elif saved.network_file is not None and saved.tables is not None:
            shutil.copyfile(saved.network_file, tmp / "model.keras")
            tables = saved.tables
        else:
            raise ValueError("a saved model needs its network, or its file and tables")
        tables.to_npz(tmp / WEIGHTS)
        training = saved.training
        meta: dict[str, Any] = {
            "format": FORMAT,
            "kind": KIND,
            "recsys_version": recsys.__version__,
            "params": jsonable(saved.params),
            "spec": jsonable(asdict(saved.spec)),
            "rating_scale": list(saved.rating_scale),
            "global_mean": saved.global_mean,
            "n_train": int(saved.n_train),
            "n_validation": int(saved.n_validation),
            "n_validation_dropped": int(saved.n_validation_dropped),
            "training": training_json(training),
        }
        if saved.fallback is not None:
            meta["fallback"] = jsonable(saved.fallback)
        if saved.scale_factor != 1.0:
            meta["scale_factor"] = float(saved.scale_factor)
        side_arrays: dict[str, NDArray[Any]] = {}
        if saved.side_features is not None:
            assert saved.side_means is not None and saved.side_scales is not None
            assert saved.movie_warm is not None
            meta["side_features"] = saved.side_features
            side_arrays = {
                "side_means": saved.side_means,
                "side_scales": saved.side_scales,
                "movie_warm": saved.movie_warm,
            }
        if saved.day_bias_report is not None:
            meta["day_biases"] = jsonable(saved.day_bias_report)
        if saved.day_biases is not None:
            meta["day_biases"] = {**meta.get("day_biases", {}), **saved.day_biases.to_json()}
            side_arrays |= {
                "day_keys": saved.day_biases.keys,
                "day_values": saved.day_biases.values,
            }
        write_json_atomic(tmp / MARKER, meta)
        seen = saved.seen
        _write_arrays(
            tmp / "arrays.npz",
            {
                "user_ids": saved.user_ids,
                "movie_ids": saved.movie_ids,
                "baseline_mean": np.array(saved.baseline_mean),
                "baseline_user_bias": saved.baseline_user_bias,
                "baseline_movie_bias": saved.baseline_movie_bias,
                "seen_indptr": seen.indptr,
                "seen_movies": seen.movies,
                "seen_ratings": seen.ratings,
                **side_arrays,
            },
        )
        if saved.movies is not None:
            _write_movies(saved.movies, tmp)
        if not saved.ids.empty:
            ids: dict[str, Any] = dict(saved.ids.arrays())
            np.savez(tmp / IDS, **ids)
        for name, payload in (extra_files or {}).items():
            write_json_atomic(tmp / name, payload)
    return target


def training_json(training: TrainingResult) -> dict[str, Any]:
    """The training summary of ``recsys_model.json`` (and of ``describe()``)."""
    return {
        "epochs_run": training.epochs_run,
        "best_epoch": training.best_epoch,
        "stopped_early": training.stopped_early,
        "train_seconds": training.train_seconds,
        "history": [asdict(h) for h in training.history],
    }


def _write_movies(movies: pd.DataFrame, tmp: Path) -> None:
    """``movies.parquet`` (genres joined by ``|``) and ``titles.json``."""
    movies = movies.copy()
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


def read_model_dir(directory: str | os.PathLike[str]) -> SavedModel:
    """Read a model directory written by :func:`write_model_dir`.

    The network's tables come from ``weights.npz`` (``network`` is then ``None``: the
    Keras network is read from ``network_file`` when someone asks for it); a directory
    written before ``weights.npz`` existed gives the network itself.

    Raises
    ------
    ModelDirError
        Missing directory or files, a foreign or newer format, damaged files, or
        vocabularies that do not match the network.
    """
    path, meta = _open(directory)
    try:
        params = dict(meta["params"])
        if params.get("dropout") is not None:
            params["dropout"] = tuple(params["dropout"])
        side_json = meta.get("side_features")
        with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
            side = (
                {
                    "side_means": arrays["side_means"],
                    "side_scales": arrays["side_scales"],
                    "movie_warm": arrays["movie_warm"].astype(bool),
                }
                if side_json is not None
                else {}
            )
            saved_arrays = {
                "user_ids": arrays["user_ids"],
                "movie_ids": arrays["movie_ids"],
                "baseline_mean": float(arrays["baseline_mean"]),
                "baseline_user_bias": arrays["baseline_user_bias"],
                "baseline_movie_bias": arrays["baseline_movie_bias"],
                "seen": Interactions(
                    arrays["seen_indptr"], arrays["seen_movies"], arrays["seen_ratings"]
                ),
            }
            day_json = meta.get("day_biases")
            day_biases = None
            if "day_keys" in arrays.files:
                day_biases = DayBiases(
                    arrays["day_keys"].astype(np.int64),
                    arrays["day_values"].astype(np.float32),
                    float((day_json or {})["shrinkage"]),
                )
                if len(day_biases.keys) != len(day_biases.values):
                    raise ValueError("day_keys and day_values differ in length")
        spec = _spec(meta)
        network, tables = _network_and_tables(path, spec)
        training = meta["training"]
        low, high = _rating_scale(path, meta)
        saved = SavedModel(
            params=params,
            spec=spec,
            rating_scale=(low, high),
            global_mean=float(meta["global_mean"]),
            n_train=int(meta["n_train"]),
            n_validation=int(meta["n_validation"]),
            n_validation_dropped=int(meta.get("n_validation_dropped", 0)),
            training=TrainingResult(
                history=[EpochLog(**h) for h in training["history"]],
                best_epoch=int(training["best_epoch"]),
                train_seconds=float(training["train_seconds"]),
                stopped_early=bool(training["stopped_early"]),
            ),
            side_features=side_json,
            movies=_read_movies(path),
            network=network,
            network_file=path / "model.keras",
            tables=tables,
            fallback=meta.get("fallback"),
            scale_factor=float(meta.get("scale_factor", 1.0)),
            ids=load_ids(path),
            day_biases=day_biases,
            day_bias_report=day_json,
            **saved_arrays,
            **side,
        )
    except ModelDirError:
        raise
    except _DAMAGE as error:
        raise _damaged(path, error) from None
    n_movies = len(saved.movie_ids)
    n_warm = n_movies if saved.movie_warm is None else len(saved.movie_warm)
    _check_sizes(path, spec, len(saved.user_ids), n_movies, n_warm)
    return saved


def _read_movies(path: Path) -> pd.DataFrame | None:
    """The catalogue of ``movies.parquet`` (genres as tuples), ``None`` without one."""
    if not (path / "movies.parquet").is_file():
        return None
    import pandas as pd

    movies = pd.read_parquet(path / "movies.parquet")
    if "genres" in movies.columns:
        movies["genres"] = [
            tuple(g.split("|")) if isinstance(g, str) and g else () for g in movies["genres"]
        ]
    return movies


def load_scorer(directory: str | os.PathLike[str]) -> ModelScorer:
    """What :meth:`RatingModel.predict_frame` needs of a saved model, read with numpy
    only (no pandas, no Keras for a directory with ``weights.npz``).

    Raises
    ------
    ModelDirError
        As :func:`read_model_dir`.
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
        if (meta.get("fallback") or {}).get("used") == "bias_only":
            tables = baseline_tables(SimpleNamespace(
                mean_=baseline[0], user_bias_=baseline[1], movie_bias_=baseline[2]
            ))  # fmt: skip
        scale = _rating_scale(path, meta)
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
        tables,
        user_ids,
        movie_ids,
        baseline,
        warm,
        side=side,
        # a ranking model's scores are not ratings: never clipped to the scale
        rating_scale=None if meta["params"].get("objective") == "bpr" else (scale[0], scale[1]),
    )


def load_ids(directory: str | os.PathLike[str]) -> IdMaps:
    """The string-id tables of a model directory (empty when its data had integer ids).

    Raises
    ------
    ModelDirError
        If ``ids.npz`` is damaged.
    """
    path = readable_dir(directory)
    if not (path / IDS).is_file():
        return IdMaps()
    try:
        with np.load(path / IDS, allow_pickle=False) as arrays:
            return IdMaps.from_arrays({name: arrays[name] for name in arrays.files})
    except _DAMAGE as error:
        raise _damaged(path, error) from None


def load_titles(directory: str | os.PathLike[str]) -> dict[int, str | None]:
    """The titles of a model directory's movie catalogue by movie id (empty without a
    catalogue); ``None`` for a movie whose title is unknown. Read from ``titles.json``
    (no pandas), or from ``movies.parquet`` for a directory without it.

    Raises
    ------
    ModelDirError
        If the file is damaged.
    """
    path = readable_dir(directory)
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
    path = readable_dir(directory)  # a switch interrupted where no atomic exchange exists
    if not path.is_dir():
        raise ModelDirError(
            f"no model directory at {str(path)!r}; give the directory a fitted "
            "RatingModel was saved to.",
            parameter="directory",
        )
    missing = [f for f in _FILES if not (path / f).is_file()]
    if missing:
        raise ModelDirError(
            f"{str(path)!r} is not a recsys model directory (missing "
            f"{', '.join(missing)}); give a directory written by RatingModel.save.",
            parameter="directory",
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
    if meta.get("kind", KIND) != KIND:
        raise ModelDirError(
            f"{str(path)!r} holds a {meta['kind']!r} model, not a {KIND!r}; give the "
            "directory of a saved RatingModel."
        )
    return path, meta


def _spec(meta: dict[str, Any]) -> NetworkSpec:
    spec = dict(meta["spec"])
    spec["dropout"] = tuple(spec["dropout"])
    spec["rating_range"] = tuple(spec["rating_range"])
    return NetworkSpec(**spec)


def _rating_scale(path: Path, meta: dict[str, Any]) -> tuple[float, float]:
    """The ``rating_scale`` of ``recsys_model.json``: two finite numbers, low < high.

    Raises
    ------
    ModelDirError
        If it is anything else (the file was edited or damaged).
    """
    value = meta.get("rating_scale")
    scale: tuple[float, float] | None = None
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    ):
        low, high = float(value[0]), float(value[1])
        if np.isfinite(low) and np.isfinite(high) and low < high:
            scale = (low, high)
    if scale is None:
        raise ModelDirError(
            f"{str(path / MARKER)!r}: rating_scale is {value!r}, expected two finite "
            "numbers [low, high] with low < high (e.g. [0.5, 5.0]); the file was edited or "
            "damaged. Restore it or retrain the model."
        )
    return scale


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
        network = load_network(path / "model.keras", spec)
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


def load_network(file: Path, spec: NetworkSpec) -> Any:
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
        with open(file, "rb") as handle:  # Keras says "File not found" for both cases below
            intact = zipfile.is_zipfile(handle)
    except OSError as error:
        raise ModelDirError(
            f"{str(file)!r} cannot be read ({error.strerror}); check its permissions."
        ) from None
    if not intact:
        raise ModelDirError(
            f"{str(file)!r} is damaged (not a complete .keras zip archive); retrain the model."
        )
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
