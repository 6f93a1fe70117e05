"""Custom layers and networks: hand-computed outputs, shapes, penalties, round trips."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from recsys.models import DotScore, NetworkSpec, RowL2Embedding, SigmoidRange, build_network


def pairs(users: list[int], movies: list[int]) -> dict[str, np.ndarray]:
    return {"user": np.array(users, dtype="int32"), "movie": np.array(movies, dtype="int32")}


def set_tables(net: keras.Model) -> None:
    net.get_layer("user_embedding").set_weights([np.array([[1.0, 2.0], [0.5, -1.0]])])
    net.get_layer("movie_embedding").set_weights([np.array([[0.0, 1.0], [3.0, -1.0], [2.0, 2.0]])])


def test_dot_network_hand_computed() -> None:
    # a linear output (the dot kind's default output is the sigmoid, see DEFAULTS)
    net = build_network(NetworkSpec("dot", n_users=2, n_movies=3, factors=2, output="linear"))
    set_tables(net)
    out = np.asarray(net(pairs([0, 0, 1], [1, 2, 1])))
    # [1,2].[3,-1] = 1, [1,2].[2,2] = 6, [0.5,-1].[3,-1] = 2.5
    np.testing.assert_allclose(out, [1.0, 6.0, 2.5], rtol=1e-6)
    assert out.shape == (3,)  # one score per pair, not one for the batch


def test_bias_network_hand_computed() -> None:
    net = build_network(NetworkSpec("bias", n_users=2, n_movies=3, factors=2, global_mean=3.0))
    set_tables(net)
    net.get_layer("user_bias").set_weights([np.array([[0.5], [-0.5]])])
    net.get_layer("movie_bias").set_weights([np.array([[0.0], [-0.25], [0.1]])])
    out = np.asarray(net(pairs([0, 1], [1, 2])))
    # 1 + 0.5 - 0.25 + 3 = 4.25 ; [0.5,-1].[2,2] = -1, -1 - 0.5 + 0.1 + 3 = 1.6
    np.testing.assert_allclose(out, [4.25, 1.6], rtol=1e-6)


def test_mlp_network_matches_numpy() -> None:
    net = build_network(
        NetworkSpec("mlp", n_users=2, n_movies=3, factors=2, hidden=4, global_mean=3.0, seed=1)
    )
    set_tables(net)
    w1, b1 = net.get_layer("hidden").get_weights()
    w2, b2 = net.get_layer("out").get_weights()
    x = np.array([[1.0, 2.0, 3.0, -1.0], [0.5, -1.0, 0.0, 1.0]])  # concat(u, m)
    expected = (np.maximum(x @ w1 + b1, 0) @ w2 + b2)[:, 0]
    np.testing.assert_allclose(np.asarray(net(pairs([0, 1], [1, 0]))), expected, rtol=1e-5)
    assert b2[0] == pytest.approx(3.0)  # the output starts at the global mean


def test_sigmoid_output_maps_into_the_range() -> None:
    layer = SigmoidRange(0.5, 5.5)
    np.testing.assert_allclose(
        np.asarray(layer(np.array([0.0, 100.0, -100.0]))), [3.0, 5.5, 0.5], rtol=1e-6
    )


def test_row_penalty_is_the_mean_squared_norm_of_looked_up_rows() -> None:
    layer = RowL2Embedding(3, 2, row_l2=0.1)
    layer.build((None,))
    layer.set_weights([np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 3.0]])])
    layer(np.array([0, 1, 1], dtype="int32"))
    # rows looked up: norms^2 = 2, 4, 4 -> mean 10/3
    assert float(layer.losses[0]) == pytest.approx(0.1 * 10 / 3, rel=1e-6)
    unpenalised = RowL2Embedding(3, 2, row_l2=0.0)
    unpenalised(np.array([0], dtype="int32"))
    assert unpenalised.losses == []


def test_dot_score_shape() -> None:
    out = DotScore()([np.ones((4, 3)), np.ones((4, 3))])
    assert tuple(out.shape) == (4,)


@pytest.mark.parametrize("kind", ["dot", "bias", "mlp"])
@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_keras_round_trip(kind: str, output: str, tmp_path: Path) -> None:
    net = build_network(
        NetworkSpec(
            kind,
            n_users=4,
            n_movies=5,
            factors=3,
            l2=0.02,
            output=output,
            rating_range=(0.25, 5.25),
            global_mean=3.5,
        )
    )
    batch = pairs([0, 1, 3], [4, 2, 0])
    before = np.asarray(net(batch))
    net.save(tmp_path / "net.keras")
    loaded = keras.saving.load_model(tmp_path / "net.keras")
    np.testing.assert_allclose(np.asarray(loaded(batch)), before, rtol=1e-6)
    assert loaded.get_layer("movie_embedding").get_config()["row_l2"] == 0.02
    if output == "sigmoid":
        assert loaded.get_layer("sigmoid_range").get_config()["high"] == 5.25


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown model kind"):
        build_network(NetworkSpec("svd", 1, 1))


@pytest.mark.parametrize("kind", ["dot", "bias", "mlp"])
@pytest.mark.parametrize("side_dim", [0, 3])
def test_table_shapes_match_the_built_network(kind: str, side_dim: int) -> None:
    from recsys.models.networks import table_shapes

    spec = NetworkSpec(kind, n_users=5, n_movies=7, factors=4, hidden=6, side_dim=side_dim)
    net = build_network(spec)
    built = {layer.name: tuple(layer.weights[0].shape) for layer in net.layers if layer.weights}
    expected = table_shapes(spec)
    assert {name: built.get(name) for name in expected} == expected


def test_spec_defaults_are_the_kinds_defaults() -> None:
    """Hyper-parameters left out of a NetworkSpec are the kind's DEFAULTS, the same table
    RatingModel resolves its own from (one source of defaults)."""
    from recsys.models.spec import DEFAULTS

    for kind in ("dot", "bias", "mlp"):
        spec = NetworkSpec(kind, n_users=2, n_movies=3)
        for name in ("factors", "l2", "bias_l2", "dropout", "hidden", "output"):
            assert getattr(spec, name) == DEFAULTS[kind][name], (kind, name)
    assert NetworkSpec("mlp", 2, 3, factors=5, dropout=[0.0, 0.2]).dropout == (0.0, 0.2)
