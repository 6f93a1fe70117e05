"""Poster CNN features on tiny generated images: masks, failures, cache, seeded weights,
Pillow decoding and resizing, batch order, and other Keras backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recsys.checksum import sha256_file
from recsys.errors import DataError
from recsys.features.posters import (
    RESIZE,
    CNNSpec,
    _load_image,
    build_backbone,
    extract_poster_features,
)
from recsys.paths import cache_dir
from tests.recsys.features.conftest import write_jpeg

SPEC = CNNSpec(weights="none", image_size=32, seed=0)


def test_features_masks_and_failures(poster_dir: Path) -> None:
    paths = [
        poster_dir / "100.jpg",
        None,
        poster_dir / "101.jpg",
        poster_dir / "104.jpg",
        poster_dir / "105.jpg",
        poster_dir / "missing.jpg",
        poster_dir / "102.jpg",
    ]
    values, mask, report = extract_poster_features(paths, SPEC, batch_size=2, progress=False)
    assert values.shape == (7, 512) and values.dtype == np.float32
    assert mask.tolist() == [True, False, True, False, False, False, True]
    assert (values[~mask] == 0).all() and np.isfinite(values).all()
    assert np.abs(values[mask]).sum(axis=1).min() > 0
    assert not np.allclose(values[0], values[2])  # different posters differ
    reasons = {Path(p).name: r for _, p, r in report.failures}
    assert reasons == {
        "104.jpg": "not a decodable image",
        "105.jpg": "not a decodable image",
        "missing.jpg": "missing file",
    }
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
    assert CNNSpec(weights="none", pooling="flatten").dim == 25088  # the seed's 7x7x512
    assert CNNSpec(backbone="resnet50", weights="none").dim == 2048


@pytest.mark.slow
def test_weights_file_round_trip(tmp_path: Path, poster_dir: Path) -> None:
    """--cnn-weights PATH: weights saved from one network give the same features."""
    network = build_backbone(SPEC)
    path = tmp_path / "vgg16_notop.weights.h5"
    network.save_weights(path)
    from_file = CNNSpec(weights=str(path), image_size=32)
    assert from_file.weights_id.startswith("file-")
    a, _, _ = extract_poster_features([poster_dir / "102.jpg"], SPEC, cache=False, progress=False)
    b, _, _ = extract_poster_features(
        [poster_dir / "102.jpg"], from_file, cache=False, progress=False
    )
    np.testing.assert_allclose(a, b, rtol=1e-5)
    wrong = tmp_path / "resnet.weights.h5"
    build_backbone(CNNSpec(backbone="resnet50", weights="none", image_size=32)).save_weights(wrong)
    with pytest.raises(DataError, match="does not fit VGG16"):
        build_backbone(CNNSpec(weights=str(wrong), image_size=32))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backbone": "alexnet"}, "unknown CNN backbone"),
        ({"pooling": "max"}, "unknown pooling"),
        ({"image_size": 16}, "at least 32"),
        ({"backbone": "inception_v3", "image_size": 64}, "at least 75"),
        ({"weights": "/no/such/weights.h5"}, "does not exist"),
    ],
)
def test_bad_specs(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        CNNSpec(**kwargs)


def test_nothing_to_compute_builds_no_network(tmp_path: Path) -> None:
    values, mask, report = extract_poster_features(
        [None, tmp_path / "gone.jpg"], SPEC, progress=False
    )
    assert values.shape == (2, 512) and not mask.any() and report.n_failed == 1


def test_real_posters(shared_data: Path) -> None:
    images = sorted((shared_data / "posters" / "images").glob("*.jpg"))[:3]
    values, mask, report = extract_poster_features(images, SPEC, progress=False)
    assert mask.all() and report.n_computed == 3 and np.isfinite(values).all()


def test_imagenet_weights_offline_is_one_clear_error(monkeypatch) -> None:
    """No weights in the Keras cache and no way to download them (a dead proxy)."""
    import os

    homes = [Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")), Path("/tmp/.keras")]
    if any(
        (h / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").exists() for h in homes
    ):
        pytest.skip("the VGG16 ImageNet weights are cached here; nothing to download")
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(DataError, match="could not get the ImageNet weights of VGG16"):
        build_backbone(CNNSpec(weights="imagenet", image_size=32))


def test_cache_key_and_provenance_name_the_resize(poster_dir: Path) -> None:
    """Vectors cached under the old key (TensorFlow's resize, no suffix) are not read."""
    assert SPEC.cache_key() == "vgg16-random-glorot-seed0-avg-32-pil-bilinear"
    assert SPEC.describe()["resize"] == RESIZE == "pil-bilinear"
    image = poster_dir / "101.jpg"
    sha = sha256_file(image)
    old = cache_dir("features", "posters", "vgg16-random-glorot-seed0-avg-32") / sha[:2]
    old.mkdir(parents=True)
    np.save(old / f"{sha}.npy", np.ones(512, dtype=np.float32))
    values, mask, report = extract_poster_features([image], SPEC, progress=False)
    assert (report.n_cached, report.n_computed) == (0, 1) and mask.all()
    assert not np.allclose(values[0], 1.0)


def _write_formats(folder: Path) -> list[Path]:
    """An RGBA PNG, a palette PNG, a greyscale JPEG, a tall JPEG and two RGB JPEGs."""
    rng = np.random.default_rng(7)
    folder.mkdir(exist_ok=True)
    rgba = rng.integers(0, 256, (30, 20, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).convert(
        "P", palette=Image.Palette.ADAPTIVE
    ).save(folder / "palette.png")
    Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8), "L").save(
        folder / "grey.jpg", quality=90
    )
    Image.fromarray(rng.integers(0, 256, (90, 60, 3), dtype=np.uint8)).save(
        folder / "tall.jpg", quality=90
    )
    for name, colour in (("red.jpg", (220, 20, 20)), ("blue.jpg", (20, 20, 220))):
        write_jpeg(folder / name, colour, size=36)
    return [
        folder / n
        for n in ("rgba.png", "palette.png", "grey.jpg", "tall.jpg", "red.jpg", "blue.jpg")
    ]


