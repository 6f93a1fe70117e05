"""CNN features of poster images, streamed in batches and cached by image checksum.

A frozen ``keras.applications`` backbone without its classifier (``include_top=False``)
turns each poster into one vector: ``pooling="avg"`` (global average pooling, 512
numbers for VGG16) or ``pooling="flatten"`` (the last feature map flattened: 7 x 7 x 512
= 25,088 for VGG16 at 224 x 224, as in the course project).

Images are read, decoded, resized and passed through the backbone's
``preprocess_input`` by a ``tf.data`` pipeline, one batch at a time, so only a batch
of images is ever in memory. Formats TensorFlow cannot decode (WebP) are decoded with
Pillow instead, and so are JPEGs without their end-of-image marker (truncated files,
which TensorFlow's decoder reports with a C++ log line on stderr). A file that is
missing or does not decode is skipped, reported and masked. Every feature vector is
cached on disk under ``recsys.paths.cache_dir("features", "posters", ...)``, keyed by the
image's SHA-256 and the backbone, weights, pooling and image size, so a second run only
reads the cache.

Weights (:class:`CNNSpec` ``weights``)
    ``"imagenet"``: downloaded by Keras on first use (to ``~/.keras/models``, e.g.
    ``vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``, 59 MB), which needs internet
    access; ``"none"``: random initialisation (Keras's Glorot-uniform kernels, zero
    biases) drawn from ``seed``, for offline tests; any other value is the path of a
    local weights file (``.h5`` / ``.weights.h5``) for the same architecture.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recsys.checksum import sha256_file
from recsys.errors import DataError
from recsys.fileio import atomic_write
from recsys.paths import cache_dir
from recsys.progress import Progress

__all__ = [
    "BACKBONES",
    "CNNSpec",
    "PosterReport",
    "build_backbone",
    "extract_poster_features",
]

#: Backbone name -> (keras.applications class, module of its preprocess_input,
#: smallest image side, channels of its last feature map).
BACKBONES: dict[str, tuple[str, str, int, int]] = {
    "vgg16": ("VGG16", "vgg16", 32, 512),
    "resnet50": ("ResNet50", "resnet50", 32, 2048),
    "inception_v3": ("InceptionV3", "inception_v3", 75, 2048),
}
_POOLINGS = ("avg", "flatten")


def _truncated_jpeg(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a JPEG whose end-of-image marker (FF D9) is missing.

    Only the first two and the last 64 bytes are read (a few bytes of padding after the
    marker are tolerated).
    """
    with open(path, "rb") as handle:
        if handle.read(2) != b"\xff\xd8":
            return False
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(2, size - 64))
        return b"\xff\xd9" not in handle.read()



