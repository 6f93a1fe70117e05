"""Save and load a fused genre model directory (``genre train --model fusion|mlp``).

Layout (written atomically)

``model.keras``
    The Keras network: block inputs (raw values, standardised inside) and masks in,
    genre probabilities out.
``genres.json``
    The genre order of the outputs.
``thresholds.json``
    ``{"threshold_by", "score_kind": "probability", "thresholds": {genre: value}}``,
    chosen on validation data.
``config.json``
    Model kind, blocks and their dimensions, the feature store and labelled set used,
    hyper-parameters, each block's provenance (as the feature store recorded it at
    training time), library versions: ``versions`` holds the Keras version, the
    ``backend`` it trained on (``"tensorflow"``, ``"jax"`` or ``"torch"``) and that
    backend package's version (e.g. ``{"keras": "3.15.1", "backend": "jax", "jax":
    "0.10.2", "numpy": "2.4.6"}``).
``metrics.json``
    Test metrics beside the trivial benchmarks, validation metrics, block coverage and
    the training history (see :func:`genre.fusion.experiment.run_fusion_experiment`).

Backends
    The ``.keras`` file is backend-neutral: a model trained on one Keras backend loads
    and scores on any other. Importing this module does not import Keras (``genre
    predict`` on a text model must stay free of it); saving and loading do.

Scoring a movie from another feature store
    A block is only the same input if it was made the same way: a 50-d Word2Vec trained
    on the overviews is not the 50-d GloVe the model learned from, though it has the
    width. :meth:`FusedModel.scores` compares each block's provenance in the store with
    the one saved at training time (:func:`provenance_differences`) and refuses a block
    that differs. Ignored in the comparison: the build's statistics, which depend on
    which movies the store happened to cover and on its cache, not on what a vector
    means (:data:`VOLATILE_PROVENANCE_KEYS`: counts of texts, tokens, images, failures,
    seconds); and the folder part of paths (:data:`PATH_PROVENANCE_KEYS`: the word
    vector file and the rating-model directory are compared by their file/folder name,
    so a store rebuilt from the same files moved elsewhere is accepted). Everything
    else counts: model, weights, corpus, settings, seeds, dimensions, side features.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from genre.fusion.block_inputs import BlockInputs
from genre.data.labels import GenreVocabulary
from genre.model_dir import MARKER, check_k, read_common_files, top_k_genres, write_common_files
from recsys.backend import import_tensorflow_quietly
from recsys.errors import DataError, ModelDirError
from recsys.fileio import atomic_directory

__all__ = [
    "FILES",
    "PATH_PROVENANCE_KEYS",
    "VOLATILE_PROVENANCE_KEYS",
    "FusedModel",
    "is_fused_model_dir",
    "library_versions",
    "load_fused_model",
    "provenance_differences",
    "save_fused_model",
]

FILES = ("model.keras", "genres.json", "thresholds.json", "config.json", "metrics.json")
FORMAT_VERSION = 1
KINDS = ("fusion", "mlp")
#: Provenance keys that describe one build run (coverage counts, cache use, timing),
#: not what the block's vectors mean; left out when provenances are compared.
VOLATILE_PROVENANCE_KEYS = frozenset(
    {
        "seconds",
        "n_cached",
        "n_computed",
        "n_images",
        "n_failed",
        "failures",
        "n_texts",
        "n_empty",
        "n_no_known_token",
        "n_present",
        "n_tokens",
        "n_oov_tokens",
        "token_oov_rate",
    }
)
#: Provenance keys holding a file or folder path: compared by its last part only.
PATH_PROVENANCE_KEYS = frozenset({"word_vectors", "model_dir"})


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                Path(str(v)).name
                if k in PATH_PROVENANCE_KEYS and isinstance(v, str)
                else _comparable(v)
            )
            for k, v in value.items()
            if k not in VOLATILE_PROVENANCE_KEYS
        }
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def provenance_differences(
    trained: dict[str, Any] | None, current: dict[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """The provenance keys on which two versions of a block differ.

    Statistics of the build (:data:`VOLATILE_PROVENANCE_KEYS`) are ignored at every
    level, and paths (:data:`PATH_PROVENANCE_KEYS`) are compared by their last part.

    Returns
    -------
    dict of key -> ``(value at training time, value now)``; a missing key is ``None``.

    Examples
    --------
    >>> glove = {"word_vectors": "/data/glove.6B.50d.txt", "dim": 50, "n_texts": 9}
    >>> provenance_differences(glove, {**glove, "word_vectors": "/elsewhere/glove.6B.50d.txt",
    ...                                "n_texts": 4})
    {}
    >>> provenance_differences(glove, {"word_vectors": "trained", "dim": 50, "epochs": 20})
    {'epochs': (None, 20), 'word_vectors': ('glove.6B.50d.txt', 'trained')}
    """
    old, new = _comparable(dict(trained or {})), _comparable(dict(current or {}))
    return {
        k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }


def _short(value: Any, limit: int = 40) -> str:
    text = "(absent)" if value is None else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_fused_model_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a fused genre model directory.

    It must hold every file of :data:`FILES`, and its ``config.json`` must name a fused
    model kind (``"model": "fusion"`` or ``"mlp"``); a ``model.keras`` alone (e.g. a
    ``recsys train`` rating-model directory) is not enough. A ``config.json`` that is
    not JSON still counts, so that :func:`load_fused_model` reports the damage.
    """
    root = Path(path).expanduser()
    if not all((root / name).is_file() for name in FILES):
        return False
    try:
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return isinstance(config, dict) and config.get("model") in KINDS


