"""Every tutorial notebook runs top to bottom in quick mode (``RECSYS_QUICK=1``)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NEEDS_SHARED_DATA = {"04_genres_classical", "05_genres_fused"}


@pytest.fixture(autouse=True)
def _kernel_imports_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel imports the packages from this checkout (installed or not)."""
    import os

    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    )


def execute(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch, request) -> None:
    if path.stem in NEEDS_SHARED_DATA:
        request.getfixturevalue("shared_data")
    monkeypatch.setenv("RECSYS_QUICK", "1")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    execute(path)


def test_notebooks_are_stored_without_outputs() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.slow
def test_metadata_notebook_online_cells_against_a_local_tmdb(
    monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    """The cells marked as needing a TMDB key run against a TMDB look-alike."""
    from recsys.data import load_dataset
    from tests.recsys.metadata.fake_tmdb import FakeTMDB, make_movie

    links = load_dataset().movies["tmdb_id"].dropna().astype(int).tolist()[:40]
    with FakeTMDB("k3y-for-tests", [make_movie(t) for t in links]) as server:
        monkeypatch.setenv("RECSYS_QUICK", "1")
        monkeypatch.setenv("TMDB_API_KEY", "k3y-for-tests")
        monkeypatch.setenv("TMDB_API_BASE", server.api_base)
        monkeypatch.setenv("TMDB_IMAGE_BASE", server.image_base)
        notebook = execute(NOTEBOOKS / "03_movie_metadata.ipynb")
    text = printed(notebook)
    assert "TMDB API key: found" in text and "skipped: set TMDB_API_KEY" not in text
    assert "k3y-for-tests" not in text
    assert server.count("/3/movie/popular") >= 1
    assert server.count(f"/3/movie/{links[0]}") == 1
