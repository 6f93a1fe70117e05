"""Finding a TMDB id from a MovieLens title, for the few movies ``links.csv`` leaves out.

MovieLens titles are ``"Matrix, The (1999)"`` or ``"City of Lost Children, The (Cité
des enfants perdus, La) (1995)"``; TMDB's search wants ``"The Matrix"`` and a year.
A match is accepted only when TMDB's release year equals the MovieLens year, so a
search never attaches a different film of the same name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from recsys.data.schema import parse_year

__all__ = ["pick_match", "search_query"]

_YEAR = re.compile(r"\s*\(\d{4}(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
_ALTERNATE = re.compile(r"\s*\([^()]*\)\s*$")
_ARTICLE = re.compile(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Die|Der|Das|El|Los|Las)$", re.IGNORECASE)


def search_query(title: str) -> tuple[str, int | None]:
    """The search text and year for a MovieLens title.

    Examples
    --------
    >>> search_query("Matrix, The (1999)")
    ('The Matrix', 1999)
    >>> search_query("City of Lost Children, The (Cité des enfants perdus, La) (1995)")
    ('The City of Lost Children', 1995)
    >>> search_query("Babylon 5")
    ('Babylon 5', None)
    """
    year = parse_year(title)
    text = _YEAR.sub("", title or "").strip()
    text = _ALTERNATE.sub("", text).strip() or text
    match = _ARTICLE.match(text)
    if match:
        article = match.group(2)
        text = f"{article}{'' if article.endswith(chr(39)) else ' '}{match.group(1)}"
    return text, year


def pick_match(results: Sequence[Mapping[str, Any]], year: int | None) -> int | None:
    """The TMDB id of the first search result released in ``year`` (``None`` if none).

    Without a year nothing is accepted: a bare title is too ambiguous.

    >>> pick_match([{"id": 1, "release_date": "2003-05-01"},
    ...             {"id": 603, "release_date": "1999-03-30"}], 1999)
    603
    """
    if year is None:
        return None
    for result in results:
        date = str(result.get("release_date") or "")
        if date[:4] == str(year) and result.get("id") is not None:
            return int(result["id"])
    return None
