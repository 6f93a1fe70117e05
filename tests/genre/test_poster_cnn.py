"""The poster CNN (``genre train --model poster-cnn``): images, batches, augmentation,
training on synthetic shapes, resuming, saving and the command line.

The posters are coloured shapes whose colour decides the genre
(:mod:`tests.genre.poster_data`), so a correct pipeline must learn them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genre.poster.images import find_posters, load_poster_images, read_poster
from recsys.errors import DataError, InvalidParameterError
from tests.genre.poster_data import GENRES, shape_images, write_posters

REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- images
def test_find_posters_by_name_and_index(tmp_path):
    images, _ = shape_images(3, 8)
    write_posters(tmp_path / "flat", [1, 2, 3], images)
    assert sorted(find_posters(tmp_path / "flat", [1, 3, 4])) == [1, 3]
    shared = tmp_path / "shared"
    write_posters(shared / "images", [10, 11], images[:2])
    (shared / "posters_index.csv").write_text(
        "movieId,path,sha256\n10,images/10.png,x\n11,images/11.png,y\n"
    )
    found = find_posters(shared, [10, 11, 12])
    assert found == {10: shared / "images" / "10.png", 11: shared / "images" / "11.png"}
    with pytest.raises(DataError, match="not a directory"):
        find_posters(tmp_path / "nowhere", [1])


def test_images_decoded_once_into_a_cache(tmp_path, monkeypatch):
    images, _ = shape_images(4, 12, seed=2)
    folder = write_posters(tmp_path / "p", [1, 2, 3, 4], images)
    (folder / "5.jpg").write_bytes(b"\xff\xd8 truncated")  # not decodable
    files = find_posters(folder, [1, 2, 3, 4, 5, 6])
    files[6] = folder / "6.jpg"  # listed but missing
    loaded = load_poster_images(files, 12, cache=tmp_path / "cache")
    assert loaded.movie_ids.tolist() == [1, 2, 3, 4]
    assert isinstance(loaded.images, np.memmap) and loaded.images.dtype == np.uint8
    np.testing.assert_array_equal(loaded.images, images)  # png: lossless, same size
    assert sorted((m, r) for m, _, r in loaded.failures) == [
        (5, "not a decodable image"),
        (6, "missing file"),
    ]
    import genre.poster.images as module

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(module, "_load_image", no_decoding)
    again = load_poster_images(files, 12, cache=tmp_path / "cache")
    assert again.cache_file == loaded.cache_file
    np.testing.assert_array_equal(again.images, loaded.images)
    assert len(again.failures) == 2
    assert not list((tmp_path / "cache").glob(".*"))  # no temporary file left


def test_read_poster_errors(tmp_path):
    with pytest.raises(DataError, match="no such poster file"):
        read_poster(tmp_path / "x.jpg", 16)
    (tmp_path / "bad.jpg").write_text("text")
    with pytest.raises(DataError, match="not a decodable image"):
        read_poster(tmp_path / "bad.jpg", 16)
    Image.new("RGB", (30, 50), (1, 2, 3)).save(tmp_path / "ok.png")
    assert read_poster(tmp_path / "ok.png", 16).shape == (16, 16, 3)


# ----------------------------------------------------------------------------- batches
def test_upsampling_repeats_minority_training_rows_only():
    from genre.poster.model import upsample_rows

    Y = np.array([[1, 0, 0]] * 6 + [[0, 1, 0]] * 2 + [[1, 0, 1]])
    fed = upsample_rows(Y)
    counts = np.bincount(fed, minlength=len(Y))
    assert counts[:6].tolist() == [1] * 6
    assert counts[6:8].tolist() == [3, 3]  # 7 / 2 rounds to 4, capped at 3
    assert counts[8] == 3  # its rarest genre (1 movie) decides
    assert fed.max() < len(Y)  # positions among the training rows only


def test_batches_cover_each_row_once_per_epoch_in_a_seeded_order():
    from genre.poster.model import PosterBatches

    images = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    rows = np.array([1, 3, 5, 7, 9])
    y = np.eye(5, dtype=np.float32)
    batches = PosterBatches(images, rows, y, 2, seed=4)
    assert len(batches) == 3 and batches.num_batches is None  # endless
    epoch0 = np.concatenate([batches.image_rows(i) for i in range(3)])
    epoch1 = np.concatenate([batches.image_rows(i) for i in range(3, 6)])
    assert sorted(epoch0) == sorted(epoch1) == rows.tolist()
    assert epoch0.tolist() != epoch1.tolist()
    x, labels = batches[1]
    np.testing.assert_array_equal(x[:, 0, 0, 0], batches.image_rows(1))  # pixel = row
    np.testing.assert_array_equal(labels, y[np.searchsorted(rows, batches.image_rows(1))])
    resumed = PosterBatches(images, rows, y, 2, seed=4, epoch_offset=1)
    assert np.concatenate([resumed.image_rows(i) for i in range(3)]).tolist() == epoch1.tolist()


# ----------------------------------------------------------------------------- network
def test_augmentation_runs_only_in_training():
    from genre.poster.network import build_scratch_network, keras

    net = build_scratch_network(3, image_size=16, augment=0.2, seed=1)
    names = [layer.name for layer in net.layers]
    assert {"augment_flip", "augment_zoom", "augment_shift"} <= set(names)
    augment = keras.Sequential([net.get_layer(n) for n in names if n.startswith("augment")])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (8, 16, 16, 3)).astype("float32")
    inference = keras.ops.convert_to_numpy(augment(x, training=False))
    np.testing.assert_array_equal(inference, x)
    trained = keras.ops.convert_to_numpy(augment(x, training=True))
    assert not np.allclose(trained, x)
    first = keras.ops.convert_to_numpy(net(x * 255, training=False))
    np.testing.assert_allclose(first, net.predict(x * 255, verbose=0), rtol=1e-5, atol=1e-6)


def test_image_size_and_weights_rules():
    from genre.poster.model import PosterCNNClassifier, PosterInput
    from genre.poster.network import build_poster_network

    with pytest.raises(InvalidParameterError, match="at least 32 x 32") as error:
        build_poster_network("vgg16", 3, image_size=24, weights="none")
    assert error.value.parameter == "image_size"
    with pytest.raises(InvalidParameterError, match="at least 16 x 16"):
        build_poster_network("scratch", 3, image_size=8)
    with pytest.raises(InvalidParameterError, match="do not fit the scratch") as error:
        build_poster_network("scratch", 3, image_size=16, weights="imagenet")
    assert error.value.parameter == "weights"
    clf = PosterCNNClassifier(image_size=16, epochs=1)
    images, Y = shape_images(10, 20)
    with pytest.raises(DataError, match=r"shape \(16, 16, 3\)"):
        clf.fit(PosterInput.of(images), Y, validation=(PosterInput.of(images), Y))


@pytest.mark.slow
def test_vgg16_takes_a_weights_file_of_its_own_architecture_only(tmp_path):
    from genre.poster.network import build_poster_network, build_scratch_network, keras
    from recsys.features.posters import CNNSpec, build_backbone

    base = build_backbone(CNNSpec(weights="none", image_size=32, seed=3))
    base.save_weights(tmp_path / "vgg16_notop.weights.h5")
    net = build_poster_network(
        "vgg16", 3, image_size=32, weights=str(tmp_path / "vgg16_notop.weights.h5")
    )
    loaded = net.get_layer("vgg16").get_layer("block5_conv3").kernel
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded),
        keras.ops.convert_to_numpy(base.get_layer("block5_conv3").kernel),
    )
    build_scratch_network(3, image_size=32).save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(DataError, match="does not fit VGG16"):
        build_poster_network("vgg16", 3, image_size=32, weights=str(tmp_path / "other.weights.h5"))
    with pytest.raises(InvalidParameterError, match="does not exist"):
        build_poster_network("vgg16", 3, image_size=32, weights=str(tmp_path / "none.h5"))


# ----------------------------------------------------------------------------- training
def _parts(n=150, size=16, seed=0):
    from genre.poster.model import PosterInput

    images, Y = shape_images(n, size, seed)
    a, b = int(n * 0.6), int(n * 0.8)
    cut = [np.arange(0, a), np.arange(a, b), np.arange(b, n)]
    return images, Y, [PosterInput(images, rows) for rows in cut], cut


SMALL = {"image_size": 16, "batch_size": 16, "learning_rate": 0.003, "patience": 4}


@pytest.mark.slow
def test_scratch_network_learns_the_colours_beside_the_prior():
    from genre.evaluation import metrics
    from genre.evaluation.evaluate import benchmark_reports
    from genre.poster.model import PosterCNNClassifier

    _, Y, (train, val, test), cut = _parts(240, 16, seed=5)
    clf = PosterCNNClassifier(epochs=25, augment=0.05, **SMALL)
    clf.fit(train, Y[cut[0]], validation=(val, Y[cut[1]]), genres=GENRES)
    report = metrics.multilabel_report(Y[cut[2]], clf.scores(test), clf.thresholds_, GENRES)
    prior = benchmark_reports(Y[cut[0]], Y[cut[1]], Y[cut[2]], GENRES)["prior"]
    assert report["micro_f1"] > 0.85 > prior["micro_f1"] + 0.2
    assert report["mean_roc_auc"] > 0.95
    assert clf.history_[-1].val_loss < clf.history_[0].val_loss


@pytest.mark.slow
def test_no_validation_or_test_poster_in_a_training_batch(monkeypatch):
    """Every batch the network trains on, with upsampling, holds training rows only."""
    from genre.poster import model as module

    _, Y, (train, val, _), cut = _parts(90, 16, seed=1)
    served: list[np.ndarray] = []
    original = module.PosterBatches.__getitem__

    def spy(self, step):
        if self.shuffle:
            served.append(self.image_rows(step))
        return original(self, step)

    monkeypatch.setattr(module.PosterBatches, "__getitem__", spy)
    clf = module.PosterCNNClassifier(epochs=2, upsample=True, class_weight="balanced", **SMALL)
    clf.fit(train, Y[cut[0]], validation=(val, Y[cut[1]]), genres=GENRES)
    fed = np.concatenate(served)
    assert set(fed.tolist()) <= set(cut[0].tolist())
    assert not set(fed.tolist()) & set(np.concatenate(cut[1:]).tolist())
    assert clf.n_fed_ > len(cut[0])  # upsampled
    assert len(fed) >= clf.n_fed_  # at least one full epoch was drawn


@pytest.mark.slow
def test_training_resumes_after_an_interruption_and_refuses_other_settings(tmp_path):
    from genre.poster.model import PosterCNNClassifier

    _, Y, (train, val, test), cut = _parts(90, 16, seed=2)
    work = tmp_path / "work"
    seen: list[int] = []

    def stop_after_two(record):
        seen.append(record.epoch)
        if record.epoch == 2:
            raise KeyboardInterrupt  # as a kill would, after the checkpoint

    settings = {**SMALL, "epochs": 4, "patience": 10}
    clf = PosterCNNClassifier(**settings)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(
            train,
            Y[cut[0]],
            validation=(val, Y[cut[1]]),
            checkpoint_dir=work,
            on_epoch=stop_after_two,
        )
    state = json.loads((work / "state.json").read_text())
    assert state["epoch"] == 2 and (work / "last.weights.h5").is_file()
    assert (work / "best.weights.h5").is_file() and (work / "training_log.csv").is_file()
    saved = state["history"]

    other = PosterCNNClassifier(**settings, seed=1)
    with pytest.raises(DataError, match=r"other settings or data .*seed") as error:
        other.fit(train, Y[cut[0]], validation=(val, Y[cut[1]]), checkpoint_dir=work)
    assert error.value.parameter == "checkpoint_dir"

    seen.clear()
    resumed = PosterCNNClassifier(**settings)
    resumed.fit(
        train,
        Y[cut[0]],
        validation=(val, Y[cut[1]]),
        checkpoint_dir=work,
        on_epoch=lambda r: seen.append(r.epoch),
    )
    assert seen == [3, 4]  # epochs 1 and 2 were not run again
    assert [h.epoch for h in resumed.history_] == [1, 2, 3, 4]
    assert [h.__dict__ for h in resumed.history_[:2]] == saved
    log = (work / "training_log.csv").read_text().strip().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1", "2", "3"]
    assert resumed.scores(test).shape == (len(cut[2]), 3)


@pytest.mark.parametrize(
    "name",
    ["genre.poster.spec", "genre.poster.images", "genre.poster.network", "genre.poster.model"],
)
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.failed == 0 and result.attempted > 0
