"""Exceptions the toolkit raises for problems a user can fix.

Every message says what was expected, what was received and how to fix it. The
command-line interface prints ``str(error)`` on one line and exits with code 2.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "ModelDirError",
    "NotFittedError",
    "RecsysError",
    "UnknownIdError",
]


class RecsysError(Exception):
    """Base class of the errors caused by input the user can correct."""


class DataError(RecsysError, ValueError):
    """A data file, frame or option has the wrong content or shape."""


class UnknownIdError(RecsysError, KeyError):
    """An id is not in a vocabulary and the unknown-id policy is ``"error"``."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class NotFittedError(RecsysError, ValueError):
    """A model was asked to predict before ``fit`` was called."""


class ModelDirError(RecsysError, ValueError):
    """A directory is not a saved model of this toolkit, or it is damaged."""
