"""TMDB's "popular movies" pages, with genre names (the seed's "top movies" pull)."""

from __future__ import annotations

import pandas as pd

from recsys.errors import InvalidParameterError
from recsys.metadata.client import TMDBClient
from recsys.metadata.genres import genre_names, to_movielens_genres
from recsys.metadata.store import MetadataStore
from recsys.progress import Progress

__all__ = ["MAX_POPULAR_PAGES", "fetch_popular"]

#: TMDB serves at most 500 pages of a list.
MAX_POPULAR_PAGES = 500


def fetch_popular(
    client: TMDBClient, store: MetadataStore, pages: int, *, progress: bool = True
) -> pd.DataFrame:
    """Fetch pages ``1..pages`` of popular movies into ``store``; return them by rank.

    The genre list is fetched first (10769 "Foreign" added) and stored, so the frame
    can name every genre id. Each page is committed as it arrives. A movie on two pages
    (the list shifts while it is read) keeps its best rank.

    Returns
    -------
    DataFrame with ``rank, tmdb_id, title, release_date, popularity, vote_average,
    genre_ids, tmdb_genres, movielens_genres`` (one row per movie, by rank).

    Raises
    ------
    DataError
        If ``pages`` is not in 1..500.
    """
    if not 1 <= int(pages) <= MAX_POPULAR_PAGES:
        raise InvalidParameterError(
            "pages", f"pages must be between 1 and {MAX_POPULAR_PAGES}; received {pages}."
        )
    lookup = client.genre_list()
    store.set_genres(lookup)
    seen: set[int] = set()
    rank = 0
    with Progress(int(pages), "popular pages", enabled=progress) as bar:
        for page in range(1, int(pages) + 1):
            results = client.popular(page).get("results") or []
            records = []
            for item in results:
                rank += 1
                if item.get("id") is None or int(item["id"]) in seen:
                    continue
                seen.add(int(item["id"]))
                records.append(
                    {
                        **item,
                        "tmdb_id": int(item["id"]),
                        "rank": rank,
                        "page": page,
                        "genre_ids": list(item.get("genre_ids") or ()),
                    }
                )
            store.upsert_popular(records)
            bar.advance()
            if not results:
                break
    frame = store.popular_frame()
    frame = frame[frame["tmdb_id"].isin(seen)].reset_index(drop=True)
    frame["tmdb_genres"] = [genre_names(ids, lookup) for ids in frame["genre_ids"]]
    frame["movielens_genres"] = [to_movielens_genres(n) for n in frame["tmdb_genres"]]
    return frame[
        [
            "rank",
            "tmdb_id",
            "title",
            "release_date",
            "popularity",
            "vote_average",
            "genre_ids",
            "tmdb_genres",
            "movielens_genres",
        ]
    ]
