"""String ids (ISBNs, ``tt0111161``, user names) as dense integer codes, and back.

Every table of the toolkit keys users and movies by int32 ids (ratings, vocabularies,
embedding rows, the columnar cache, feature stores). A dataset whose ids are strings is
read into the same form: each distinct string gets a code ``1 .. n`` (in sorted order of
the strings, so the same data always gives the same codes), and an :class:`IdLabels`
table keeps the strings. :class:`IdMaps` holds the tables of one dataset (users,
movies, or both; ``None`` where the ids are integers already). Datasets carry it
(:attr:`recsys.data.Dataset.ids`), saved models keep it, and the command line takes and
prints the original strings.

Only numpy is imported at module level: ``recsys predict`` reads a model's tables
without pandas (pandas is imported inside the functions that take frames).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.errors import DataError, UnknownIdError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["IdLabels", "IdMaps", "empty_ids", "encode_ids"]


class IdLabels:
    """The sorted distinct string ids of one entity; code ``i + 1`` is ``labels[i]``.

    Parameters
    ----------
    labels : the distinct strings, sorted (see :meth:`from_values`).
    entity : ``"user"`` or ``"movie"``, for messages.

    Examples
    --------
    >>> labels, codes = IdLabels.from_values(["tt02", "tt01", "tt02"], entity="movie")
    >>> codes.tolist(), labels.decode([2]).tolist(), labels.encode(["tt01"]).tolist()
    ([2, 1, 2], ['tt02'], [1])
    """

    def __init__(self, labels: ArrayLike, *, entity: str) -> None:
        self.labels: NDArray[np.str_] = np.asarray(labels, dtype=str)
        self.entity = entity

    @classmethod
    def from_values(cls, values: ArrayLike, *, entity: str) -> tuple[IdLabels, NDArray[np.int32]]:
        """The table of ``values`` (strings) and their codes, shape ``(n,)``.

        Raises
        ------
        DataError
            If a value is missing or empty.
        """
        import pandas as pd

        series = pd.Series(np.asarray(values, dtype=object))
        found = empty_ids(series)
        if found is not None:
            row, count = found
            raise DataError(
                f"{entity} id {row + 1} (row {row + 1} of the ratings) is empty; every "
                f"rating needs a {entity} id: fill or drop the {count} row(s) without one."
            )
        codes, uniques = pd.factorize(series.astype(str), sort=True)
        return cls(np.asarray(uniques, dtype=str), entity=entity), (codes + 1).astype(np.int32)

    def __len__(self) -> int:
        return len(self.labels)

    def encode(
        self, values: ArrayLike, *, missing: Literal["error", "negative"] = "error"
    ) -> NDArray[np.int32]:
        """Codes of the string ids ``values``, shape ``(n,)``.

        Parameters
        ----------
        missing : ``"error"`` raises :class:`UnknownIdError` for a string the table
            lacks; ``"negative"`` gives it the code ``-1`` (no movie or user has it).
        """
        raw = np.asarray(values, dtype=str).ravel()
        positions = np.searchsorted(self.labels, raw)
        clipped = np.minimum(positions, max(len(self.labels) - 1, 0))
        found = (positions < len(self.labels)) & (self.labels[clipped] == raw)
        positions = np.where(found, clipped, -1)
        if missing == "error" and (positions < 0).any():
            first = str(raw[positions < 0][0])
            raise UnknownIdError(f"unknown {self.entity} id {first!r}: it is not in the data.")
        return np.where(positions >= 0, positions + 1, -1).astype(np.int32)

    def decode(self, codes: ArrayLike) -> NDArray[np.str_]:
        """The string ids of ``codes`` (``1 .. len``), shape ``(n,)``."""
        array = np.asarray(codes, dtype=np.int64).ravel()
        if array.size and (array.min() < 1 or array.max() > len(self.labels)):
            bad = array[(array < 1) | (array > len(self.labels))][0]
            raise UnknownIdError(f"{self.entity} code {int(bad)} has no string id.")
        return self.labels[array - 1]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IdLabels)
            and self.entity == other.entity
            and np.array_equal(self.labels, other.labels)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"IdLabels({len(self)} {self.entity} ids)"


@dataclass(frozen=True)
class IdMaps:
    """The string-id tables of a dataset: ``users`` and ``movies`` (``None``: integer ids).

    Examples
    --------
    >>> ids = IdMaps(users=IdLabels(["ann", "bob"], entity="user"))
    >>> ids.user_code("bob"), ids.movie_code("42"), ids.show_user(1), ids.show_movie(42)
    (2, 42, 'ann', 42)
    """

    users: IdLabels | None = None
    movies: IdLabels | None = None

    @property
    def empty(self) -> bool:
        """``True`` when both entities have integer ids."""
        return self.users is None and self.movies is None

    def user_code(self, text: str | int) -> int:
        """The internal id of a user given as typed (a string id or an integer)."""
        return _code(self.users, text, "user")

    def movie_code(self, text: str | int) -> int:
        """The internal id of a movie given as typed (a string id or an integer)."""
        return _code(self.movies, text, "movie")

    def show_user(self, code: int) -> str | int:
        """What to print for an internal user id (its string, or the integer)."""
        return _show(self.users, code)

    def show_movie(self, code: int) -> str | int:
        """What to print for an internal movie id (its string, or the integer)."""
        return _show(self.movies, code)

    def decode_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` whose ``user_id``/``movie_id`` columns hold the strings."""
        out = frame.copy()
        for column, labels in (("user_id", self.users), ("movie_id", self.movies)):
            if labels is not None and column in out.columns:
                out[column] = labels.decode(out[column].to_numpy())
        return out

    def arrays(self) -> dict[str, NDArray[np.str_]]:
        """The tables as arrays for ``np.savez`` (``user_labels``, ``movie_labels``)."""
        found = {}
        if self.users is not None:
            found["user_labels"] = self.users.labels
        if self.movies is not None:
            found["movie_labels"] = self.movies.labels
        return found

    @classmethod
    def from_arrays(cls, arrays: dict[str, ArrayLike]) -> IdMaps:
        """Inverse of :meth:`arrays`."""
        users = arrays.get("user_labels")
        movies = arrays.get("movie_labels")
        return cls(
            users=None if users is None else IdLabels(users, entity="user"),
            movies=None if movies is None else IdLabels(movies, entity="movie"),
        )