def test_pillow_decoding_and_bilinear_resize(tmp_path: Path) -> None:
    """Every format becomes float32 RGB of the network's size, resized by Pillow's
    bilinear filter (alpha dropped); a file that is no image gives None."""
    paths = _write_formats(tmp_path / "formats")
    for path in paths:
        image = _load_image(str(path), 32)
        assert image is not None and image.shape == (32, 32, 3) and image.dtype == np.float32
        with Image.open(path) as original:
            expected = original.convert("RGB").resize((32, 32), Image.Resampling.BILINEAR)
        np.testing.assert_array_equal(image, np.asarray(expected, dtype=np.float32))
    flat = tmp_path / "flat.png"
    Image.new("RGB", (50, 70), (10, 200, 30)).save(flat)
    assert (_load_image(str(flat), 32) == np.array([10, 200, 30], np.float32)).all()
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert _load_image(str(junk), 32) is None


def test_batches_keep_the_order_of_the_paths(tmp_path: Path, poster_dir: Path) -> None:
    """Decoding runs on threads and batches are padded, yet each row is its own image's
    features whatever the batch size (and failures land at their own index)."""
    paths = [*_write_formats(tmp_path / "formats"), poster_dir / "104.jpg", poster_dir / "100.jpg"]
    one, mask_one, _ = extract_poster_features(
        paths, SPEC, batch_size=1, cache=False, progress=False
    )
    three, mask_three, report = extract_poster_features(
        paths, SPEC, batch_size=3, cache=False, progress=False
    )
    assert mask_one.tolist() == mask_three.tolist() == [True] * 6 + [False, True]
    assert [i for i, _, _ in report.failures] == [6]
    np.testing.assert_allclose(three, one, rtol=1e-5, atol=1e-6)
    rows = three[mask_three]
    assert min(np.abs(a - b).max() for i, a in enumerate(rows) for b in rows[i + 1 :]) > 1e-4


OTHER_BACKENDS = ("jax", "torch")


@pytest.mark.slow
@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_features_build_on_another_backend(backend: str, tmp_path: Path, poster_dir: Path) -> None:
    """``recsys features build --backend B`` in a fresh process: the same masks and
    failures as here and, the random weights being drawn by numpy, the same vectors up to
    floating-point noise; TensorFlow is never imported there."""
    import json
    import os
    import subprocess
    import sys

    from recsys.backend import BACKENDS, backend_installed
    from recsys.features import FeatureStore

    if not backend_installed(backend):
        pytest.skip(
            f"the {backend} backend is not installed (pip install '{BACKENDS[backend][1]}')"
        )
    _write_formats(poster_dir)  # not <movieId>.jpg names: not picked up
    Image.open(poster_dir / "101.jpg").convert("RGBA").save(poster_dir / "106.png")
    out = tmp_path / "features"
    argv = [
        "features",
        "build",
        "--blocks",
        "poster",
        "--posters",
        str(poster_dir),
        "--cnn-weights",
        "none",
        "--image-size",
        "32",
        "--batch-size",
        "2",
        "--no-cache",
        "--quiet",
        "--backend",
        backend,
        "--out",
        str(out),
    ]
    code = (
        f"import json, sys; from recsys.cli import main; code = main({argv!r}); "
        "import keras; print(json.dumps([code, keras.backend.backend(), "
        "'tensorflow' in sys.modules]))"
    )
    repo = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=repo, env=env
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, backend, False]
    block = FeatureStore(out)["poster"]
    assert block.movie_ids.tolist() == [100, 101, 102, 103, 104, 105, 106]
    assert block.mask.tolist() == [True, True, True, True, False, False, True]
    assert block.provenance["resize"] == "pil-bilinear"
    here, mask, _ = extract_poster_features(
        [poster_dir / f"{m}.{'png' if m == 106 else 'jpg'}" for m in block.movie_ids],
        SPEC,
        cache=False,
        progress=False,
    )
    assert mask.tolist() == block.mask.tolist()
    np.testing.assert_allclose(block.values, here, rtol=1e-4, atol=1e-5)
    assert not np.allclose(block.values[0], block.values[1], rtol=1e-3, atol=1e-4)
