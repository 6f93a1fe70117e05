"""Fit, predict, save and load the genre models on one Keras backend, in its own process.

A process holds one Keras backend, so ``tests/genre/test_backends.py`` runs this module
once per backend (``KERAS_BACKEND=jax python -m tests.genre.backend_worker OUT``). It
writes, under ``OUT/<backend>/``: for each model kind (``fusion``: two blocks, ``mlp``:
one block) the model directory and ``<kind>.npz`` (test probabilities of two fits with
seed 0 and one with seed 1, the probabilities of the reloaded model, and those of every
model another backend saved in ``OUT`` before, as loaded here), and ``result.json``
(the backend Keras ran on, the backend packages imported by training and predicting,
i.e. before the first save, the ``versions`` recorded). The test makes every assertion.

Keras's serializer imports TensorFlow on every backend when it is installed, so only what
fitting and predicting import is recorded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

#: Small networks that still learn the synthetic genres in a few epochs.
PARAMS = {
    "fusion": {
        "units": (16,),
        "dropout": 0.1,
        "epochs": 12,
        "patience": 5,
        "batch_size": 32,
        "learning_rate": 0.01,
    },
    # the single-block MLP's 1024-256 layers (DEFAULTS["mlp"])
    "mlp": {"epochs": 12, "patience": 5, "batch_size": 32, "learning_rate": 0.001},
}
BLOCKS = {"fusion": ["text", "image"], "mlp": ["text"]}


def main(out: Path) -> int:
    from genre.data.labels import GenreVocabulary
    from genre.fusion.experiment import make_classifier
    from genre.fusion.model import FusionClassifier, keras
    from tests.genre.helpers import synthetic

    backend = str(keras.backend.backend())
    here = out / backend
    here.mkdir(parents=True, exist_ok=True)
    X, Y = synthetic(240, seed=3)
    vocab = GenreVocabulary(("Comedy", "Drama", "Horror"))
    result: dict = {"backend": backend, "versions": {}}
    for kind, blocks in BLOCKS.items():
        data = X.select(blocks)
        train, val, test = (
            data.take(slice(0, 160)),
            data.take(slice(160, 200)),
            data.take(slice(200, 240)),
        )

        def fit(seed: int, kind: str = kind, train=train, val=val):
            clf = make_classifier(kind, train.names, seed=seed, **PARAMS[kind])
            return clf.fit(train, Y[:160], validation=(val, Y[160:200]), genres=vocab.genres)

        first = fit(0)
        arrays = {
            "seed0": first.predict_proba(test),
            "seed0_again": fit(0).predict_proba(test),
            "seed1": fit(1).predict_proba(test),
            "y_test": Y[200:240],
        }
        result.setdefault(
            "imported_by_fit", sorted(m for m in ("tensorflow", "jax", "torch") if m in sys.modules)
        )
        folder = first.save(here / kind, config={"model": kind})
        arrays["reloaded"] = FusionClassifier.load(folder).scores(test)
        for other in sorted(p for p in out.iterdir() if p.is_dir() and p.name != backend):
            if (other / kind / "config.json").is_file():
                arrays[f"loaded_from_{other.name}"] = FusionClassifier.load(other / kind).scores(
                    test
                )
        np.savez(here / f"{kind}.npz", **arrays)
        result["versions"][kind] = json.loads((folder / "config.json").read_text(encoding="utf-8"))[
            "versions"
        ]
        result[f"{kind}_best_epoch"] = first.best_epoch_
        result[f"{kind}_epochs_run"] = len(first.history_)
    (here / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
