"""The poster CNN architectures and the smallest image each takes (no Keras import)."""

from __future__ import annotations

from recsys.errors import InvalidParameterError

__all__ = ["ARCHITECTURES", "MIN_IMAGE_SIZE", "SCRATCH_FILTERS", "check_image_size"]

ARCHITECTURES = ("scratch", "vgg16")
#: Default widths of the scratch network's convolution blocks.
SCRATCH_FILTERS = (32, 64, 128, 128)
#: Smallest image side each architecture takes (vgg16: five 2x2 poolings, as Keras
#: requires; scratch: one pixel left after its four poolings).
MIN_IMAGE_SIZE = {"scratch": 2 ** len(SCRATCH_FILTERS), "vgg16": 32}


def check_image_size(architecture: str, image_size: int) -> None:
    """Refuse an unknown architecture or an image side below its minimum.

    Raises
    ------
    InvalidParameterError
        ``parameter="architecture"`` or ``"image_size"``.

    >>> check_image_size("vgg16", 16)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.InvalidParameterError: vgg16 needs images of at least 32 x 32 pixels; ...
    """
    if architecture not in ARCHITECTURES:
        raise InvalidParameterError(
            "architecture",
            f"unknown poster CNN architecture {architecture!r}; expected scratch or vgg16.",
        )
    smallest = MIN_IMAGE_SIZE[architecture]
    if int(image_size) < smallest:
        raise InvalidParameterError(
            "image_size",
            f"{architecture} needs images of at least {smallest} x {smallest} pixels; "
            f"received image_size={image_size}.",
        )