@dataclass(frozen=True)
class CNNSpec:
    """Which network makes the poster features.

    Parameters
    ----------
    backbone : ``"vgg16"`` (default), ``"resnet50"`` or ``"inception_v3"``.
    weights : ``"imagenet"``, ``"none"`` (seeded random initialisation) or a path.
    pooling : ``"avg"`` (one value per channel) or ``"flatten"``.
    image_size : images are resized to ``image_size`` x ``image_size``.
    seed : seed of the random weights (``weights="none"`` only).

    Raises
    ------
    DataError
        Unknown backbone or pooling, an image size the backbone cannot take, or a
        weights path that does not exist.

    Examples
    --------
    >>> spec = CNNSpec(weights="none", image_size=64)
    >>> spec.weights_id, spec.dim
    ('random-glorot-seed0', 512)
    """

    backbone: str = "vgg16"
    weights: str = "imagenet"
    pooling: str = "avg"
    image_size: int = 224
    seed: int = 0
    _weights_id: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise DataError(f"unknown CNN backbone {self.backbone!r}; expected one of "
                            f"{', '.join(BACKBONES)}.")
        if self.pooling not in _POOLINGS:
            raise DataError(f"unknown pooling {self.pooling!r}; expected avg or flatten.")
        smallest = BACKBONES[self.backbone][2]
        if int(self.image_size) < smallest:
            raise DataError(f"{self.backbone} needs images of at least {smallest} x "
                            f"{smallest} pixels; received --image-size {self.image_size}.")
        weights = str(self.weights)
        if weights.lower() in ("none", "random"):
            wid = f"random-glorot-seed{int(self.seed)}"
            object.__setattr__(self, "weights", "none")
        elif weights.lower() == "imagenet":
            wid = "imagenet"
            object.__setattr__(self, "weights", "imagenet")
        else:
            path = Path(weights).expanduser()
            if not path.is_file():
                raise DataError(f"CNN weights file {weights!r} does not exist; pass "
                                "--cnn-weights imagenet (needs internet), none (random) or "
                                "the path of a weights file for this backbone.")
            wid = f"file-{sha256_file(path)[:16]}"
            object.__setattr__(self, "weights", str(path.resolve()))
        object.__setattr__(self, "_weights_id", wid)

    @property
    def weights_id(self) -> str:
        """``"imagenet"``, ``"random-glorot-seed<seed>"`` or ``"file-<sha256 prefix>"``."""
        return self._weights_id

    @property
    def feature_size(self) -> int:
        """Side of the last feature map (``image_size`` halved five times, as Keras)."""
        side = int(self.image_size)
        if self.backbone == "inception_v3":
            # valid convolutions and pools: 299 -> 8, 224 -> 5, 75 -> 1
            side = (side - 3) // 2 + 1 - 2
            side = (side - 3) // 2 + 1 - 2
            side = (side - 3) // 2 + 1
            side = (side - 3) // 2 + 1
            return (side - 3) // 2 + 1
        for _ in range(5):
            side = side // 2 if self.backbone == "vgg16" else (side + 1) // 2
        return side

    @property
    def dim(self) -> int:
        """Length of one feature vector."""
        channels = BACKBONES[self.backbone][3]
        if self.pooling == "avg":
            return channels
        return self.feature_size ** 2 * channels

    def cache_key(self) -> str:
        """Directory name of this network's cached features."""
        return f"{self.backbone}-{self.weights_id}-{self.pooling}-{int(self.image_size)}"

    def describe(self) -> dict[str, Any]:
        """JSON-able provenance."""
        return {"backbone": self.backbone, "weights": self.weights,
                "weights_id": self.weights_id, "pooling": self.pooling,
                "image_size": int(self.image_size), "include_top": False,
                "seed": int(self.seed) if self.weights == "none" else None,
                "dim": self.dim}


def build_backbone(spec: CNNSpec) -> Any:
    """The frozen feature network of ``spec``: images in, one vector per image out.

    Raises
    ------
    DataError
        If the ImageNet weights cannot be downloaded (offline) or a weights file does
        not fit the architecture.
    """
    import keras

    class_name = BACKBONES[spec.backbone][0]
    builder = getattr(keras.applications, class_name)
    shape = (int(spec.image_size), int(spec.image_size), 3)
    pooling = "avg" if spec.pooling == "avg" else None
    try:
        if spec.weights == "imagenet":
            base = builder(include_top=False, weights="imagenet", input_shape=shape,
                           pooling=pooling)
        else:
            base = builder(include_top=False, weights=None, input_shape=shape,
                           pooling=pooling)
            if spec.weights == "none":
                _seeded_initialisation(base, spec.seed)
            else:
                _load_weights(base, spec.weights)
    except Exception as error:  # Keras raises a bare Exception when a download fails
        if not (spec.weights == "imagenet" or isinstance(error, (OSError, ValueError,
                                                                  KeyError))):
            raise
        if spec.weights == "imagenet":
            raise DataError(
                f"could not get the ImageNet weights of {class_name} ({type(error).__name__}:"
                f" {str(error)[:100]}); Keras downloads them to ~/.keras/models when online."
                " Offline, copy the *_notop.h5 file there or pass --cnn-weights PATH, or use"
                " --cnn-weights none.") from None
        raise DataError(f"the weights file {spec.weights!r} does not fit {class_name} "
                        f"with include_top=False ({str(error)[:120]}); pass the *_notop "
                        "weights of the same backbone.") from None
    base.trainable = False
    if spec.pooling == "flatten":
        outputs = keras.layers.Flatten(name="flatten")(base.output)
        return keras.Model(base.input, outputs, name=f"{spec.backbone}_flatten")
    return base


