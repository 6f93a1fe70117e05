"""Exceptions the toolkit raises for problems a user can fix.

Every message says what was expected, what was received and how to fix it, in the
library's own terms: the name of the parameter, argument or file, never a command-line
flag. An error about one parameter says which in :attr:`RecsysError.parameter`; the
command-line interface (:mod:`recsys.cli.framework`) prints ``str(error)`` on one line,
adds the flag that sets that parameter, and exits with code 2.

>>> error = InvalidParameterError("factors", "factors=0 must be a positive integer.")
>>> error.parameter, str(error)
('factors', 'factors=0 must be a positive integer.')
"""

from __future__ import annotations

__all__ = [
    "MAX_SEED",
    "DataError",
    "InvalidParameterError",
    "ModelDirError",
    "NotFittedError",
    "RecsysError",
    "UnknownIdError",
    "check_seed",
]


class RecsysError(Exception):
    """Base class of the errors caused by input the user can correct.

    Parameters
    ----------
    message : what was wrong and how to fix it, in library terms.
    parameter : the name of the parameter or argument at fault (as the function or
        constructor spells it, e.g. ``"rating_scale"``), when one is; ``None`` otherwise.
    """

    def __init__(self, message: str = "", *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class DataError(RecsysError, ValueError):
    """A data file, frame or option has the wrong content or shape."""


class InvalidParameterError(DataError):
    """A parameter has a value outside its allowed range; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, parameter=parameter)


class UnknownIdError(RecsysError, KeyError):
    """An id is not in a vocabulary and the unknown-id policy is ``"error"``."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class NotFittedError(RecsysError, ValueError):
    """A model was asked to predict before ``fit`` was called."""


class ModelDirError(RecsysError, ValueError):
    """A directory is not a saved model of this toolkit, or it is damaged."""


#: The largest seed: every backend's seeding accepts 0 .. 2**32 - 1
#: (``numpy.random.seed``, which ``keras.utils.set_random_seed`` calls, takes no more).
MAX_SEED = 2**32 - 1


def check_seed(seed: object, parameter: str = "seed") -> int:
    """The one check of a seed before it reaches numpy or a backend.

    Parameters
    ----------
    seed : the seed given; an integer (a bool is not one) in ``0 .. MAX_SEED``.
    parameter : the caller's name for it, for the error.

    Returns
    -------
    int, the seed.

    Raises
    ------
    InvalidParameterError
        If ``seed`` is not an integer in that range, naming ``parameter``.

    Examples
    --------
    >>> check_seed(42)
    42
    >>> check_seed(-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.InvalidParameterError: seed=-1 is out of range: a seed is an integer ...
    """
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidParameterError(
            parameter,
            f"{parameter}={seed!r} is not an integer: a seed is an integer from 0 to "
            f"{MAX_SEED} (2**32 - 1), e.g. 0.",
        )
    if not 0 <= int(seed) <= MAX_SEED:
        raise InvalidParameterError(
            parameter,
            f"{parameter}={seed!r} is out of range: a seed is an integer from 0 to "
            f"{MAX_SEED} (2**32 - 1), e.g. 0.",
        )
    return int(seed)
