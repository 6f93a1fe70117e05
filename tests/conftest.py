"""Shared fixtures: where the real data of ``../shared/data`` lives, and temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``$RECSYS_SHARED_DATA`` or ``../shared/data`` next to the repository, if present."""
    env = os.environ.get("RECSYS_SHARED_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (candidate / "ml-latest-small").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; skips the test with a reason when it is absent."""
    found = shared_data_dir()
    if found is None:
        pytest.skip(
            "needs ../shared/data (or $RECSYS_SHARED_DATA): TMDB overviews, posters "
            "and word vectors are not shipped with the package"
        )
    return found


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test's downloads and caches out of the user's real cache."""
    monkeypatch.setenv("RECSYS_DATA", str(tmp_path_factory.mktemp("recsys-cache")))
