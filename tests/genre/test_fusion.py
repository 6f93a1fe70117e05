"""The fused genre network on a small synthetic set: it learns, masks, repeats, saves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from genre.evaluation import metrics
from genre.fusion.block_inputs import BlockInputs
from genre.fusion.model import (
    FusionClassifier,
    ShuffledBatches,
    WeightedBinaryCrossentropy,
    balanced_class_weights,
    block_statistics,
    build_fusion_network,
)
from genre.text.classifier import GenreTextClassifier
from genre.workflows import load_genre_model
from recsys.errors import DataError, InvalidParameterError, ModelDirError, NotFittedError
from tests.genre.helpers import synthetic

FAST = {
    "units": (16,),
    "dropout": 0.1,
    "epochs": 40,
    "patience": 5,
    "batch_size": 32,
    "learning_rate": 0.01,
}


@pytest.fixture(scope="module")
def fitted() -> tuple[FusionClassifier, BlockInputs, np.ndarray]:
    X, Y = synthetic()
    clf = FusionClassifier(seed=0, **FAST)
    fitted = clf.fit(
        X.take(slice(0, 200)),
        Y[:200],
        validation=(X.take(slice(200, 250)), Y[200:250]),
        genres=("Comedy", "Drama", "Horror"),
    )
    assert fitted is clf
    return clf, X, Y


@pytest.mark.slow
def test_learns_from_both_blocks(fitted) -> None:
    clf, X, Y = fitted
    test = X.take(slice(250, 300))
    scores = clf.predict_proba(test)
    assert scores.shape == (50, 3) and ((scores >= 0) & (scores <= 1)).all()
    auc = metrics.roc_auc_per_genre(Y[250:], scores)
    assert auc[0] > 0.85 and auc[1] > 0.85  # from the text block
    has_image = test.masks["image"]
    auc_image = metrics.roc_auc_per_genre(Y[250:][has_image], scores[has_image])
    assert auc_image[2] > 0.85  # from the image block, when present
    assert clf.history_ and 1 <= clf.best_epoch_ <= len(clf.history_)
    assert clf.history_[0].val_loss > min(r.val_loss for r in clf.history_)


def _best_epoch_with_min_delta(val_losses: list[float], min_delta: float) -> int:
    """EarlyStopping's rule by hand: an epoch improves when it beats the best by min_delta."""
    best, best_epoch = np.inf, 1
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best - min_delta:
            best, best_epoch = loss, epoch
    return best_epoch


@pytest.mark.slow
def test_best_epoch_is_the_one_early_stopping_restored(monkeypatch) -> None:
    """With a large min_delta the restored epoch is not the argmin of the validation loss;
    best_epoch_ names the restored one (its weights give that epoch's validation loss)."""
    import genre.fusion.model
    from genre.fusion.model import network_inputs

    monkeypatch.setattr(genre.fusion.model, "MIN_DELTA", 0.02)
    X, Y = synthetic()
    X_val, Y_val = X.take(slice(200, 250)), Y[200:250]
    clf = FusionClassifier(seed=0, **{**FAST, "learning_rate": 0.003, "patience": 8}).fit(
        X.take(slice(0, 200)), Y[:200], validation=(X_val, Y_val)
    )
    losses = [r.val_loss for r in clf.history_]
    assert clf.best_epoch_ == _best_epoch_with_min_delta(losses, 0.02)
    assert clf.best_epoch_ != int(np.argmin(losses)) + 1
    restored = clf.network_.evaluate(
        network_inputs(X_val), Y_val.astype(np.float32), batch_size=len(Y_val), verbose=0
    )
    assert restored == pytest.approx(losses[clf.best_epoch_ - 1], rel=1e-4)


def test_masked_block_still_gives_predictions_and_is_ignored(fitted) -> None:
    clf, X, _ = fitted
    test = X.take(slice(250, 300))
    absent = BlockInputs(
        test.movie_ids,
        {"text": test.values["text"], "image": np.full_like(test.values["image"], 7.0)},
        {"text": test.masks["text"], "image": np.zeros(50, bool)},
    )
    zeros = BlockInputs(
        test.movie_ids,
        {**absent.values, "image": np.zeros_like(test.values["image"])},
        absent.masks,
    )
    a, b = clf.predict_proba(absent), clf.predict_proba(zeros)
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a, b, atol=1e-6)  # masked values never reach the head
    assert not np.allclose(a, clf.predict_proba(test))


@pytest.mark.slow
def test_same_seed_same_model() -> None:
    X, Y = synthetic(120)
    short = {**FAST, "epochs": 6}

    def fit(seed: int) -> np.ndarray:
        clf = FusionClassifier(seed=seed, **short).fit(
            X.take(slice(0, 80)), Y[:80], validation=(X.take(slice(80, 100)), Y[80:100])
        )
        return clf.predict_proba(X.take(slice(100, 120)))

    first = fit(0)
    np.testing.assert_array_equal(first, fit(0))
    assert not np.allclose(first, fit(1))


