"""The fused model's second stage: every genre's final score sees the first stage's scores
of every genre; it starts as the one-stage model and survives saving."""

from __future__ import annotations

import numpy as np
import pytest

from genre.fusion.model import FusionClassifier, build_fusion_network, keras, network_inputs
from tests.genre.helpers import synthetic


def test_second_stage_starts_as_the_first_stage() -> None:
    inputs, _ = synthetic(n=20)
    net = build_fusion_network(inputs.dims, 3, units=(4,), second_stage=True, seed=1)
    assert net.get_layer("genre_interactions").output.shape[-1] == 3
    first = keras.Model(net.inputs, net.get_layer("first_stage").output)
    x = network_inputs(inputs)
    np.testing.assert_allclose(net.predict(x, verbose=0), first.predict(x, verbose=0), atol=1e-6)
    plain = build_fusion_network(inputs.dims, 3, units=(4,), seed=1)
    with pytest.raises(ValueError):
        plain.get_layer("genre_interactions")


@pytest.mark.slow
def test_second_stage_trains_saves_and_reloads(tmp_path) -> None:
    inputs, Y = synthetic(n=200)
    train, val = inputs.take(slice(0, 150)), inputs.take(slice(150, 200))
    clf = FusionClassifier(units=(8,), second_stage=True, epochs=5, batch_size=32, seed=0)
    clf.fit(train, Y[:150], validation=(val, Y[150:]))
    weights = clf.network_.get_layer("genre_interactions").get_weights()[0]
    assert np.abs(weights).sum() > 0  # the second stage learned something
    clf.save(tmp_path / "m")
    again = FusionClassifier.load(tmp_path / "m")
    assert again.second_stage is True
    np.testing.assert_allclose(again.scores(val), clf.scores(val), atol=1e-6)
