"""One door in for movie metadata: a store file or a metadata CSV, as a DataFrame."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from recsys.errors import DataError
from recsys.metadata.frame import join_movies
from recsys.metadata.importer import read_metadata_csv
from recsys.metadata.store import MetadataStore, default_store_path, is_sqlite_file

__all__ = ["load_metadata"]


def load_metadata(
    path: str | os.PathLike[str] | None = None,
    *,
    movies: pd.DataFrame | None = None,
    links: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Movie metadata as the canonical frame (see :mod:`recsys.metadata.frame`).

    Parameters
    ----------
    path : a metadata store (SQLite, as written by ``recsys metadata fetch/import``) or
        a metadata CSV (``movies_enriched.csv`` layout, or ``recsys metadata export``
        output, or TMDB's export layout: ``id`` = TMDB id, see
        :mod:`recsys.metadata.tmdb_export`). Default: the store at
        :func:`default_store_path`.
    movies : a MovieLens movies frame; when given, the result has exactly one row per
        movie of it, in its order (``status`` ``"pending"`` where nothing is known).
    links : a links table (``movie_id``, ``tmdb_id``) matching the TMDB ids of a CSV in
        TMDB's export layout to MovieLens movies (needed for that layout only; TMDB ids
        it does not list are left out: this frame is keyed by MovieLens movie id).

    Returns
    -------
    DataFrame of shape (n_movies, 24), one row per movie, keyed by ``movie_id``.

    Raises
    ------
    DataError
        If ``path`` does not exist or is neither a store nor a metadata CSV, or is
        TMDB's export layout without ``links`` (see
        :func:`recsys.metadata.read_metadata_csv`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> csv = Path(tempfile.mkdtemp()) / "movies_enriched.csv"
    >>> _ = csv.write_text("movieId,title,genres,tmdbId\\n1,Toy Story (1995),"
    ...                    "Adventure|Animation|Children|Comedy|Fantasy,862\\n")
    >>> meta = load_metadata(csv)
    >>> [int(meta.loc[0, "movie_id"]), int(meta.loc[0, "tmdb_id"])], meta.loc[0, "movielens_genres"]
    ([1, 862], ('Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy'))
    """
    file = Path(path).expanduser() if path is not None else default_store_path()
    if not file.is_file():
        raise DataError(
            f"no metadata at {str(file)!r}: give a store made by 'recsys "
            "metadata fetch' / 'recsys metadata import', or a metadata CSV."
        )
    if is_sqlite_file(file):
        with MetadataStore(file, readonly=True) as store:
            frame = store.to_frame()
    else:
        frame = read_metadata_csv(file, links=links)
    return join_movies(movies, frame) if movies is not None else frame
