"""The report directory: files, self-contained HTML, determinism, atomic replacement."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.analysis import analyze_model, write_report
from recsys.analysis.movie_analysis import MovieAnalysis
from recsys.analysis.report import default_scatter_pairs
from recsys.errors import DataError
from recsys.models.rating_model import RatingModel

from .conftest import KINDS

PNGS = {"explained_variance.png", "pc1_pc2.png", "pc1_pc3.png"}
BIAS_PNGS = {"bias_distribution.png", "bias_vs_mean.png"}


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def reports(
    models: dict[str, RatingModel], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[MovieAnalysis, Path]]:
    """One report per model kind (rendering plots takes a second or two each)."""
    root = tmp_path_factory.mktemp("reports")
    written = {}
    for kind, model in models.items():
        analysis = analyze_model(model, n=5)
        written[kind] = (analysis, write_report(analysis, root / kind))
    return written


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_a_complete_report(
    reports: dict[str, tuple[MovieAnalysis, Path]], kind: str
) -> None:
    analysis, out = reports[kind]
    expected = {"movies.csv", "crosstab.csv", "analysis.json", "report.html"} | PNGS
    if kind == "bias":
        expected |= BIAS_PNGS
    assert set(_files(out)) == expected

    movies = pd.read_csv(out / "movies.csv")
    assert list(movies.columns) == [
        "movie_id",
        "title",
        "year",
        "genres",
        "n_ratings",
        "mean_rating",
        "bias",
        "pc1",
        "pc2",
        "pc3",
    ]
    assert len(movies) == 40 and movies["bias"].isna().all() == (kind != "bias")
    assert movies["genres"].iloc[0] in ("Drama", "Action")
    np.testing.assert_allclose(movies["pc1"], analysis.movies["pc1"], rtol=1e-5, atol=1e-6)

    crosstab = pd.read_csv(out / "crosstab.csv", index_col="user_id")
    np.testing.assert_array_equal(crosstab.columns.astype(int), analysis.crosstab.columns)
    np.testing.assert_allclose(crosstab.to_numpy(), analysis.crosstab.to_numpy())
    assert json.loads((out / "analysis.json").read_text()) == json.loads(
        json.dumps(analysis.to_dict())
    )

    page = (out / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(expected) - 4  # every PNG embedded
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert analysis.components[0].contrast.suggested_name in page
    assert ("no movie bias term" in page) == (kind != "bias")
    links = set(re.findall(r'<a href="([^"]*)">', page))
    assert links == expected - {"report.html"}  # the file list links to every file
    assert all((out / link).is_file() for link in links)
    assert '<div class="scroll"><table class="crosstab">' in page  # scrolls in its box


def test_same_model_same_report(
    reports: dict[str, tuple[MovieAnalysis, Path]], model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    # the saved and reloaded model gives the same bytes as the one in memory
    model = RatingModel.load(str(model_dirs["bias"]))
    again = write_report(analyze_model(model, n=5), tmp_path / "again")
    assert _files(again) == _files(reports["bias"][1])


def test_scatter_pairs(models: dict[str, RatingModel], tmp_path: Path) -> None:
    analysis = analyze_model(models["dot"], n_components=4)
    out = write_report(analysis, tmp_path / "r", scatter_pairs=[(2, 4), (3, 1)])
    assert {"pc2_pc4.png", "pc3_pc1.png"} <= set(_files(out))
    assert "pc1_pc2.png" not in _files(out)
    with pytest.raises(DataError, match="from 1 to 4"):
        write_report(analysis, tmp_path / "bad", scatter_pairs=[(1, 5)])
    assert not (tmp_path / "bad").exists()
    assert default_scatter_pairs(1) == [] and default_scatter_pairs(2) == [(1, 2)]
    assert default_scatter_pairs(5) == [(1, 2), (1, 3)]


def test_refuses_to_replace_a_directory_that_is_not_a_report(
    reports: dict[str, tuple[MovieAnalysis, Path]], model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    analysis, original = reports["bias"]
    before = _files(model_dirs["bias"])
    with pytest.raises(DataError, match="is not a previous report"):
        write_report(analysis, model_dirs["bias"])
    assert _files(model_dirs["bias"]) == before
    # an old report is replaced as a whole
    out = tmp_path / "report"
    shutil.copytree(original, out)
    (out / "stale.txt").write_text("from an older run")
    write_report(analysis, out)
    assert _files(out) == _files(original)


def test_failure_while_writing_leaves_nothing_behind(
    reports: dict[str, tuple[MovieAnalysis, Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysis, original = reports["dot"]
    old = shutil.copytree(original, tmp_path / "report")

    def broken(self: MovieAnalysis) -> dict:
        raise OSError("disk full")

    monkeypatch.setattr(MovieAnalysis, "to_dict", broken)  # fails after movies.csv is written
    with pytest.raises(OSError, match="disk full"):
        write_report(analysis, old)
    assert _files(old) == _files(original)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temporary left
