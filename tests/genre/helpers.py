"""Small synthetic data sets shared by the genre tests."""

from __future__ import annotations

import numpy as np

from genre.fusion.block_inputs import BlockInputs

WORDS = {0: "alien space robot ship", 1: "love wedding heart kiss", 2: "ghost blood terror night"}


def text_data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 3)) < 0.4).astype(int)
    Y[Y.sum(axis=1) == 0, 0] = 1
    texts = []
    for row in Y:
        words = [w for j in np.flatnonzero(row) for w in WORDS[j].split() if rng.random() < 0.6]
        words += list(rng.choice("the a city man woman story finds".split(), size=4))
        texts.append(" ".join(words))
    return texts, Y


def synthetic(n: int = 300, seed: int = 0) -> tuple[BlockInputs, np.ndarray]:
    """Three genres. Block ``text`` (8-d) carries genres 0 and 1, block ``image`` (4-d,
    present for half the movies, on another scale) carries genre 2."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 3)) < [0.4, 0.3, 0.35]).astype(np.uint8)
    text = rng.normal(0, 1, (n, 8))
    text[:, 0] += 2.0 * Y[:, 0]
    text[:, 1] += 2.0 * Y[:, 1]
    image = 100 + 10 * rng.normal(0, 1, (n, 4))
    image[:, 0] += 40 * Y[:, 2]
    has_image = rng.random(n) < 0.5
    image[~has_image] = 0.0
    inputs = BlockInputs(
        np.arange(n),
        {"text": text.astype(np.float32), "image": image.astype(np.float32)},
        {"text": np.ones(n, bool), "image": has_image},
    )
    return inputs, Y
