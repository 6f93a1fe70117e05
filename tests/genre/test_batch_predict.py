"""``genre predict --input FILE --out FILE``: every row scored, by a text model from a
text column and by a fused model from movie ids, with one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genre.cli import main
from genre.text.classifier import GenreTextClassifier
from recsys.cli import main as recsys_main
from tests.genre.conftest import write_metadata_csv

FAST = ["--alpha", "0.1", "--min-df", "1", "--ngram-max", "1", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, movielens):
    root = tmp_path_factory.mktemp("batch")
    csv = write_metadata_csv(root / "meta.csv", movielens)
    dataset = root / "ds"
    argv = ["dataset", "--metadata", str(csv), "--min-genre-fraction", "0.1", "--out"]
    assert main([*argv, str(dataset)]) == 0
    model = root / "nb"
    argv = ["train", "--dataset", str(dataset), "--model", "nb", *FAST, "--out", str(model)]
    assert main(argv) == 0
    return root, csv, dataset, model


def test_text_model_scores_every_row(trained, tmp_path: Path, capsys) -> None:
    _, _, _, model_dir = trained
    texts = ["love wedding heart", "", "alien space robot", "explosion chase fight"]
    pd.DataFrame({"movieId": [1, 2, 3, 4], "overview": texts}).to_csv(
        tmp_path / "in.csv", index=False
    )
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert main(["predict", "--model", str(model_dir), "--input", str(tmp_path / "in.csv"),
                 "--out", str(out)]) == 0  # fmt: skip
    assert "scored 4 rows (1 with nothing to score" in capsys.readouterr().out
    table = pd.read_csv(out, keep_default_na=False)
    model = GenreTextClassifier.load(model_dir)
    columns = [f"score_{g}" for g in model.genres_]
    assert table.columns.tolist() == ["movieId", *columns, "genres", "top_genre"]
    assert table["movieId"].tolist() == [1, 2, 3, 4]
    kept = [0, 2, 3]
    expected = model.scores([texts[i] for i in kept])
    got = table.loc[kept, columns].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert table.loc[1, "genres"] == "" and table.loc[1, "top_genre"] == ""
    labels = model.predict([texts[i] for i in kept])
    for row, flags in zip(kept, labels, strict=True):
        chosen = [g for g, f in zip(model.genres_, flags, strict=True) if f]
        assert table.loc[row, "genres"] == "|".join(chosen)
    assert table.loc[0, "top_genre"] == "Romance"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "OUT"], "one of the arguments --movie --text --poster --input is required"),
        (["--input", "IN"], "--input and --out go together"),
        (["--input", "IN", "--out", "OUT", "--text-column", "plot"], "'plot' is not a column"),
        (["--text", "love", "--id-column", "x"], "apply to --input FILE"),
        (["--input", "IN", "--out", "OUT", "--poster-column", "p"], "applies to poster-cnn"),
    ],
)
def test_bad_batch_input_is_one_line(trained, tmp_path: Path, capsys, extra, message) -> None:
    _, _, _, model_dir = trained
    pd.DataFrame({"overview": ["love"]}).to_csv(tmp_path / "in.csv", index=False)
    argv = [a.replace("IN", str(tmp_path / "in.csv")).replace("OUT", str(tmp_path / "o.csv"))
            for a in extra]  # fmt: skip
    capsys.readouterr()
    try:
        code = main(["predict", "--model", str(model_dir), *argv])
    except SystemExit as stop:
        code = int(stop.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.slow
def test_fused_model_scores_ids(trained, tmp_path: Path, capsys) -> None:
    root, csv, dataset, _ = trained
    features = root / "features"
    assert recsys_main(["features", "build", "--blocks", "overview_w2v", "--metadata", str(csv),
                        "--word-vectors", "train", "--w2v-dim", "16", "--w2v-min-count", "1",
                        "--w2v-epochs", "5", "--quiet", "--out", str(features)]) == 0  # fmt: skip
    model = root / "mlp"
    assert main(["train", "--dataset", str(dataset), "--features", str(features), "--blocks",
                 "overview_w2v", "--model", "mlp", "--epochs", "3", "--quiet",
                 "--out", str(model)]) == 0  # fmt: skip
    ids = [*pd.read_csv(csv)["movieId"].head(5).tolist(), 99999999]
    pd.DataFrame({"movie_id": ids}).to_csv(tmp_path / "ids.csv", index=False)
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--input", str(tmp_path / "ids.csv"),
                 "--out", str(out)]) == 0  # fmt: skip
    assert "scored 6 rows (1 with nothing to score" in capsys.readouterr().out
    table = pd.read_csv(out, keep_default_na=False)
    assert table["movie_id"].tolist() == ids
    assert table.loc[5, "genres"] == "" and table.loc[0, "top_genre"] != ""
    scores = table.filter(like="score_").iloc[:5].to_numpy(dtype=float)
    assert np.all((scores >= 0) & (scores <= 1))
