"""Poster CNN features on tiny generated JPEGs: masks, failures, cache, seeded weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.errors import DataError
from recsys.features.posters import CNNSpec, build_backbone, extract_poster_features
from recsys.paths import cache_dir

SPEC = CNNSpec(weights="none", image_size=32, seed=0)


def test_features_masks_and_failures(poster_dir: Path) -> None:
    paths = [poster_dir / "100.jpg", None, poster_dir / "101.jpg", poster_dir / "104.jpg",
             poster_dir / "105.jpg", poster_dir / "missing.jpg", poster_dir / "102.jpg"]
    values, mask, report = extract_poster_features(paths, SPEC, batch_size=2,
                                                   progress=False)
    assert values.shape == (7, 512) and values.dtype == np.float32
    assert mask.tolist() == [True, False, True, False, False, False, True]
    assert (values[~mask] == 0).all() and np.isfinite(values).all()
    assert np.abs(values[mask]).sum(axis=1).min() > 0
    assert not np.allclose(values[0], values[2])            # different posters differ
    reasons = {Path(p).name: r for _, p, r in report.failures}
    assert reasons == {"104.jpg": "not a decodable image", "105.jpg": "not a decodable image",
                       "missing.jpg": "missing file"}
    assert [i for i, _, _ in report.failures] == [3, 4, 5]
    assert (report.n_images, report.n_computed, report.n_cached) == (6, 3, 0)
    assert "1 missing, 2 not decodable" in report.summary()


def test_cache_is_keyed_by_checksum_and_network(poster_dir: Path, tmp_path: Path) -> None:
    first, _, _ = extract_poster_features([poster_dir / "100.jpg"], SPEC, progress=False)
    # the same bytes under another name come from the cache
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes((poster_dir / "100.jpg").read_bytes())
    again, mask, report = extract_poster_features([copy], SPEC, progress=False)
    assert (report.n_cached, report.n_computed) == (1, 0) and mask.all()
    np.testing.assert_array_equal(first, again)
    entries = list(cache_dir("features", "posters", SPEC.cache_key()).rglob("*.npy"))
    assert len(entries) == 1 and entries[0].stem == entries[0].parent.name + entries[0].stem[2:]
    # another seed is another network: not served from that cache
    other = CNNSpec(weights="none", image_size=32, seed=1)
    values, _, report = extract_poster_features([copy], other, progress=False)
    assert report.n_computed == 1 and not np.allclose(values, first)


def test_same_seed_same_features_without_cache(poster_dir: Path) -> None:
    paths = [poster_dir / "101.jpg", poster_dir / "103.jpg"]
    a, _, _ = extract_poster_features(paths, SPEC, cache=False, progress=False)
    b, _, report = extract_poster_features(paths, SPEC, cache=False, progress=False)
    assert report.n_computed == 2
    np.testing.assert_array_equal(a, b)


def test_flatten_pooling_and_other_backbone(poster_dir: Path) -> None:
    flat = CNNSpec(weights="none", image_size=64, pooling="flatten")
    values, mask, _ = extract_poster_features([poster_dir / "100.jpg"], flat, progress=False)
    assert values.shape == (1, 2 * 2 * 512) == (1, flat.dim) and mask.all()
    assert CNNSpec(weights="none", pooling="flatten").dim == 25088   # the seed's 7x7x512
    assert CNNSpec(backbone="resnet50", weights="none").dim == 2048


def test_weights_file_round_trip(tmp_path: Path, poster_dir: Path) -> None:
    """--cnn-weights PATH: weights saved from one network give the same features."""
    network = build_backbone(SPEC)
    path = tmp_path / "vgg16_notop.weights.h5"
    network.save_weights(path)
    from_file = CNNSpec(weights=str(path), image_size=32)
    assert from_file.weights_id.startswith("file-")
    a, _, _ = extract_poster_features([poster_dir / "102.jpg"], SPEC, cache=False,
                                      progress=False)
    b, _, _ = extract_poster_features([poster_dir / "102.jpg"], from_file, cache=False,
                                      progress=False)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    wrong = tmp_path / "resnet.weights.h5"
    build_backbone(CNNSpec(backbone="resnet50", weights="none", image_size=32)).save_weights(
        wrong)
    with pytest.raises(DataError, match="does not fit VGG16"):
        build_backbone(CNNSpec(weights=str(wrong), image_size=32))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"backbone": "alexnet"}, "unknown CNN backbone"),
    ({"pooling": "max"}, "unknown pooling"),
    ({"image_size": 16}, "at least 32"),
    ({"backbone": "inception_v3", "image_size": 64}, "at least 75"),
    ({"weights": "/no/such/weights.h5"}, "does not exist"),
])
def test_bad_specs(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        CNNSpec(**kwargs)


def test_nothing_to_compute_builds_no_network(tmp_path: Path) -> None:
    values, mask, report = extract_poster_features([None, tmp_path / "gone.jpg"], SPEC,
                                                   progress=False)
    assert values.shape == (2, 512) and not mask.any() and report.n_failed == 1


def test_real_posters(shared_data: Path) -> None:
    images = sorted((shared_data / "posters" / "images").glob("*.jpg"))[:3]
    values, mask, report = extract_poster_features(images, SPEC, progress=False)
    assert mask.all() and report.n_computed == 3 and np.isfinite(values).all()


def test_imagenet_weights_offline_is_one_clear_error(monkeypatch) -> None:
    """No weights in the Keras cache and no way to download them (a dead proxy)."""
    import os

    homes = [Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")), Path("/tmp/.keras")]
    if any((h / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").exists()
           for h in homes):
        pytest.skip("the VGG16 ImageNet weights are cached here; nothing to download")
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(DataError, match="could not get the ImageNet weights of VGG16"):
        build_backbone(CNNSpec(weights="imagenet", image_size=32))
