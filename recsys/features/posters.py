"""CNN features of poster images, streamed in batches and cached by image checksum.

A frozen ``keras.applications`` backbone without its classifier (``include_top=False``)
turns each poster into one vector: ``pooling="avg"`` (global average pooling, 512
numbers for VGG16) or ``pooling="flatten"`` (the last feature map flattened: 7 x 7 x 512
= 25,088 for VGG16 at 224 x 224, as in the course project).

Images are decoded by Pillow (JPEG, PNG, WebP, ...; RGB, alpha dropped), resized to
``image_size`` x ``image_size`` with Pillow's bilinear filter, stacked into numpy
batches and passed through the backbone's ``preprocess_input`` and the network one
batch at a time, so only a batch or two of images is ever in memory. A few threads
decode the next batch while the network embeds the current one; the order of the
results is the order of the paths. Nothing here is specific to a Keras backend: the
features compute on TensorFlow, JAX or PyTorch (``KERAS_BACKEND`` or ``--backend``, see
:mod:`recsys.backend`). A file that is missing or does not decode (not an image, or
truncated) is skipped, reported and masked. Every feature vector is cached on disk under
``recsys.paths.cache_dir("features", "posters", ...)``, keyed by the image's SHA-256
and the backbone, weights, pooling, image size and resize method, so a second run only
reads the cache.

Resizing (:data:`RESIZE`)
    Pillow's bilinear filter antialiases when it shrinks, TensorFlow's
    ``tf.image.resize`` (used before, ``antialias=False``) does not, so features differ
    slightly from those of earlier versions. The resize method is part of the cache key
    and of the block's provenance (``"resize": "pil-bilinear"``): vectors cached by the
    TensorFlow pipeline are never mixed with new ones, and a genre model trained on an
    older poster block refuses a rebuilt one (retrain it, or keep the old store).

Weights (:class:`CNNSpec` ``weights``)
    ``"imagenet"``: downloaded by Keras on first use (to ``~/.keras/models``, e.g.
    ``vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``, 59 MB), which needs internet
    access; ``"none"``: random initialisation (Glorot-uniform kernels drawn by numpy from
    ``seed``, zero biases: the same network on every backend), for offline tests; any
    other value is the path of a local weights file (``.h5`` / ``.weights.h5``) for the
    same architecture. The loading path is Keras's and the same on every backend.
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
from recsys.errors import DataError, InvalidParameterError
from recsys.fileio import atomic_write
from recsys.paths import cache_dir
from recsys.progress import Progress

__all__ = [
    "BACKBONES",
    "RESIZE",
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
#: How posters are resized to the network's input: Pillow's bilinear filter. Part of the
#: cache key and of the provenance, so features made another way are never mixed in.
RESIZE = "pil-bilinear"


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
            raise DataError(
                f"unknown CNN backbone {self.backbone!r}; expected one of {', '.join(BACKBONES)}."
            )
        if self.pooling not in _POOLINGS:
            raise DataError(f"unknown pooling {self.pooling!r}; expected avg or flatten.")
        smallest = BACKBONES[self.backbone][2]
        if int(self.image_size) < smallest:
            raise InvalidParameterError(
                "image_size",
                f"{self.backbone} needs images of at least {smallest} x "
                f"{smallest} pixels; received image_size={self.image_size}.",
            )
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
                raise InvalidParameterError(
                    "weights",
                    f"CNN weights file {weights!r} does not exist; give weights='imagenet' "
                    "(needs internet), 'none' (random) or the path of a weights file for "
                    "this backbone.",
                )
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
        return self.feature_size**2 * channels

    def cache_key(self) -> str:
        """Directory name of this network's cached features (with the resize method).

        >>> CNNSpec(weights="none", image_size=64).cache_key()
        'vgg16-random-glorot-seed0-avg-64-pil-bilinear'
        """
        return f"{self.backbone}-{self.weights_id}-{self.pooling}-{int(self.image_size)}-{RESIZE}"

    def describe(self) -> dict[str, Any]:
        """JSON-able provenance."""
        return {
            "backbone": self.backbone,
            "weights": self.weights,
            "weights_id": self.weights_id,
            "pooling": self.pooling,
            "image_size": int(self.image_size),
            "resize": RESIZE,
            "include_top": False,
            "seed": int(self.seed) if self.weights == "none" else None,
            "dim": self.dim,
        }


def build_backbone(spec: CNNSpec) -> Any:
    """The frozen feature network of ``spec``: images in, one vector per image out.

    Raises
    ------
    DataError
        If the ImageNet weights cannot be downloaded (offline) or a weights file does
        not fit the architecture.
    """
    from recsys.backend import import_keras

    keras = import_keras()
    class_name = BACKBONES[spec.backbone][0]
    builder = getattr(keras.applications, class_name)
    shape = (int(spec.image_size), int(spec.image_size), 3)
    pooling = "avg" if spec.pooling == "avg" else None
    try:
        if spec.weights == "imagenet":
            base = builder(
                include_top=False, weights="imagenet", input_shape=shape, pooling=pooling
            )
        else:
            base = builder(include_top=False, weights=None, input_shape=shape, pooling=pooling)
            if spec.weights == "none":
                _seeded_initialisation(base, spec.seed)
            else:
                _load_weights(base, spec.weights)
    except Exception as error:  # Keras raises a bare Exception when a download fails
        if not (spec.weights == "imagenet" or isinstance(error, (OSError, ValueError, KeyError))):
            raise
        if spec.weights == "imagenet":
            raise DataError(
                f"could not get the ImageNet weights of {class_name} ({type(error).__name__}:"
                f" {str(error)[:100]}); Keras downloads them to ~/.keras/models when online."
                " Offline, copy the *_notop.h5 file there or give the path of a weights"
                " file, or use weights='none'.",
                parameter="weights",
            ) from None
        raise DataError(
            f"the weights file {spec.weights!r} does not fit {class_name} "
            f"with include_top=False ({str(error)[:120]}); pass the *_notop "
            "weights of the same backbone."
        ) from None
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
    skipped = [
        str(w.message)
        for w in caught
        if "skipping" in str(w.message).lower() or "freshly-initialized" in str(w.message)
    ]
    if skipped:
        raise ValueError(f"{len(skipped)} layer group(s) were not in the file")


def _seeded_initialisation(model: Any, seed: int) -> None:
    """Redraw every kernel Glorot-uniform from ``seed`` with numpy; zero every bias.

    The draw is Keras's default initialiser (``GlorotUniform``: uniform in ``+-sqrt(6 /
    (fan_in + fan_out))``, fans as Keras computes them), but from a numpy generator seeded
    with ``seed`` and the layer's position, so the random network is the same on every
    Keras backend (their own random number generators differ) and no global random state
    is used.
    """
    for number, layer in enumerate(model.layers):
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        shape = tuple(int(d) for d in kernel.shape)
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in = shape[-2] * receptive if len(shape) > 1 else shape[0]
        fan_out = shape[-1] * receptive
        limit = np.sqrt(6.0 / max(1, fan_in + fan_out))
        rng = np.random.default_rng([int(seed), number])
        kernel.assign(rng.uniform(-limit, limit, size=shape).astype(np.float32))
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
        return (
            f"{self.n_images - self.n_failed}/{self.n_images} posters: "
            f"{self.n_computed} computed, {self.n_cached} from the cache; "
            f"skipped and masked: {missing} missing, {self.n_failed - missing} "
            f"not decodable ({self.seconds:.1f} s)"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (the first 50 failures listed)."""
        return {
            "n_images": self.n_images,
            "n_cached": self.n_cached,
            "n_computed": self.n_computed,
            "n_failed": self.n_failed,
            "failures": [{"index": i, "path": p, "reason": r} for i, p, r in self.failures[:50]],
            "seconds": round(self.seconds, 2),
        }


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
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> poster = Path(tempfile.mkdtemp()) / "1.jpg"
    >>> Image.new("RGB", (40, 60), (200, 30, 30)).save(poster)
    >>> spec = CNNSpec(weights="none", image_size=32)
    >>> values, mask, report = extract_poster_features(
    ...     [poster, None], spec, cache=False, progress=False
    ... )
    >>> values.shape == (2, spec.dim), mask.tolist()
    (True, [True, False])
    """
    import time

    if int(batch_size) < 1:
        raise InvalidParameterError(
            "batch_size", f"batch_size must be at least 1, received {batch_size}."
        )
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


def _compute(
    todo: list[tuple[int, str, str]],
    spec: CNNSpec,
    batch_size: int,
    values: NDArray[np.float32],
    mask: NDArray[np.bool_],
    report: PosterReport,
    store: _Cache,
    bar: Progress,
) -> None:
    """Decode, resize and embed the posters of ``todo`` one batch at a time.

    A small thread pool decodes and resizes the next batch with Pillow while the network
    embeds the current one; results keep the order of ``todo``. Every batch goes to the
    network padded to one shape (``min(batch_size, len(todo))`` images), so a compiling
    backend (JAX, TensorFlow's ``tf.function``) traces the network once.
    """
    import importlib
    from concurrent.futures import ThreadPoolExecutor

    from recsys.backend import import_keras

    import_keras()
    preprocess = importlib.import_module(
        f"keras.applications.{BACKBONES[spec.backbone][1]}"
    ).preprocess_input
    network = build_backbone(spec)
    size = int(spec.image_size)
    shape = (min(batch_size, len(todo)), size, size, 3)

    def run(chunk: list[int], images: list[NDArray[np.float32]]) -> None:
        batch = np.zeros(shape, dtype=np.float32)
        batch[: len(images)] = images
        batch = np.asarray(preprocess(batch), dtype=np.float32)
        features = np.asarray(network.predict_on_batch(batch), dtype=np.float32)
        features = features.reshape(len(batch), -1)[: len(images)]
        for position, row in zip(chunk, features, strict=True):
            index, path, sha = todo[position]
            if not np.isfinite(row).all():
                report.failures.append((index, path, "non-finite features"))
                continue
            values[index], mask[index] = row, True
            store.put(sha, row)
            report.n_computed += 1

    starts = range(0, len(todo), batch_size)
    workers = max(1, min(4, os.cpu_count() or 1, batch_size))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poster") as pool:

        def submit(start: int) -> list[Any]:
            return [
                pool.submit(_load_image, todo[i][1], size)
                for i in range(start, min(start + batch_size, len(todo)))
            ]

        pending = submit(starts[0])
        for number, start in enumerate(starts):
            decoded = [future.result() for future in pending]
            # decode the next batch while the network embeds this one
            pending = submit(starts[number + 1]) if number + 1 < len(starts) else []
            chunk, images = [], []
            for offset, image in enumerate(decoded):
                if image is None:
                    index, path, _ = todo[start + offset]
                    report.failures.append((index, path, "not a decodable image"))
                else:
                    chunk.append(start + offset)
                    images.append(image)
            before = report.n_computed
            if images:
                run(chunk, images)
            bar.advance(
                len(decoded), done=report.n_computed - before, failed=len(decoded) - len(images)
            )


def _load_image(path: str, size: int) -> NDArray[np.float32] | None:
    """The image at ``path`` as float32 RGB of shape (size, size, 3), values 0..255, or
    ``None`` when Pillow cannot decode it.

    Pillow decodes every format it knows (JPEG, PNG, WebP, GIF's first frame, ...), drops
    any alpha channel and resizes with its bilinear filter (which, when shrinking, widens
    its support to cover the source pixels, i.e. antialiases). A truncated file (e.g. a
    JPEG cut short by a failed download) is not decodable: Pillow refuses it
    (``LOAD_TRUNCATED_IMAGES`` stays off) rather than filling the missing rows with grey,
    and says nothing on stderr.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
            if rgb.size != (size, size):
                rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.float32)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None
