"""A dataset's files, in a directory or in the original ``.zip``, found by file name."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, cast

from recsys.errors import DataError

__all__ = ["DataSource"]


class DataSource:
    """Files of one dataset, addressed by their base name (``"ratings.csv"``).

    ``path`` is a directory (the files may sit in it or one folder below, as after
    unzipping a MovieLens archive) or a ``.zip`` file as GroupLens publishes it.

    Raises
    ------
    DataError
        If ``path`` does not exist or is neither a directory nor a zip archive.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise DataError(
                f"no such dataset path: {str(self.path)!r}; give a MovieLens "
                "directory or .zip, or a dataset name such as ml-latest-small."
            )
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self._members = self._scan_directory()
        elif zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
            self._members = self._scan_zip(self._zip)
        else:
            raise DataError(
                f"{str(self.path)!r} is neither a directory nor a .zip archive; "
                "give the MovieLens folder or its original .zip."
            )

    def _scan_directory(self) -> dict[str, str]:
        try:  # glob skips what it cannot read: an unreadable folder would look empty
            os.listdir(self.path)
        except OSError as error:
            raise DataError(
                f"cannot read the dataset folder {str(self.path)!r} ({error.strerror}); "
                "give a folder you can read, or fix its permissions."
            ) from None
        found: dict[str, str] = {}
        for depth_glob in ("*", "*/*"):
            for file in sorted(self.path.glob(depth_glob)):
                if file.is_file():
                    found.setdefault(file.name, str(file.relative_to(self.path)))
                elif file.is_dir() and depth_glob == "*" and not os.access(file, os.R_OK | os.X_OK):
                    raise DataError(
                        f"cannot read the folder {str(file)!r} of the dataset (permission "
                        "denied); fix its permissions or give another folder."
                    )
        return found

    @staticmethod
    def _scan_zip(archive: zipfile.ZipFile) -> dict[str, str]:
        found: dict[str, str] = {}
        names = sorted(archive.namelist(), key=lambda n: (n.count("/"), n))
        for name in names:
            if not name.endswith("/") and "__MACOSX" not in name:
                found.setdefault(PurePosixPath(name).name, name)
        return found

    @property
    def name(self) -> str:
        """The dataset's name as its folder or archive is called (``ml-25m``)."""
        parents = {PurePosixPath(m).parent for m in self._members.values()}
        if self._zip is None and len(parents) == 1:
            only = parents.pop()
            if str(only) not in (".", ""):
                return only.name
        return self.path.stem if self._zip is not None else self.path.name

    def has(self, filename: str) -> bool:
        """Whether the dataset has a file called ``filename``."""
        return filename in self._members

    def filenames(self) -> list[str]:
        """Base names of every file in the dataset."""
        return sorted(self._members)

    def open(self, filename: str) -> IO[bytes]:
        """Open ``filename`` for binary reading.

        Raises
        ------
        DataError
            If the dataset has no such file.
        """
        if filename not in self._members:
            raise DataError(
                f"{str(self.path)!r} has no file {filename!r}; "
                f"it has: {', '.join(self.filenames()) or 'no files'}."
            )
        member = self._members[filename]
        if self._zip is not None:
            return io.BufferedReader(cast(io.RawIOBase, self._zip.open(member)))
        return open(self.path / member, "rb")

    def file_path(self, filename: str) -> tuple[Path, str | None]:
        """``(file on disk, member)``: the file itself, or the ``.zip`` and the member name.

        Raises
        ------
        DataError
            If the dataset has no such file.
        """
        if filename not in self._members:
            raise DataError(
                f"{str(self.path)!r} has no file {filename!r}; "
                f"it has: {', '.join(self.filenames()) or 'no files'}."
            )
        if self._zip is not None:
            return self.path, self._members[filename]
        return self.path / self._members[filename], None

    def __repr__(self) -> str:
        return f"DataSource({str(self.path)!r})"