def _code(labels: IdLabels | None, text: str | int, entity: str) -> int:
    if labels is not None:
        return int(labels.encode([str(text).strip()])[0])
    try:
        return int(str(text).strip())
    except ValueError:
        raise UnknownIdError(
            f"{entity} id {str(text)!r} is not an integer, and this data's {entity} ids "
            "are integers."
        ) from None


def _show(labels: IdLabels | None, code: int) -> str | int:
    return int(code) if labels is None else str(labels.decode([code])[0])


def empty_ids(values: pd.Series) -> tuple[int, int] | None:
    """Where ids are missing or blank: ``(first row, how many)``, or ``None``.

    >>> import pandas as pd
    >>> empty_ids(pd.Series(["a", " ", None])), empty_ids(pd.Series(["a"]))
    ((1, 2), None)
    """
    empty = (values.isna() | (values.astype(str).str.strip() == "")).to_numpy()
    if not empty.any():
        return None
    return int(np.flatnonzero(empty)[0]), int(empty.sum())


def encode_ids(frame: pd.DataFrame) -> tuple[pd.DataFrame, IdMaps]:
    """Replace string ``user_id``/``movie_id`` columns by codes; integer ones are kept.

    Parameters
    ----------
    frame : shape (n, k), with ``user_id`` and ``movie_id`` columns.

    Returns
    -------
    frame : a copy whose id columns are int32 (the same object when nothing changed).
    ids : the string tables (:class:`IdMaps`; empty when both columns were integers).

    Raises
    ------
    DataError
        If a string id is missing or empty.
    """
    tables: dict[str, IdLabels] = {}
    columns: dict[str, NDArray[np.int32]] = {}
    for column, entity in (("user_id", "user"), ("movie_id", "movie")):
        if frame[column].dtype.kind in "iu":
            continue
        labels, codes = IdLabels.from_values(frame[column].to_numpy(), entity=entity)
        tables[entity], columns[column] = labels, codes
    if not columns:
        return frame, IdMaps()
    out = frame.copy()
    for column, codes in columns.items():
        out[column] = codes
    return out, IdMaps(users=tables.get("user"), movies=tables.get("movie"))
