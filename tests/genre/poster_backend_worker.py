"""Fit, save and load a poster CNN on one Keras backend, in its own process.

``KERAS_BACKEND=jax python -m tests.genre.poster_backend_worker OUT`` writes, under
``OUT/<backend>/``: the model folder ``model`` (a scratch network trained 3 epochs on
synthetic shapes), and ``scores.npz`` (the test scores of the fitted model, of the model
reloaded here and of every model another backend saved in ``OUT`` before, loaded here).
The test (:mod:`tests.genre.test_poster_cnn_cli`) makes every assertion.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main(out: Path) -> int:
    from genre.poster.model import PosterCNNClassifier, PosterInput, keras
    from tests.genre.poster_data import GENRES, shape_images

    backend = str(keras.backend.backend())
    here = out / backend
    here.mkdir(parents=True, exist_ok=True)
    images, Y = shape_images(90, 16, seed=4)
    train, val, test = (
        PosterInput(images, np.arange(a, b)) for a, b in ((0, 60), (60, 75), (75, 90))
    )
    clf = PosterCNNClassifier(image_size=16, epochs=3, batch_size=16, learning_rate=0.003)
    clf.fit(train, Y[:60], validation=(val, Y[60:75]), genres=GENRES)
    arrays = {"fitted": clf.scores(test), "y_test": Y[75:]}
    folder = clf.save(here / "model", config={"model": "poster-cnn"})
    arrays["reloaded"] = PosterCNNClassifier.load(folder).scores(test)
    for other in sorted(p for p in out.iterdir() if p.is_dir() and p.name != backend):
        if (other / "model" / "config.json").is_file():
            arrays[f"loaded_from_{other.name}"] = PosterCNNClassifier.load(other / "model").scores(
                test
            )
    np.savez(here / "scores.npz", **arrays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
