"""Poster files written so that no reader ever sees half an image.

A poster is written to a hidden temporary file in the target directory, flushed to disk
with ``fsync``, checked to decode as an image with Pillow, and only then renamed to its
final name (an atomic step on POSIX and Windows). A process killed at any moment
leaves either the complete poster or no poster; stray temporary files of killed runs
are removed by :func:`remove_stale_parts`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from recsys.checksum import sha256_file
from recsys.errors import RecsysError
from recsys.fileio import output_step
from recsys.metadata.client import TMDBClient
from recsys.paths import cache_dir

__all__ = [
    "PART_SUFFIX",
    "PosterError",
    "PosterFile",
    "check_image",
    "default_posters_dir",
    "download_poster",
    "poster_filename",
    "remove_stale_parts",
    "sha256_file",
    "write_poster",
]

#: Suffix of the temporary files posters are written to before the rename.
PART_SUFFIX = ".part"
_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}


class PosterError(RecsysError):
    """Image bytes that do not decode as an image (truncated or not an image at all)."""


@dataclass(frozen=True)
class PosterFile:
    """A poster on disk: absolute ``path``, ``sha256`` of its bytes, pixel size, byte size."""

    path: Path
    sha256: str
    width: int
    height: int
    bytes: int


def default_posters_dir() -> Path:
    """Where fetched posters go unless ``--posters`` says otherwise."""
    return cache_dir("metadata", "posters")


def poster_filename(tmdb_id: int, size: str, poster_path: str) -> str:
    """The file name a poster is stored under: ``<tmdb id>_<size><extension>``.

    >>> poster_filename(862, "w185", "/uXDfjJbdP4ijW5hWSBrPrlKpxab.jpg")
    '862_w185.jpg'
    """
    suffix = Path(str(poster_path)).suffix.lower()
    return f"{int(tmdb_id)}_{size}{suffix if suffix in _EXTENSIONS else '.jpg'}"


def check_image(source: str | os.PathLike[str] | bytes, *, full: bool = True) -> tuple[int, int]:
    """Check that an image is complete; return ``(width, height)``.

    ``full`` decodes every pixel (catches any truncation); otherwise only the file
    structure is verified (cheap; enough when a checksum already vouches for the bytes).

    Raises
    ------
    PosterError
        If the data is not a complete image Pillow can decode.
    """

    def opener() -> Image.Image:
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)

    try:
        with opener() as image:  # verify() checks the structure, then the image is unusable
            image.verify()
            size = image.size
        if full:
            with opener() as image:  # load() decodes every pixel: catches truncated data
                image.load()
        return size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise PosterError(f"not a complete image ({type(error).__name__}: {error})") from None


def write_poster(data: bytes, target: str | os.PathLike[str]) -> PosterFile:
    """Write image ``data`` to ``target`` atomically, after checking it decodes.

    Raises
    ------
    PosterError
        If the data does not decode; ``target`` is then left as it was.
    """
    target = Path(target).absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent
        )
    except OSError as error:  # name the poster, never the temporary file
        raise OSError(error.errno, error.strerror, str(target)) from None
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        width, height = check_image(tmp)
        os.replace(tmp, target)
        output_step("replace", target)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise OSError(error.errno, error.strerror, str(target)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    return PosterFile(target, hashlib.sha256(data).hexdigest(), width, height, len(data))


def download_poster(
    client: TMDBClient,
    poster_path: str,
    size: str,
    target: str | os.PathLike[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> PosterFile:
    """Download a poster from TMDB's image server and write it with :func:`write_poster`.

    Bytes that arrive complete but do not decode are fetched again, following the
    client's retry policy.

    Raises
    ------
    TMDBNotFound
        If the image server has no such file.
    TMDBRequestFailed
        If the download failed after its retries.
    PosterError
        If the image still did not decode after the retries.
    """
    attempt = 0
    while True:
        data = client.image(poster_path, size)
        try:
            return write_poster(data, target)
        except PosterError as error:
            if attempt >= client.retry.retries:
                raise PosterError(
                    f"poster {size}{poster_path} did not decode after "
                    f"{attempt + 1} downloads: {error}"
                ) from None
        sleep(client.retry.delay(attempt))
        attempt += 1


def remove_stale_parts(directory: str | os.PathLike[str]) -> int:
    """Delete temporary poster files left by killed runs; return how many were removed."""
    folder = Path(directory)
    if not folder.is_dir():
        return 0
    removed = 0
    for part in folder.glob(f".*{PART_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
            removed += 1
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
