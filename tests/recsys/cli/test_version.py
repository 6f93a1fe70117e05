"""``recsys --version`` and ``genre --version``: the installed package's version."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from genre.cli import main as genre_main
from recsys.cli import main as recsys_main

from .helpers import invoke


@pytest.mark.parametrize(("name", "main"), [("recsys", recsys_main), ("genre", genre_main)])
def test_version(name: str, main, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(main, ["--version"], capsys)
    assert code == 0, err
    assert out.strip() == f"{name} {version('movie-embeddings')}"
