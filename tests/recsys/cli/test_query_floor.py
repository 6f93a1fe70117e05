"""The data-chosen rating floor of recommend and similar, and clipped scores shown with
the raw scores that order them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.cli import main
from recsys.models.rating_model import RatingModel

from .helpers import invoke

pytestmark = pytest.mark.slow  # trains a model (15 s)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("floor") / "m"
    assert main(["train", "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    return out


def _counts(model: RatingModel) -> dict[int, int]:
    ids = model.movie_vocab_.to_ids(model.seen_.movies)
    values, counts = np.unique(ids, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def test_floor_is_the_80_percent_rule(model_dir: Path) -> None:
    model = RatingModel.load(model_dir)
    counts = np.array(sorted(_counts(model).values(), reverse=True))
    held = np.cumsum(counts) / counts.sum()
    expected = counts[np.argmax(held >= 0.8)]
    assert model.rating_floor() == expected
    assert model.rating_floor(share=1.0) == counts.min()


def test_similar_respects_the_floor(model_dir: Path) -> None:
    model = RatingModel.load(model_dir)
    counts = _counts(model)
    floor = model.rating_floor()
    near = model.similar_movies(260, k=50, min_ratings=floor)
    assert len(near) == 50 and all(counts[m] >= floor for m in near["movie_id"])
    anything = model.similar_movies(260, k=50)
    assert any(counts.get(m, 0) < floor for m in anything["movie_id"])


def test_recommend_cli_default_floor_and_raw_scores(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = RatingModel.load(model_dir)
    floor = model.rating_floor()
    code, out, err = invoke(main, ["recommend", "--model", str(model_dir), "--user", "1",
                                   "-k", "8", "--json"], capsys)  # fmt: skip
    assert code == 0, err
    import json

    rows = json.loads(out)
    counts = _counts(model)
    assert all(counts[r["movie_id"]] >= floor for r in rows)
    assert [r["movie_id"] for r in rows] == model.recommend(1, 8, min_ratings=floor)[
        "movie_id"
    ].tolist()
    frame = model.recommend(1, 8, min_ratings=0)  # the order follows the raw scores
    assert frame["raw_score"].tolist() == sorted(frame["raw_score"], reverse=True)
    np.testing.assert_allclose(frame["score"], np.clip(frame["raw_score"], *model.rating_scale_))
    code, out, _ = invoke(main, ["recommend", "--model", str(model_dir), "--user", "1",
                                 "--min-ratings", "0"], capsys)  # fmt: skip
    assert code == 0 and "with at least" not in out.splitlines()[0]
    code, _, err = invoke(main, ["similar", "--model", str(model_dir), "--movie", "260",
                                 "--min-ratings", "x"], capsys)  # fmt: skip
    assert code == 2 and "is not a count or auto" in err
