"""Download published MovieLens datasets into the cache, verified and extracted safely.

A dataset is fetched once into ``cache_dir("datasets", NAME)``. The archive is
streamed to a ``.part`` file, its size and MD5 are checked against the published
values (pinned here for the frozen benchmark releases; read from GroupLens'
``.md5`` file for the ``latest`` ones, which change), it is extracted member by member
into a temporary directory (members that would land outside it are refused) and the
directory is renamed into place only when complete, so an interrupted download never
leaves a dataset that later looks whole.

``$RECSYS_MOVIELENS_URL`` replaces the GroupLens base URL (a mirror, or a local
server in tests).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from recsys.errors import DataError
from recsys.paths import cache_dir

__all__ = ["DATASETS", "DatasetInfo", "fetch_dataset", "safe_extract"]

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"
_COMPLETE = ".complete"


@dataclass(frozen=True)
class DatasetInfo:
    """A published MovieLens archive: file name, MD5 and size where they are fixed."""

    archive: str
    md5: str | None = None
    size: int | None = None
    description: str = ""


#: Every MovieLens release the toolkit can download. MD5s are GroupLens' published
#: values (``<archive>.md5`` next to each archive).
DATASETS: dict[str, DatasetInfo] = {
    "ml-latest-small": DatasetInfo(
        "ml-latest-small.zip", description="100k ratings, 610 users, 9.7k movies (bundled)"
    ),
    "ml-latest": DatasetInfo("ml-latest.zip", description="33M+ ratings, updated over time"),
    "ml-100k": DatasetInfo(
        "ml-100k.zip",
        "0e33842e24a9c977be4e0107933c0723",
        description="100k ratings, 943 users, 1.7k movies, 1998",
    ),
    "ml-1m": DatasetInfo(
        "ml-1m.zip",
        "c4d9eecfca2ab87c1945afe126590906",
        description="1M ratings, 6k users, 3.9k movies, 2003",
    ),
    "ml-10m": DatasetInfo(
        "ml-10m.zip",
        "ce571fd55effeba0271552578f2648bd",
        description="10M ratings, 72k users, 10k movies, 2009",
    ),
    "ml-20m": DatasetInfo(
        "ml-20m.zip",
        "cd245b17a1ae2cc31bb14903e1204af3",
        198_702_078,
        description="20M ratings, 138k users, 27k movies, 2016",
    ),
    "ml-25m": DatasetInfo(
        "ml-25m.zip",
        "6b51fb2759a8657d3bfcbfc42b592ada",
        261_978_986,
        description="25M ratings, 162k users, 62k movies, 2019",
    ),
    "ml-32m": DatasetInfo(
        "ml-32m.zip",
        "d472be332d4daa821edc399621853b57",
        description="32M ratings, 200k users, 87k movies, 2024",
    ),
}


def fetch_dataset(name: str, *, root: Path | None = None, quiet: bool = False) -> Path:
    """Return the directory of dataset ``name``, downloading it first if needed.

    Raises
    ------
    DataError
        Unknown name, no network, a checksum or size mismatch, an unsafe archive.
    """
    if name not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, or the path of a "
            "MovieLens folder or .zip."
        )
    info = DATASETS[name]
    root = root or cache_dir("datasets")
    target = root / name
    if (target / _COMPLETE).exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("RECSYS_MOVIELENS_URL", GROUPLENS_URL).rstrip("/") + "/"
    url = base + info.archive
    expected_md5 = info.md5 or _published_md5(url)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=root) as work:
        archive = Path(work) / info.archive
        _download(url, archive, quiet=quiet)
        size = archive.stat().st_size
        if info.size is not None and size != info.size:
            raise DataError(
                f"{url}: downloaded {size:,} bytes, expected {info.size:,}; "
                "the download was cut short or altered. Run the command again."
            )
        digest = _md5(archive)
        if digest != expected_md5:
            raise DataError(
                f"{url}: MD5 {digest} does not match the published {expected_md5};"
                " the download is damaged or altered. Run the command again."
            )
        extracted = Path(work) / "extracted"
        safe_extract(archive, extracted)
        (extracted / _COMPLETE).write_text(f"{url}\nmd5 {digest}\n")
        if target.exists():  # a leftover without the completion marker
            shutil.rmtree(target)
        os.replace(extracted, target)
    return target


def safe_extract(archive: Path, destination: Path) -> None:
    """Extract a zip archive, refusing members that would land outside ``destination``.

    Raises
    ------
    DataError
        On an absolute path, a ``..`` component, a symbolic link or a damaged archive.
    """
    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                name = member.filename
                parts = PurePosixPath(name.replace("\\", "/")).parts
                is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
                target = (root / Path(*parts)).resolve() if parts else root
                if (
                    name.startswith(("/", "\\"))
                    or ".." in parts
                    or is_link
                    or (target != root and root not in target.parents)
                ):
                    raise DataError(
                        f"{archive.name}: member {name!r} would be written outside "
                        "the dataset folder; refusing to extract this archive."
                    )
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except zipfile.BadZipFile as error:
        raise DataError(
            f"{archive.name} is not a valid zip archive ({error}); delete it and download again."
        ) from None


def _published_md5(url: str) -> str:
    try:
        with urllib.request.urlopen(url + ".md5", timeout=60) as response:
            text = response.read().decode("ascii", "replace")
    except (urllib.error.URLError, OSError) as error:
        raise DataError(
            f"cannot fetch the published checksum {url}.md5 ({_reason(error)}); "
            "check the network or load a local copy by its path."
        ) from None
    for token in text.replace("=", " ").split():
        if len(token) == 32 and all(c in "0123456789abcdef" for c in token.lower()):
            return token.lower()
    raise DataError(f"{url}.md5 holds no MD5 checksum; cannot verify the download.")


def _download(url: str, path: Path, *, quiet: bool) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if not quiet and sys.stderr.isatty() and total:
                    print(
                        f"\rdownloading {path.name}: {done / total:6.1%}", end="", file=sys.stderr
                    )
            if total and done != total:
                raise DataError(
                    f"{url}: the connection closed after {done:,} of {total:,} "
                    "bytes. Run the command again."
                )
    except urllib.error.HTTPError as error:
        raise DataError(
            f"cannot download {url}: HTTP {error.code}; check the dataset name "
            "or $RECSYS_MOVIELENS_URL."
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise DataError(
            f"cannot download {url} ({_reason(error)}); check the network, or "
            "download the archive yourself and load it by its path."
        ) from None
    finally:
        if not quiet and sys.stderr.isatty():
            print(file=sys.stderr)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(error: BaseException) -> str:
    return str(getattr(error, "reason", None) or error)
