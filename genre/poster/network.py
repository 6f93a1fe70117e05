"""Poster CNNs: a small VGG-style network trained from scratch, or VGG16 with a new top.

Both take ``uint8``-range RGB images of shape ``(image_size, image_size, 3)`` (values
0..255 as float32) and return one sigmoid probability per genre.

``scratch`` (:func:`build_scratch_network`)
    The reduced VGG-style stack of the course project: for each width of ``filters``
    (default 32, 64, 128, 128) a 3x3 ``Conv2D`` + ReLU and a 2x2 max pooling, with
    dropout after every block but the first; then ``Flatten``, ``Dense(256)`` + ReLU +
    dropout and ``Dense(n_genres, sigmoid)``. Pixels are scaled to 0..1 first.
``vgg16`` (:func:`build_vgg16_network`)
    ``keras.applications.VGG16`` without its top (``include_top=False``, global average
    pooling: 512 numbers), built by :func:`recsys.features.posters.build_backbone`, so
    ``weights`` follow the rules and messages of the frozen poster block (``"imagenet"``,
    ``"none"``: seeded random weights, or the path of a ``*_notop`` weights file). VGG16's
    own ``preprocess_input`` (RGB to BGR, ImageNet channel means subtracted) is the
    :class:`VGGPreprocess` layer, so the saved model takes raw pixels. The base starts
    frozen; :func:`unfreeze_last_block` makes its last block (``block5_*``) trainable for
    fine-tuning.

Augmentation (:func:`augmentation_layers`): a horizontal flip, a zoom and a shift of up
to ``zoom`` of the side, as Keras preprocessing layers seeded from ``seed``. Keras runs
them only when the network is called with ``training=True`` (``fit``); ``predict`` and
``network(x)`` pass images through unchanged.

Everything is Keras 3 (``keras.ops``), so the networks train on TensorFlow, JAX or
PyTorch, and a saved ``.keras`` file loads on any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genre.poster.spec import ARCHITECTURES, MIN_IMAGE_SIZE, SCRATCH_FILTERS, check_image_size
from recsys.backend import import_keras
from recsys.errors import InvalidParameterError

keras = import_keras()

__all__ = [
    "ARCHITECTURES",
    "MIN_IMAGE_SIZE",
    "VGGPreprocess",
    "augmentation_layers",
    "build_poster_network",
    "build_scratch_network",
    "build_vgg16_network",
    "check_image_size",
    "unfreeze_last_block",
]

#: ImageNet channel means (BGR) that VGG16's preprocess_input subtracts.
_VGG_MEANS = (103.939, 116.779, 123.68)

_Layer: Any = keras.layers.Layer


@keras.saving.register_keras_serializable(package="genre")
class VGGPreprocess(_Layer):
    """VGG16's ``preprocess_input`` as a layer: RGB (0..255) to BGR minus the ImageNet means.

    Examples
    --------
    >>> import numpy as np
    >>> out = VGGPreprocess()(np.array([[[[1.0, 2.0, 3.0]]]], dtype="float32"))
    >>> [round(float(v), 3) for v in keras.ops.convert_to_numpy(out).ravel()]
    [-100.939, -114.779, -122.68]
    """

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        bgr = ops.flip(ops.cast(inputs, "float32"), axis=-1)
        return bgr - ops.convert_to_tensor(_VGG_MEANS, dtype="float32")

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


def augmentation_layers(seed: int = 0, zoom: float = 0.1) -> list[Any]:
    """Horizontal flip, zoom and shift layers (active only in training), seeded.

    ``zoom`` is the largest zoom in or out and the largest shift, as fractions of the side
    (0 leaves only the flip).
    """
    layers = keras.layers
    out = [layers.RandomFlip("horizontal", seed=seed * 100 + 1, name="augment_flip")]
    if zoom > 0:
        out.append(
            layers.RandomZoom(
                (-zoom, zoom), fill_mode="reflect", seed=seed * 100 + 2, name="augment_zoom"
            )
        )
        out.append(
            layers.RandomTranslation(
                zoom, zoom, fill_mode="reflect", seed=seed * 100 + 3, name="augment_shift"
            )
        )
    return out


def _head(x: Any, n_genres: int, dropout: float, seed: int, units: int = 256) -> Any:
    layers = keras.layers
    x = layers.Dense(
        units,
        activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 50),
        name="top_dense",
    )(x)
    if dropout > 0:
        x = layers.Dropout(dropout, seed=seed * 100 + 51, name="top_dropout")(x)
    return layers.Dense(
        n_genres,
        activation="sigmoid",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 52),
        name="genres",
    )(x)


def build_scratch_network(
    n_genres: int,
    *,
    image_size: int = 128,
    filters: Sequence[int] = SCRATCH_FILTERS,
    dropout: float = 0.5,
    augment: float = 0.1,
    seed: int = 0,
) -> Any:
    """The VGG-style network of the module docstring, trained from scratch.

    Parameters
    ----------
    n_genres : outputs.
    image_size : input side.
    filters : width of each convolution block.
    dropout : rate before the output layer (half of it after the convolution blocks).
    augment : zoom / shift fraction of :func:`augmentation_layers` (flip always).
    seed : seeds initialisers, dropout and augmentation.

    Returns
    -------
    keras.Model from ``(image_size, image_size, 3)`` images to ``(n_genres,)``.

    >>> build_scratch_network(3, image_size=32).output_shape
    (None, 3)
    """
    check_image_size("scratch", image_size)
    layers = keras.layers
    inputs = keras.Input((int(image_size), int(image_size), 3), name="poster")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for layer in augmentation_layers(seed, augment):
        x = layer(x)
    for block, width in enumerate(filters, start=1):
        x = layers.Conv2D(
            int(width),
            3,
            padding="same",
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + block),
            name=f"block{block}_conv",
        )(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        if block > 1 and dropout > 0:
            x = layers.Dropout(
                dropout / 2, seed=seed * 100 + 20 + block, name=f"block{block}_dropout"
            )(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _head(x, n_genres, dropout, seed), name="poster_cnn_scratch")


def build_vgg16_network(
    n_genres: int,
    *,
    image_size: int = 128,
    weights: str = "imagenet",
    dropout: float = 0.5,
    augment: float = 0.1,
    seed: int = 0,
) -> Any:
    """VGG16 (frozen, global average pooling) with a new top (see the module docstring).

    Raises
    ------
    InvalidParameterError
        An image side below 32, a weights file that does not exist.
    DataError
        ImageNet weights that cannot be downloaded, a weights file that does not fit
        VGG16 without its top (:func:`recsys.features.posters.build_backbone`).
    """
    from recsys.features.posters import CNNSpec, build_backbone

    check_image_size("vgg16", image_size)
    spec = CNNSpec(
        backbone="vgg16", weights=weights, pooling="avg", image_size=int(image_size), seed=seed
    )
    base = build_backbone(spec)  # frozen
    inputs = keras.Input((int(image_size), int(image_size), 3), name="poster")
    x = inputs
    for layer in augmentation_layers(seed, augment):
        x = layer(x)
    x = VGGPreprocess(name="vgg16_preprocess")(x)
    x = base(x)
    return keras.Model(inputs, _head(x, n_genres, dropout, seed), name="poster_cnn_vgg16")


def build_poster_network(architecture: str, n_genres: int, **params: Any) -> Any:
    """:func:`build_scratch_network` or :func:`build_vgg16_network` by ``architecture``.

    ``weights`` applies to ``vgg16`` only (``scratch`` takes ``None`` or ``"none"``).

    Raises
    ------
    InvalidParameterError
        Unknown architecture, weights given to ``scratch``, an image side too small.
    """
    check_image_size(architecture, params.get("image_size", 128))
    weights = params.pop("weights", None)
    if architecture == "scratch":
        if weights not in (None, "none"):
            raise InvalidParameterError(
                "weights",
                f"weights={weights!r} do not fit the scratch network, which starts from "
                "random weights; pass weights for architecture vgg16, or none.",
            )
        return build_scratch_network(n_genres, **params)
    return build_vgg16_network(n_genres, weights=weights or "imagenet", **params)


def base_network(network: Any) -> Any | None:
    """The nested VGG16 base of a ``vgg16`` poster network (``None`` for ``scratch``)."""
    for layer in network.layers:
        if isinstance(layer, keras.Model):
            return layer
    return None


def unfreeze_last_block(network: Any) -> int:
    """Make the last block (``block5_*``) of a ``vgg16`` network's base trainable.

    Returns
    -------
    int
        The number of layers unfrozen (0 for a network without a VGG16 base).
    """
    base = base_network(network)
    if base is None:
        return 0
    base.trainable = True
    count = 0
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block5")
        count += bool(layer.trainable and layer.weights)
    return count
