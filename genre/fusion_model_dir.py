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
    hyper-parameters, each block's provenance, library versions.
``metrics.json``
    Test metrics beside the trivial benchmarks, validation metrics, block coverage and
    the training history (see :func:`genre.fusion_experiment.run_fusion_experiment`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from genre.block_inputs import BlockInputs
from genre.fusion import predict_network
from genre.labels import GenreVocabulary
from genre.model_dir import MARKER, read_common_files, write_common_files
from recsys.errors import DataError, ModelDirError
from recsys.fileio import atomic_directory

__all__ = ["FILES", "FusedModel", "is_fused_model_dir", "load_fused_model", "save_fused_model"]

FILES = ("model.keras", "genres.json", "thresholds.json", "config.json", "metrics.json")
FORMAT_VERSION = 1
KINDS = ("fusion", "mlp")


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
            If a block is missing or has another dimension than at training time.
        """
        chosen = inputs.select(self.blocks)
        for name, dim in chosen.dims.items():
            if dim != int(self.config["dims"][name]):
                raise DataError(f"block {name!r} has {dim} dimensions but the model was "
                                f"trained on {self.config['dims'][name]}; use the feature "
                                "store it was trained with.")
        return predict_network(self.network, chosen)

    def top_k(self, inputs: BlockInputs, k: int = 3) -> list[list[tuple[str, float, bool]]]:
        """For each movie the ``k`` best genres as ``(genre, probability, above_threshold)``.

        Raises
        ------
        ModelDirError
            If ``k`` is not between 1 and the number of genres.
        """
        n = len(self.vocabulary)
        if not 1 <= k <= n:
            raise ModelDirError(f"-k must be between 1 and {n} (the model's genres), "
                                f"received {k}.")
        scores = self.scores(inputs)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[(self.vocabulary.genres[j], float(row[j]), bool(row[j] >= self.thresholds[j]))
                 for j in idx] for row, idx in zip(scores, order, strict=True)]


def save_fused_model(out: str | os.PathLike[str], network: Any, vocabulary: GenreVocabulary,
                     thresholds: NDArray[np.float64], *, config: dict[str, Any],
                     metrics: dict[str, Any]) -> Path:
    """Write a fused model directory (see the module docstring) atomically.

    Raises
    ------
    DataError
        If ``out`` is a non-empty directory that is not a genre model directory
        (:data:`genre.model_dir.MARKER`), or the current directory.
    """
    import keras
    import tensorflow as tf

    target = Path(out).expanduser()
    full_config = {"format_version": FORMAT_VERSION, **config,
                   "versions": {"keras": keras.__version__, "tensorflow": tf.__version__,
                                "numpy": np.__version__}}
    with atomic_directory(target, marker=MARKER, what="genre model") as tmp:
        network.save(tmp / "model.keras")
        write_common_files(tmp, vocabulary, thresholds, threshold_by=config.get("threshold_by"),
                           score_kind="probability", config=full_config, metrics=metrics)
    return target


def load_fused_model(path: str | os.PathLike[str]) -> FusedModel:
    """Load a directory written by :func:`save_fused_model`.

    Raises
    ------
    ModelDirError
        Not a fused model directory, damaged files, or files that disagree (genres,
        blocks).
    """
    import keras

    import genre.fusion  # noqa: F401  (registers the custom loss with Keras)

    root = Path(path).expanduser()
    vocabulary, config, table, network = read_common_files(
        root, FILES, what="fused genre model",
        load_model_file=lambda r: keras.saving.load_model(r / "model.keras", compile=False),
        hint="train one with: genre train --model fusion --features DIR --dataset DIR "
             "--out DIR")
    if config.get("model") not in KINDS or not config.get("blocks"):
        raise ModelDirError(f"{str(root / 'config.json')!r} does not describe a fused model "
                            "(model fusion or mlp with blocks); retrain the model.")
    if int(network.output_shape[-1]) != len(vocabulary):
        raise ModelDirError(f"{str(root)!r}: genres.json and the network disagree on the "
                            "genres; retrain the model.")
    inputs = set(network.input) if isinstance(network.input, dict) else set()
    if inputs and inputs != {n for b in config["blocks"] for n in (b, f"{b}_mask")}:
        raise ModelDirError(f"{str(root)!r}: config.json and the network disagree on the "
                            "blocks; retrain the model.")
    thresholds = np.array([float(v) for v in table.values()], dtype=float)
    return FusedModel(network, vocabulary, thresholds, config, root)
