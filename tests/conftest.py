"""Shared fixtures: where the real data of ``../shared/data`` lives, and temp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.paths import shared_data_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; skips the test with a reason when it is absent."""
    found = shared_data_dir(REPO)
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