@dataclass(frozen=True, eq=False)
class FusedModel:
    """A loaded fused model directory.

    Attributes
    ----------
    network : keras.Model
    vocabulary : genre order of the outputs.
    thresholds : ndarray of shape (n_genres,).
    config : contents of ``config.json``.
    path : where it was loaded from.
    """

    network: Any
    vocabulary: GenreVocabulary
    thresholds: NDArray[np.float64]
    config: dict[str, Any]
    path: Path

    @property
    def blocks(self) -> list[str]:
        """Block names the network takes, in order."""
        return list(self.config["blocks"])

    def scores(self, inputs: BlockInputs) -> NDArray[np.float64]:
        """Probabilities of shape ``(n_movies, n_genres)``.

        Raises
        ------
        DataError
            If a block is missing, has another dimension than at training time, or was
            made differently (its provenance differs from the one saved at training
            time; see the module docstring).
        """
        self.check_provenance(inputs)
        chosen = inputs.select(self.blocks)
        for name, dim in chosen.dims.items():
            if dim != int(self.config["dims"][name]):
                raise DataError(
                    f"block {name!r} has {dim} dimensions but the model was "
                    f"trained on {self.config['dims'][name]}; use the feature "
                    "store it was trained with."
                )
        from genre.fusion.model import predict_network

        return predict_network(self.network, chosen)

    def check_provenance(self, inputs: BlockInputs) -> None:
        """Refuse blocks of ``inputs`` made differently from those the model learned from.

        Blocks whose provenance ``inputs`` does not carry, and models whose
        ``config.json`` has no ``provenance``, are not checked.

        Raises
        ------
        DataError
            Naming the block and the provenance keys that differ.
        """
        saved = self.config.get("provenance")
        if not isinstance(saved, dict):
            return
        for name in self.blocks:
            if name not in inputs.provenance or name not in saved:
                continue
            diff = provenance_differences(saved[name], inputs.provenance[name])
            if diff:
                # Keys both versions have first: a changed value says more than a new key.
                keys = sorted(diff, key=lambda k: (None in diff[k], k))
                detail = "; ".join(
                    f"{k}: trained on {_short(diff[k][0])}, received {_short(diff[k][1])}"
                    for k in keys[:2]
                )
                raise DataError(
                    f"block {name!r} was made differently from the one the model was "
                    f"trained on (provenance differs in {', '.join(keys)}; {detail}); use "
                    "the feature store the model was trained with, or retrain on this one."
                )

    def top_k(self, inputs: BlockInputs, k: int = 3) -> list[list[tuple[str, float, bool]]]:
        """For each movie the ``k`` best genres as ``(genre, probability, above_threshold)``.

        Raises
        ------
        ModelDirError
            If ``k`` is not between 1 and the number of genres.
        """
        check_k(k, self.vocabulary)
        return top_k_genres(self.scores(inputs), self.vocabulary, self.thresholds, k)


def save_fused_model(
    out: str | os.PathLike[str],
    network: Any,
    vocabulary: GenreVocabulary,
    thresholds: NDArray[np.float64],
    *,
    config: dict[str, Any],
    metrics: dict[str, Any],
) -> Path:
    """Write a fused model directory (see the module docstring) atomically.

    Raises
    ------
    DataError
        If ``out`` is a non-empty directory that is not a genre model directory
        (:data:`genre.model_dir.MARKER`), or the current directory.
    """
    target = Path(out).expanduser()
    full_config = {"format_version": FORMAT_VERSION, **config, "versions": library_versions()}
    import_tensorflow_quietly()  # Keras' serializer imports it on every backend
    with atomic_directory(target, marker=MARKER, what="genre model") as tmp:
        network.save(tmp / "model.keras")
        write_common_files(
            tmp,
            vocabulary,
            thresholds,
            threshold_by=config.get("threshold_by"),
            score_kind="probability",
            config=full_config,
            metrics=metrics,
        )
    return target


def library_versions() -> dict[str, str]:
    """Keras, the backend it runs on and that backend's version, numpy (imports Keras).

    >>> sorted(library_versions())[:2]
    ['backend', 'keras']
    """
    from recsys.backend import backend_versions

    return {**backend_versions(), "numpy": np.__version__}


def load_fused_model(path: str | os.PathLike[str]) -> FusedModel:
    """Load a directory written by :func:`save_fused_model`.

    Raises
    ------
    ModelDirError
        Not a fused model directory, damaged files, or files that disagree (genres,
        blocks).
    """
    from genre.fusion.model import keras  # Keras on the selected backend; registers the loss

    root = Path(path).expanduser()
    vocabulary, config, table, network = read_common_files(
        root,
        FILES,
        what="fused genre model",
        load_model_file=lambda r: keras.saving.load_model(r / "model.keras", compile=False),
        hint="train one with: genre train --model fusion --features DIR --dataset DIR --out DIR",
    )
    if config.get("model") not in KINDS or not config.get("blocks"):
        raise ModelDirError(
            f"{str(root / 'config.json')!r} does not describe a fused model "
            "(model fusion or mlp with blocks); retrain the model."
        )
    if int(network.output_shape[-1]) != len(vocabulary):
        raise ModelDirError(
            f"{str(root)!r}: genres.json and the network disagree on the genres; retrain the model."
        )
    inputs = set(network.input) if isinstance(network.input, dict) else set()
    if inputs and inputs != {n for b in config["blocks"] for n in (b, f"{b}_mask")}:
        raise ModelDirError(
            f"{str(root)!r}: config.json and the network disagree on the blocks; retrain the model."
        )
    thresholds = np.array([float(v) for v in table.values()], dtype=float)
    return FusedModel(network, vocabulary, thresholds, config, root)