def test_batch_order_is_a_seeded_function_of_the_step() -> None:
    """Every epoch is a fresh permutation of the rows (inputs and labels together), fixed
    by the seed and the step number alone: reading the steps in another order (as a
    prefetching backend may) or from a new object gives the same batches."""
    x = {"a": np.arange(10.0)[:, None], "b": -np.arange(10.0)[:, None]}
    batches = ShuffledBatches(x, np.arange(10.0), 3, seed=5)
    assert len(batches) == 4 and batches.num_batches is None

    def epoch(source: ShuffledBatches, e: int) -> np.ndarray:
        parts = [source[e * len(source) + i] for i in range(len(source))]
        for inputs, y in parts:
            np.testing.assert_array_equal(inputs["a"][:, 0], y)
            np.testing.assert_array_equal(inputs["b"][:, 0], -y)
        return np.concatenate([y for _, y in parts])

    orders = [epoch(batches, e) for e in range(3)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(10))
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    again = ShuffledBatches(x, np.arange(10.0), 3, seed=5)
    np.testing.assert_array_equal(epoch(again, 2), orders[2])  # epoch 2 read first
    np.testing.assert_array_equal(epoch(again, 0), orders[0])
    other = ShuffledBatches(x, np.arange(10.0), 3, seed=6)
    assert not np.array_equal(epoch(other, 0), orders[0])


def test_save_and_load_return_the_classifier(fitted, tmp_path: Path) -> None:
    clf, X, _ = fitted
    out = clf.save(tmp_path / "m", config={"model": "fusion"}, metrics={"micro_f1": 0.5})
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "fused" and config["format_version"] == 2
    loaded = FusionClassifier.load(out)
    assert isinstance(loaded, FusionClassifier)
    assert loaded.get_params() == {**clf.get_params(), "units": (16,), "head_units": ()}
    test = X.take(slice(250, 300))
    np.testing.assert_allclose(loaded.scores(test), clf.predict_proba(test), rtol=1e-6)
    np.testing.assert_array_equal(loaded.predict(test), clf.predict(test))
    assert loaded.thresholds_.tolist() == clf.thresholds_.tolist()
    assert loaded.genres_ == ("Comedy", "Drama", "Horror") and loaded.blocks_ == clf.blocks_
    top = loaded.top_k(test.take([0]), k=2)[0]
    assert len(top) == 2 and top[0][1] >= top[1][1] and top[0][0] in loaded.genres_
    with pytest.raises(InvalidParameterError, match="k=4 must be between 1 and 3") as error:
        loaded.top_k(test, k=4)
    assert error.value.parameter == "k"
    # the standardisation travels inside the .keras file
    layer = loaded.network_.get_layer("image_standardise")
    mean, _ = block_statistics(X.take(slice(0, 200)))["image"]
    np.testing.assert_allclose(np.ravel(layer.mean), mean, rtol=1e-5)
    np.testing.assert_allclose(loaded.statistics_["image"][0], mean, rtol=1e-5)
    narrow = BlockInputs(
        test.movie_ids,
        {"text": test.values["text"][:, :5], "image": test.values["image"]},
        test.masks,
    )
    with pytest.raises(DataError, match="has 5 dimensions"):
        loaded.scores(narrow)
    with pytest.raises(ModelDirError, match="not a text genre model directory"):
        GenreTextClassifier.load(out)
    (out / "model.keras").write_bytes(b"damaged")
    with pytest.raises(ModelDirError, match="damaged"):
        FusionClassifier.load(out)


def test_a_format_1_folder_still_loads(fitted, tmp_path: Path) -> None:
    """Folders written before ``kind`` existed: ``"model": "fusion"``, no ``kind``."""
    clf, X, _ = fitted
    out = clf.save(tmp_path / "m", config={"model": "fusion"})
    config = json.loads((out / "config.json").read_text())
    del config["kind"]
    config["format_version"] = 1
    config["params"].pop("class_weight")
    (out / "config.json").write_text(json.dumps(config))
    loaded = load_genre_model(out)
    assert isinstance(loaded, FusionClassifier) and loaded.class_weight is None
    test = X.take(slice(250, 260))
    np.testing.assert_allclose(loaded.scores(test), clf.scores(test), rtol=1e-6)


