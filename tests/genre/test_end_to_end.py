"""End to end on the real ml-latest-small movies with TMDB overviews (../shared/data)."""

from __future__ import annotations

import json

import pytest

from genre.cli import main

pytestmark = pytest.mark.shared_data


def test_real_overviews_dataset_and_naive_bayes(shared_data, tmp_path, capsys):
    csv = shared_data / "tmdb-overviews" / "movies_enriched.csv"
    data = tmp_path / "ds"
    assert main(["dataset", "--metadata", str(csv), "--out", str(data)]) == 0
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["n_movies"] > 9000
    assert "Documentary" in manifest["dropped_genres"]  # 4.4% < 5%
    assert {"Drama", "Comedy", "Mystery"} <= set(manifest["genres"])
    for split in ("train", "val", "test"):
        assert min(manifest["genre_counts"][split].values()) > 0

    model = tmp_path / "nb"
    assert (
        main(
            [
                "train",
                "--dataset",
                str(data),
                "--model",
                "nb",
                "--alpha",
                "0.1",
                "--min-df",
                "5",
                "--ngram-max",
                "1",
                "--quiet",
                "--out",
                str(model),
            ]
        )
        == 0
    )
    metrics = json.loads((model / "metrics.json").read_text())
    prior = metrics["benchmarks"]["prior"]
    assert metrics["n_test"] == manifest["counts"]["test"]
    assert metrics["mean_roc_auc"] > 0.75 > prior["mean_roc_auc"]
    assert metrics["micro_f1"] > prior["micro_f1"] + 0.15
    assert metrics["macro_f1"] > prior["macro_f1"] + 0.15
    assert metrics["top1_accuracy"] > prior["top1_accuracy"]
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--movie", "1"]) == 0
    assert "Toy Story" in capsys.readouterr().out
