"""``genre blocks``: the blocks fitted on a labelled set's training part, added to a feature
store, then trained on, saved and predicted with; refused for another labelled set."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from genre.cli import main
from genre.fusion.split_blocks import FINGERPRINT_KEY, SPLIT_BLOCKS
from recsys.features import FeatureStore
from tests.genre.test_fusion_cli import NET, _fails, inputs  # noqa: F401  (fixture)

# The fixture builds a feature store (Word2Vec, poster CNN) and runs genre blocks: > 4 s.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def with_split_blocks(inputs, tmp_path_factory):  # noqa: F811
    dataset, features = inputs
    store = tmp_path_factory.mktemp("blocks") / "features"
    shutil.copytree(features, store)
    assert main(["blocks", "--dataset", str(dataset), "--features", str(store)]) == 0
    return dataset, store


def test_genre_blocks_adds_every_block(with_split_blocks, capsys):
    _, store = with_split_blocks
    opened = FeatureStore(store)
    assert set(SPLIT_BLOCKS) <= set(opened.names)
    assert {"overview_w2v", "poster"} <= set(opened.names)  # the store's blocks are kept
    fingerprints = {opened[n].provenance[FINGERPRINT_KEY] for n in SPLIT_BLOCKS}
    assert len(fingerprints) == 1
    scores = opened["text_scores"]
    assert scores.provenance["training_labels"] == "out_of_fold"
    assert np.isfinite(scores.values).all() and scores.dim > 1


def test_fused_model_on_split_blocks_trains_saves_and_predicts(with_split_blocks, tmp_path, capsys):
    dataset, store = with_split_blocks
    model = tmp_path / "fused"
    blocks = "text_scores,tfidf_svd,metadata,tags,overview_w2v"
    argv = ["train", "--model", "fusion", "--dataset", str(dataset), "--features", str(store)]
    assert main([*argv, "--blocks", blocks, "--second-stage", *NET, "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--movie", "1"]) == 0
    assert capsys.readouterr().out.strip()
    # another labelled set (another split seed): the blocks' training part is not its own
    other = tmp_path / "ds-seed-3"
    source = (dataset / "manifest.json").read_text()
    assert '"metadata"' in source
    import json

    metadata = json.loads(source)["sources"]["metadata"]
    assert (
        main(
            [
                "dataset",
                "--metadata",
                metadata,
                "--min-genre-fraction",
                "0.1",
                "--seed",
                "3",
                "--out",
                str(other),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code = main(
        [
            "train",
            "--model",
            "fusion",
            "--dataset",
            str(other),
            "--features",
            str(store),
            "--blocks",
            "text_scores",
            *NET,
            "--out",
            str(tmp_path / "x"),
        ]
    )
    err = capsys.readouterr().err
    assert code != 0 and "another labelled set" in err, err
    assert not (tmp_path / "x").exists()


def test_genre_blocks_bad_input(with_split_blocks, capsys):
    dataset, store = with_split_blocks
    _fails(
        capsys,
        ["blocks", "--dataset", str(dataset), "--features", str(store), "--blocks", "genres"],
        "unknown block 'genres'",
    )
    _fails(
        capsys,
        ["blocks", "--dataset", str(dataset), "--features", str(store), "--blocks", " , "],
        "--blocks is empty",
    )
