"""Side features of the rating models: standardisation, the network's side path, IdGate."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.errors import DataError
from recsys.features import FeatureBlock
from recsys.models import IdGate, NetworkSpec, build_network
from recsys.models.networks import set_side_tables
from recsys.models.side_features import SideFeatures


def blocks() -> list[FeatureBlock]:
    genres = FeatureBlock.from_arrays(
        "genres",
        [1, 2, 3, 4],
        [[1, 0], [0, 1], [1, 1], [0, 0]],
        mask=[True, True, True, False],
        columns=["A", "B"],
        provenance={"source": "movies.csv"},
    )
    words = FeatureBlock.from_arrays("words", [2, 3, 5], [[2.0], [4.0], [100.0]])
    return [genres, words]


def test_standardisation_uses_the_training_movies_only() -> None:
    side = SideFeatures.from_blocks(blocks(), train_movie_ids=[1, 2, 2, 3])
    # genres over movies 1..3: A = 1,0,1 (mean 2/3, std sqrt(2)/3); B = 0,1,1
    np.testing.assert_allclose(side.means, [2 / 3, 2 / 3, 3.0], rtol=1e-6)
    np.testing.assert_allclose(side.scales, [np.sqrt(2) / 3, np.sqrt(2) / 3, 1.0], rtol=1e-6)
    assert side.dim == 2 + 1 + 1 + 1 and side.n_train_present == (3, 2)
    table = side.transform(blocks(), [3, 5, 4, 42])
    a = (1 - 2 / 3) / (np.sqrt(2) / 3)
    np.testing.assert_allclose(
        table,
        [
            [a, a, 1.0, 1.0, 1.0],  # movie 3: both blocks
            [0.0, 0.0, 0.0, 97.0, 1.0],  # movie 5: no genres, words 100 -> (100-3)/1
            [0.0, 0.0, 0.0, 0.0, 0.0],  # movie 4: genres masked out, no words
            [0.0, 0.0, 0.0, 0.0, 0.0],  # unknown movie
        ],
        rtol=1e-6,
    )
    # the test movie 5's extreme value did not move the statistics
    assert side.means[2] == pytest.approx(3.0)
    np.testing.assert_array_equal(SideFeatures.covered(blocks()), [1, 2, 3, 5])


def test_constant_columns_keep_unit_scale() -> None:
    block = FeatureBlock.from_arrays("c", [1, 2], [[5.0], [5.0]])
    side = SideFeatures.from_blocks([block], [1, 2])
    assert side.scales.tolist() == [1.0]
    assert side.transform([block], [1]).tolist() == [[0.0, 1.0]]


def test_bad_blocks() -> None:
    with pytest.raises(DataError, match="no side-feature block"):
        SideFeatures.from_blocks([], [1])
    with pytest.raises(DataError, match="name a block twice"):
        SideFeatures.from_blocks([blocks()[0], blocks()[0]], [1])
    with pytest.raises(DataError, match="covers none of the 2 training movies"):
        SideFeatures.from_blocks(blocks(), [7, 8])
    side = SideFeatures.from_blocks(blocks(), [1, 2, 3])
    with pytest.raises(DataError, match="do not match"):
        side.transform(blocks()[::-1], [1])


def test_blocks_learned_from_ratings_are_refused() -> None:
    genres, words = blocks()
    by_name = FeatureBlock.from_arrays("embedding", [1, 2, 3], [[0.1], [0.2], [0.3]])
    by_provenance = FeatureBlock.from_arrays(
        "factors", [1, 2, 3], [[0.1], [0.2], [0.3]], provenance={"learned_from_ratings": True}
    )
    through_side = FeatureBlock.from_arrays(  # made from a block that was learned from ratings
        "mix",
        [1, 2, 3],
        [[0.1], [0.2], [0.3]],
        provenance={"side_features": [{"name": "pca", "provenance": {}}]},
    )
    for block in (by_name, by_provenance, through_side):
        with pytest.raises(DataError, match=f"block '{block.name}' was learned from ratings"):
            SideFeatures.from_blocks([genres, block], [1, 2, 3])
    with pytest.raises(DataError, match=r"through mix <- pca\)"):
        SideFeatures.from_blocks([through_side], [1, 2, 3])
    assert SideFeatures.from_blocks([genres, words], [1, 2, 3]).names == ("genres", "words")


def test_json_round_trip() -> None:
    side = SideFeatures.from_blocks(blocks(), [1, 2, 3])
    again = SideFeatures.from_json(side.to_json(), side.means, side.scales)
    assert again.to_json() == side.to_json()
    assert again.to_json()["blocks"][0]["provenance"] == {"source": "movies.csv"}
    assert again.columns[0] == ("A", "B")
    np.testing.assert_array_equal(
        again.transform(blocks(), [1, 2, 3, 5]), side.transform(blocks(), [1, 2, 3, 5])
    )
    with pytest.raises(DataError, match="do not match the block dimensions"):
        SideFeatures.from_json(side.to_json(), side.means[:1], side.scales)


def pairs(users: list[int], movies: list[int]) -> dict[str, np.ndarray]:
    return {"user": np.array(users, dtype="int32"), "movie": np.array(movies, dtype="int32")}


def side_network(kind: str, **spec: object) -> keras.Model:
    net = build_network(
        NetworkSpec(kind, n_users=2, n_movies=3, factors=2, side_dim=2, global_mean=3.0, **spec)
    )  # type: ignore[arg-type]
    net.get_layer("user_embedding").set_weights([np.array([[1.0, 2.0], [0.5, -1.0]])])
    net.get_layer("movie_embedding").set_weights([np.array([[0.0, 1.0], [3.0, -1.0], [7.0, 7.0]])])
    # movie 2 is cold: its id row (7, 7) must not count
    set_side_tables(
        net, np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([True, True, False])
    )
    net.get_layer("side_factors").set_weights(
        [np.array([[1.0, 0.0], [0.0, 0.5]]), np.array([0.1, -0.1])]
    )
    if kind == "bias":
        net.get_layer("user_bias").set_weights([np.array([[0.5], [-0.5]])])
        net.get_layer("movie_bias").set_weights([np.array([[0.0], [-0.25], [9.0]])])
        net.get_layer("side_bias").set_weights([np.array([[0.2], [0.1]]), np.array([0.05])])
    return net


def test_dot_side_path_hand_computed() -> None:
    net = side_network("dot", output="linear")  # the kind's default is the sigmoid
    out = np.asarray(net(pairs([0, 1, 0], [0, 1, 2])))
    # movie 0: [0,1] + [1,0]W + b = [0,1] + [1.1,-0.1] = [1.1, 0.9]; user 0 [1,2] -> 2.9
    # movie 1: [3,-1] + [0,1] + [0.1,-0.1] = [3.1,-0.1]; user 1 [0.5,-1] -> 1.65
    # movie 2 (cold): [1,0.5] + [0.1,-0.1] = [1.1,0.4]; user 0 -> 1.9
    np.testing.assert_allclose(out, [2.9, 1.65, 1.9], rtol=1e-6)


def test_bias_side_path_hand_computed() -> None:
    net = side_network("bias")
    out = np.asarray(net(pairs([0, 0], [1, 2])))
    # warm movie 1: dot [1,2].[3.1,-0.1] = 2.9; b_u 0.5; b_m -0.25 + (0*0.2 + 2*0.1 + 0.05)
    #   = 0.0; + 3 -> 6.4
    # cold movie 2: dot [1,2].[1.1,0.4] = 1.9; b_u 0.5; b_m 0 + 0.2 + 0.1 + 0.05 = 0.35; + 3
    np.testing.assert_allclose(out, [6.4, 5.75], rtol=1e-6)


def test_cold_movie_output_ignores_its_id_rows() -> None:
    for kind in ("dot", "bias", "mlp"):
        net = side_network(kind)
        before = np.asarray(net(pairs([0, 1], [2, 2])))
        net.get_layer("movie_embedding").embeddings.assign(
            np.array([[0.0, 1.0], [3.0, -1.0], [-50.0, 80.0]])
        )
        if kind == "bias":
            net.get_layer("movie_bias").embeddings.assign(np.array([[0.0], [-0.25], [-9.0]]))
        np.testing.assert_allclose(np.asarray(net(pairs([0, 1], [2, 2]))), before, rtol=1e-6)


def test_side_network_round_trip(tmp_path: Path) -> None:
    for kind in ("dot", "bias", "mlp"):
        net = side_network(kind, id_dropout=0.25, side_l2=0.01)
        net.save(tmp_path / f"{kind}.keras")
        again = keras.saving.load_model(tmp_path / f"{kind}.keras", compile=False)
        batch = pairs([0, 1, 1], [0, 1, 2])
        np.testing.assert_allclose(np.asarray(again(batch)), np.asarray(net(batch)), rtol=1e-6)
        assert again.get_layer("id_gate").rate == 0.25
        assert not again.get_layer("side_table").trainable


def test_side_tables_are_not_trained_and_the_projection_is_penalised() -> None:
    net = side_network("bias", side_l2=0.5, l2=0.0, bias_l2=0.0)
    names = {v.path for v in net.trainable_variables}
    assert not any("side_table" in n or "movie_warm" in n for n in names)
    assert any("side_factors" in n for n in names) and any("side_bias" in n for n in names)
    net(pairs([0], [0]))
    kernel_penalty = 0.5 * (1.0 + 0.25) + 0.5 * (0.04 + 0.01)  # 0.5 * sum(W^2), both kernels
    assert float(sum(net.losses)) == pytest.approx(kernel_penalty, rel=1e-5)


def test_set_side_tables_needs_a_side_network() -> None:
    plain = build_network(NetworkSpec("dot", n_users=2, n_movies=3, factors=2))
    with pytest.raises(ValueError, match="no side-feature path"):
        set_side_tables(plain, np.zeros((3, 2)), np.ones(3))


def test_id_gate() -> None:
    warm = np.ones((2000, 1), dtype="float32")
    warm[:10] = 0
    gate = IdGate(0.3, seed=1)
    np.testing.assert_array_equal(np.asarray(gate(warm, training=False)), warm)
    dropped = np.asarray(gate(warm, training=True))
    assert set(np.unique(dropped)) == {0.0, 1.0}
    assert (dropped[:10] == 0).all()  # a cold movie never gets its id part back
    assert 0.25 < 1 - dropped[10:].mean() < 0.35
    again = np.asarray(IdGate(0.3, seed=1)(warm, training=True))
    np.testing.assert_array_equal(again, dropped)  # seeded
    assert IdGate.from_config(gate.get_config()).get_config() == gate.get_config()
    with pytest.raises(ValueError, match="rate must be in"):
        IdGate(1.0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 30), dim=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_training_rows_are_centred_and_absent_rows_are_zero(n: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(1000)[:n]
    mask = rng.random(n) < 0.7
    mask[0] = True
    block = FeatureBlock.from_arrays("b", ids, rng.normal(3, 2, (n, dim)), mask=mask)
    train = ids[: max(1, n // 2)]
    side = SideFeatures.from_blocks([block], train)
    table = side.transform([block], ids)
    present = np.isin(ids, train) & mask
    np.testing.assert_allclose(table[present, :dim].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_array_equal(table[:, dim], mask.astype(np.float32))
    assert (table[~mask] == 0).all()
