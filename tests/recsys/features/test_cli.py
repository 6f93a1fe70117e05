"""``recsys features build/info`` end to end, and bad input (one line, exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys.cli import main
from recsys.features import FeatureStore
from tests.conftest import REPO
from tests.recsys.cli.helpers import assert_one_line_error, invoke


def build(store: Path, *args: str, quiet: bool = True) -> list[str]:
    return ["features", "build", *(["--quiet"] if quiet else []), "--out", str(store), *args]


def test_build_every_block_and_info(
    tmp_path, rating_model_dir, metadata_store, word_vectors_file, capsys
) -> None:
    out = tmp_path / "features"
    code, printed, err = invoke(
        main,
        build(
            out,
            "--blocks",
            "embedding,pca,poster,overview_w2v,genres",
            "--model",
            str(rating_model_dir),
            "--pca-components",
            "4",
            "--metadata",
            str(metadata_store),
            "--cnn-weights",
            "none",
            "--image-size",
            "32",
            "--word-vectors",
            str(word_vectors_file),
            quiet=False,
        ),
        capsys,
    )
    assert code == 0, err
    assert "skipped movie 104: not a decodable image" in printed
    assert "skipped movie 106: missing file" in printed
    assert "4/8 texts got a vector" in printed  # 104: no known word; 105-107: no tokens
    store = FeatureStore(out)
    assert store.names == ["embedding", "pca", "poster", "overview_w2v", "genres"]
    poster = store["poster"]
    # 100..103 decode; 104 corrupt, 105 truncated, 106 missing; 107 has no poster file
    assert poster.movie_ids.tolist() == [100, 101, 102, 103, 104, 105, 106]
    assert poster.mask.tolist() == [True] * 4 + [False] * 3
    assert poster.dim == 512 and store["pca"].dim == 4 and store["embedding"].dim == 7
    text = store["overview_w2v"]
    assert text.aligned([100, 104, 105, 107])[1].tolist() == [True, False, False, False]
    assert text.provenance["n_no_known_token"] == 1

    code, printed, _ = invoke(main, ["features", "info", str(out)], capsys)
    assert code == 0
    lines = {line.split()[0]: line.split() for line in printed.splitlines()[2:]}
    assert lines["poster"][1:4] == ["512", "7", "4"]
    assert "random-glorot-seed0" in printed and "vectors.txt" in printed
    code, printed, _ = invoke(main, ["features", "info", str(out), "--json"], capsys)
    manifest = json.loads(printed)
    assert manifest["blocks"]["pca"]["provenance"]["n_components"] == 4

    # rebuilding one block replaces it and keeps the others; the cache serves posters
    code, printed, err = invoke(
        main,
        build(
            out,
            "--blocks",
            "poster",
            "--metadata",
            str(metadata_store),
            "--cnn-weights",
            "none",
            "--image-size",
            "32",
            quiet=False,
        ),
        capsys,
    )
    assert code == 0, err
    assert "0 computed, 4 from the cache" in printed
    again = FeatureStore(out)
    assert again.names == store.names
    np.testing.assert_array_equal(again["poster"].values, poster.values)


def test_posters_folder_and_trained_word2vec(tmp_path, poster_dir, metadata_store, capsys) -> None:
    out = tmp_path / "features"
    code, _, err = invoke(
        main,
        build(
            out,
            "--blocks",
            "poster,overview_w2v",
            "--posters",
            str(poster_dir),
            "--metadata",
            str(metadata_store),
            "--cnn-weights",
            "none",
            "--image-size",
            "32",
            "--word-vectors",
            "train",
            "--w2v-dim",
            "5",
            "--w2v-min-count",
            "1",
        ),
        capsys,
    )
    assert code == 0, err
    store = FeatureStore(out)
    assert store["overview_w2v"].dim == 5
    assert store["overview_w2v"].provenance["word_vectors"] == "trained"
    assert store["poster"].coverage == 4


def test_build_warns_about_a_model_fitted_with_side_features(
    tmp_path, side_model_dir, rating_model_dir, capsys
) -> None:
    code, _, err = invoke(
        main,
        build(
            tmp_path / "plain",
            "--blocks",
            "embedding,pca",
            "--pca-components",
            "2",
            "--model",
            str(rating_model_dir),
        ),
        capsys,
    )
    assert code == 0 and "side features" not in err, err
    code, _, err = invoke(
        main,
        build(
            tmp_path / "side",
            "--blocks",
            "embedding,pca",
            "--pca-components",
            "2",
            "--model",
            str(side_model_dir),
        ),
        capsys,
    )
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err  # one warning for both blocks
    assert "warning" in lines[0] and "fitted with side features (genres)" in lines[0]
    manifest = FeatureStore(tmp_path / "side").describe()
    for name in ("embedding", "pca"):
        side = manifest["blocks"][name]["provenance"]["side_features"]
        assert [b["name"] for b in side] == ["genres"]
    code, printed, _ = invoke(main, ["features", "info", str(tmp_path / "side")], capsys)
    assert "side features genres" in printed


def test_console_entry_point_one_line(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recsys", "features", "info", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a feature store" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--blocks", "embedding,tfidf"], "unknown block 'tfidf'"),
        (["--blocks", ","], "--blocks is empty"),
        (["--blocks", "pca"], "need --model DIR"),
        (["--blocks", "poster"], "needs --metadata STORE (with posters) or --posters DIR"),
        (["--blocks", "overview_w2v", "--metadata", "{meta}"], "needs --word-vectors"),
        (
            [
                "--blocks",
                "overview_w2v",
                "--metadata",
                "{meta}",
                "--word-vectors",
                "{tmp}/GoogleNews-vectors-negative300.bin",
            ],
            "no such file",
        ),
        (
            ["--blocks", "overview_w2v", "--metadata", "{meta}", "--word-vectors", "{bad}"],
            "not a text word2vec-format file",
        ),
        (["--blocks", "embedding", "--model", "{tmp}"], "is not a recsys model directory"),
        (["--blocks", "embedding", "--model", "{tmp}/none"], "--model '"),
        (
            ["--blocks", "overview_w2v", "--metadata", "{meta}", "--word-vectors", "{tmp}"],
            "--word-vectors '",
        ),
        (
            ["--blocks", "overview_w2v", "--metadata", "{meta}", "--word-vectors", "{trunc}"],
            "damaged word2vec text file",
        ),
        (
            ["--blocks", "poster", "--metadata", "{meta}", "--cnn-weights", "{tmp}/vgg.h5"],
            "does not exist",
        ),
        (["--blocks", "poster", "--posters", "{tmp}/none"], "not a folder"),
        (
            [
                "--blocks",
                "poster",
                "--metadata",
                "{meta}",
                "--cnn-weights",
                "none",
                "--image-size",
                "20",
            ],
            "at least 32",
        ),
        (["--blocks", "pca", "--model", "{model}", "--pca-components", "0"], "expected a number"),
        (["--blocks", "pca", "--model", "{model}", "--pca-components", "9"], "between 1 and 6"),
        (["--blocks", "poster", "--metadata", "{csv}"], "no poster files"),
        (
            ["--blocks", "poster", "--metadata", "{meta}", "--backend", "theano"],
            "unknown backend 'theano'",
        ),
    ],
)
def test_bad_input(args, fragment, tmp_path, metadata_store, rating_model_dir, capsys) -> None:
    bad = tmp_path / "glove.txt"
    bad.write_text("space 1 0 0\nlove 0 1 0\n")  # GloVe without the word2vec header
    trunc = tmp_path / "truncated.txt"
    trunc.write_text("2 3\nspace 1 0 0\nlove 0 1\n")  # header, then a cut last line
    csv = tmp_path / "plain.csv"
    csv.write_text("movieId,tmdbId,title,overview\n1,862,Toy Story,Toys.\n")
    values = {
        "meta": str(metadata_store),
        "tmp": str(tmp_path),
        "bad": str(bad),
        "trunc": str(trunc),
        "model": str(rating_model_dir),
        "csv": str(csv),
    }
    out = tmp_path / "features"
    code, _, err = invoke(main, build(out, *[a.format(**values) for a in args]), capsys)
    assert_one_line_error(code, err, fragment)
    assert not out.exists()


def test_analyze_takes_a_backend_option(tmp_path, capsys) -> None:
    """``recsys analyze --backend`` is checked before anything is loaded."""
    code, _, err = invoke(
        main, ["analyze", "--model", str(tmp_path), "--backend", "theano"], capsys
    )
    assert_one_line_error(code, err, "unknown backend 'theano'")
    code, printed, _ = invoke(main, ["analyze", "--help"], capsys)
    assert code == 0 and "--backend NAME" in printed


def test_out_must_be_new_empty_or_a_feature_store(tmp_path, capsys) -> None:
    posters = tmp_path / "posters"
    posters.mkdir()
    (posters / "1.jpg").write_bytes(b"not touched")
    code, _, err = invoke(main, build(posters, "--blocks", "genres"), capsys)
    assert_one_line_error(code, err, "is not a previous feature store")
    assert sorted(p.name for p in posters.iterdir()) == ["1.jpg"]

    other = tmp_path / "dataset"
    other.mkdir()
    (other / "manifest.json").write_text('{"kind": "genre-dataset"}')
    code, _, err = invoke(main, build(other, "--blocks", "genres"), capsys)
    assert_one_line_error(code, err, "is not a feature store")
    assert sorted(p.name for p in other.iterdir()) == ["manifest.json"]
    code, _, err = invoke(main, ["features", "info", str(other)], capsys)
    assert_one_line_error(code, err, "is not a feature store")

    store = tmp_path / "store"
    assert invoke(main, build(store, "--blocks", "genres"), capsys)[0] == 0
    assert invoke(main, build(store, "--blocks", "genres"), capsys)[0] == 0  # rebuilt in place
    assert FeatureStore(store).names == ["genres"]