def test_clone_gives_an_unfitted_copy_with_the_same_parameters(fitted) -> None:
    clf, X, _ = fitted
    copy = clone(clf)
    assert type(copy) is FusionClassifier and copy is not clf
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "network_") and not hasattr(copy, "thresholds_")
    with pytest.raises(NotFittedError):
        copy.predict_proba(X)
    assert copy.set_params(dropout=0.2) is copy and copy.dropout == 0.2
    with pytest.raises(TypeError):
        FusionClassifier((16,))  # type: ignore[misc]  # hyper-parameters are keyword-only


def test_predict_uses_the_validation_thresholds(fitted) -> None:
    clf, X, Y = fitted
    test = X.take(slice(250, 300))
    scores = clf.predict_proba(test)
    assert clf.threshold_by_ == "f1" and clf.thresholds_.shape == (3,)
    np.testing.assert_array_equal(clf.predict(test), (scores >= clf.thresholds_).astype(np.uint8))
    np.testing.assert_array_equal(clf.predict(test, [2.0, 2.0, 2.0]), np.zeros((50, 3)))
    again = clf.fit_thresholds(X.take(slice(200, 250)), Y[200:250], by="f1")
    assert again is clf
    with pytest.raises(InvalidParameterError, match="expected 3 thresholds"):
        clf.predict(test, [0.5])


def test_statistics_use_present_rows_only() -> None:
    X, _ = synthetic()
    mean, var = block_statistics(X)["image"]
    present = X.values["image"][X.masks["image"]]
    np.testing.assert_allclose(mean, present.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(var, present.var(axis=0), rtol=1e-5)
    nobody = BlockInputs(X.movie_ids, X.values, {**X.masks, "image": np.zeros(len(X), bool)})
    with pytest.raises(DataError, match="no training movie has block 'image'"):
        block_statistics(nobody)


def test_weighted_bce_by_hand() -> None:
    y = np.array([[1.0, 0.0]])
    p = np.array([[0.8, 0.4]])
    plain = float(WeightedBinaryCrossentropy()(y, p))
    assert plain == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2, rel=1e-5)
    weighted = float(WeightedBinaryCrossentropy([2.0, 5.0], [1.0, 3.0])(y, p))
    assert weighted == pytest.approx(-(2 * np.log(0.8) + 3 * np.log(0.6)) / 2, rel=1e-5)
    config = WeightedBinaryCrossentropy([2.0, 5.0], [1.0, 3.0]).get_config()
    clone = WeightedBinaryCrossentropy.from_config(config)
    assert float(clone(y, p)) == pytest.approx(weighted)


@pytest.mark.slow
def test_balanced_weights_change_the_model(fitted) -> None:
    clf, X, Y = fitted
    pos, neg = balanced_class_weights(Y[:200])
    rate = Y[:200].mean(axis=0)
    np.testing.assert_allclose(pos, 1 / (2 * rate))
    np.testing.assert_allclose(neg, 1 / (2 * (1 - rate)))
    weighted = FusionClassifier(seed=0, class_weight="balanced", **FAST).fit(
        X.take(slice(0, 200)), Y[:200], validation=(X.take(slice(200, 250)), Y[200:250])
    )
    test = X.take(slice(250, 300))
    assert not np.allclose(weighted.predict_proba(test), clf.predict_proba(test))


def test_network_shapes_and_seed_mlp_layers() -> None:
    net = build_fusion_network({"poster": 12}, 5, units=(1024, 256))
    assert [layer.name for layer in net.layers if "dense" in layer.name] == [
        "poster_dense1",
        "poster_dense2",
    ]
    assert net.get_layer("poster_dense1").units == 1024 and net.output_shape == (None, 5)
    fused = build_fusion_network({"a": 3, "b": 4}, 2, units=(8,), head_units=(6,))
    assert fused.get_layer("fused").output.shape[-1] == 2 * (8 + 1)
    assert fused.get_layer("head_dense1").units == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"class_weight": "auto"}, "class_weight"),
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"dropout": 1.0}, "dropout"),
        ({"units": (0,)}, "positive integers"),
    ],
)
def test_bad_hyper_parameters(kwargs: dict, message: str) -> None:
    X, Y = synthetic(40)
    with pytest.raises(DataError, match=message):
        FusionClassifier(**kwargs).fit(
            X.take(slice(0, 30)), Y[:30], validation=(X.take(slice(30, 40)), Y[30:])
        )


def test_not_fitted_and_mismatched_inputs() -> None:
    X, Y = synthetic(40)
    with pytest.raises(NotFittedError):
        FusionClassifier().predict_proba(X)
    with pytest.raises(DataError, match="labels must be"):
        FusionClassifier(epochs=1).fit(X, Y[:10], validation=(X, Y))
    with pytest.raises(DataError, match="blocks differ"):
        FusionClassifier(epochs=1).fit(X, Y, validation=(X.select(["text"]), Y))