def _load_weights(model: Any, path: str) -> None:
    """``model.load_weights(path)``, failing where Keras would only warn and keep some
    layers randomly initialised."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.load_weights(path)
    skipped = [str(w.message) for w in caught if "skipping" in str(w.message).lower()
               or "freshly-initialized" in str(w.message)]
    if skipped:
        raise ValueError(f"{len(skipped)} layer group(s) were not in the file")


def _seeded_initialisation(model: Any, seed: int) -> None:
    """Redraw every kernel with Keras's default Glorot-uniform from ``seed`` (no global RNG)."""
    import keras

    for number, layer in enumerate(model.layers):
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        init = keras.initializers.GlorotUniform(seed=int(seed) * 10_007 + number)
        kernel.assign(init(tuple(kernel.shape)))
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.assign(np.zeros(tuple(bias.shape), dtype="float32"))


@dataclass
class PosterReport:
    """What :func:`extract_poster_features` did.

    Attributes
    ----------
    n_images : posters asked for (paths that are not ``None``).
    n_cached : feature vectors read from the cache.
    n_computed : feature vectors computed by the network.
    failures : ``(index, path, reason)`` of each poster skipped (missing or not an image).
    seconds : wall time.
    """

    n_images: int = 0
    n_cached: int = 0
    n_computed: int = 0
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_failed(self) -> int:
        """Posters skipped and masked."""
        return len(self.failures)

    def summary(self) -> str:
        """One line for the terminal."""
        missing = sum(1 for f in self.failures if f[2] == "missing file")
        return (f"{self.n_images - self.n_failed}/{self.n_images} posters: "
                f"{self.n_computed} computed, {self.n_cached} from the cache; "
                f"skipped and masked: {missing} missing, {self.n_failed - missing} "
                f"not decodable ({self.seconds:.1f} s)")

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (the first 50 failures listed)."""
        return {"n_images": self.n_images, "n_cached": self.n_cached,
                "n_computed": self.n_computed, "n_failed": self.n_failed,
                "failures": [{"index": i, "path": p, "reason": r}
                             for i, p, r in self.failures[:50]],
                "seconds": round(self.seconds, 2)}


class _Cache:
    def __init__(self, spec: CNNSpec, enabled: bool) -> None:
        self.enabled = enabled
        self.root = cache_dir("features", "posters", spec.cache_key())
        self.dim = spec.dim

    def _file(self, sha: str) -> Path:
        return self.root / sha[:2] / f"{sha}.npy"

    def get(self, sha: str) -> NDArray[np.float32] | None:
        if not self.enabled:
            return None
        file = self._file(sha)
        if not file.is_file():
            return None
        try:
            value = np.load(file, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a damaged entry is recomputed
        if value.shape != (self.dim,) or not np.isfinite(value).all():
            return None
        return value.astype(np.float32, copy=False)

    def put(self, sha: str, value: NDArray[np.float32]) -> None:
        if not self.enabled:
            return
        file = self._file(sha)
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(file, "wb") as handle:
            np.save(handle, np.asarray(value, dtype=np.float32))


def extract_poster_features(
    paths: Sequence[str | os.PathLike[str] | None],
    spec: CNNSpec,
    *,
    batch_size: int = 32,
    cache: bool = True,
    progress: bool = True,
) -> tuple[NDArray[np.float32], NDArray[np.bool_], PosterReport]:
    """CNN features of the posters at ``paths`` (``None`` = no poster).

    Parameters
    ----------
    paths : one image path per item, or ``None`` for an item without a poster.
    spec : the network (:class:`CNNSpec`).
    batch_size : images per forward pass.
    cache : read and write the on-disk feature cache.
    progress : print a progress line on stderr.

    Returns
    -------
    values : ndarray of float32, shape (len(paths), spec.dim); zeros where masked.
    mask : ndarray of bool, shape (len(paths),); False for ``None``, missing and
        undecodable posters.
    report : :class:`PosterReport` (failures list missing and undecodable files).

    Raises
    ------
    DataError
        Bad ``batch_size``, or weights that cannot be loaded (see :func:`build_backbone`).

    Examples
    --------
    >>> spec = CNNSpec(weights="none", image_size=32)
    >>> values, mask, report = extract_poster_features(["1.jpg", None], spec)  # doctest: +SKIP
    """
    import time

    if int(batch_size) < 1:
        raise DataError(f"--batch-size must be at least 1, received {batch_size}.")
    started = time.perf_counter()
    n = len(paths)
    values = np.zeros((n, spec.dim), dtype=np.float32)
    mask = np.zeros(n, dtype=bool)
    report = PosterReport()
    store = _Cache(spec, cache)
    todo: list[tuple[int, str, str]] = []  # (index, path, sha256)
    for index, raw in enumerate(paths):
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw) == "":
            continue
        report.n_images += 1
        path = Path(raw).expanduser()
        if not path.is_file():
            report.failures.append((index, str(path), "missing file"))
            continue
        sha = sha256_file(path)
        hit = store.get(sha)
        if hit is not None:
            values[index], mask[index] = hit, True
            report.n_cached += 1
        else:
            todo.append((index, str(path), sha))
    if todo:
        with Progress(len(todo), "poster features", enabled=progress) as bar:
            _compute(todo, spec, int(batch_size), values, mask, report, store, bar)
    report.failures.sort()
    report.seconds = time.perf_counter() - started
    return values, mask, report


def _compute(todo: list[tuple[int, str, str]], spec: CNNSpec, batch_size: int,
             values: NDArray[np.float32], mask: NDArray[np.bool_], report: PosterReport,
             store: _Cache, bar: Progress) -> None:
    from recsys._tensorflow import quiet_import

    quiet_import()
    import importlib

    import tensorflow as tf

    preprocess = importlib.import_module(
        f"keras.applications.{BACKBONES[spec.backbone][1]}").preprocess_input
    network = build_backbone(spec)
    size = (int(spec.image_size), int(spec.image_size))

    def load(position: tf.Tensor, path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(tf.cast(image, tf.float32), size)
        return position, preprocess(image)

    def run(positions: NDArray[np.int64], images: Any) -> None:
        features = np.asarray(network(images, training=False), dtype=np.float32)
        features = features.reshape(len(positions), -1)
        for position, row in zip(positions, features, strict=True):
            index, _, sha = todo[int(position)]
            if not np.isfinite(row).all():
                report.failures.append((index, todo[int(position)][1], "non-finite features"))
                continue
            values[index], mask[index] = row, True
            store.put(sha, row)
            report.n_computed += 1

    # Truncated JPEGs go straight to Pillow: TensorFlow would log a C++ line for each.
    whole = [position for position, (_, path, _) in enumerate(todo)
             if not _truncated_jpeg(path)]
    seen = np.zeros(len(todo), dtype=bool)
    if whole:
        pipeline = (tf.data.Dataset.from_tensor_slices(
            (np.asarray(whole, dtype=np.int64), [todo[i][1] for i in whole]))
            .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .ignore_errors()
            .batch(batch_size)
            .prefetch(1))
        for positions, images in pipeline:
            positions = positions.numpy()
            seen[positions] = True
            before = report.n_computed
            run(positions, images)
            bar.advance(len(positions), done=report.n_computed - before)
    # Not decoded by TensorFlow (e.g. WebP, damaged or truncated files): try Pillow.
    retry = np.flatnonzero(~seen)
    for start in range(0, len(retry), batch_size):
        chunk = retry[start:start + batch_size]
        ok, images = [], []
        for position in chunk:
            image = _pillow_image(todo[int(position)][1])
            if image is None:
                index, path, _ = todo[int(position)]
                report.failures.append((index, path, "not a decodable image"))
                continue
            resized = tf.image.resize(tf.convert_to_tensor(image, tf.float32), size)
            ok.append(position)
            images.append(preprocess(resized))
        if ok:
            run(np.asarray(ok, dtype=np.int64), tf.stack(images))
        bar.advance(len(chunk), done=len(ok), failed=len(chunk) - len(ok))


def _pillow_image(path: str) -> NDArray[np.uint8] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError):
        return None
