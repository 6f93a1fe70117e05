"""``genre train --model fusion|mlp``, ``genre predict`` and ``genre ablate`` end to end on a
small labelled set and a feature store built with ``recsys features build``."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genre.cli import main
from recsys.cli import main as recsys_main
from tests.genre.conftest import write_metadata_csv
from tests.recsys.features.conftest import write_jpeg

NET = [
    "--units",
    "16",
    "--dropout",
    "0.1",
    "--epochs",
    "25",
    "--patience",
    "4",
    "--learning-rate",
    "0.01",
    "--quiet",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, movielens):
    """A labelled set of 240 movies, and a store with overview_w2v (Word2Vec trained on the
    made-up overviews), poster (every third movie) and genres blocks."""
    root = tmp_path_factory.mktemp("fusion-cli")
    csv = write_metadata_csv(root / "meta.csv", movielens)
    dataset = root / "ds"
    assert (
        main(
            [
                "dataset",
                "--metadata",
                str(csv),
                "--min-genre-fraction",
                "0.1",
                "--out",
                str(dataset),
            ]
        )
        == 0
    )
    posters = root / "posters"
    posters.mkdir()
    ids = pd.read_csv(csv)["movieId"].tolist()
    for i, movie_id in enumerate(ids[::3]):
        write_jpeg(
            posters / f"{movie_id}.jpg", (40 * (i % 6), 120, 200 - 30 * (i % 5)), size=32, seed=i
        )
    features = root / "features"
    assert (
        recsys_main(
            [
                "features",
                "build",
                "--blocks",
                "overview_w2v,poster,genres",
                "--metadata",
                str(csv),
                "--word-vectors",
                "train",
                "--w2v-dim",
                "16",
                "--w2v-min-count",
                "1",
                "--w2v-epochs",
                "10",
                "--posters",
                str(posters),
                "--cnn-weights",
                "none",
                "--image-size",
                "32",
                "--quiet",
                "--out",
                str(features),
            ]
        )
        == 0
    )
    return dataset, features


def _fails(capsys, argv, message):
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0], lines[0]


@pytest.mark.slow
def test_train_fusion_and_predict(tmp_path, inputs, capsys):
    dataset, features = inputs
    out = tmp_path / "fusion"
    assert (
        main(
            [
                "train",
                "--dataset",
                str(dataset),
                "--features",
                str(features),
                "--blocks",
                "overview_w2v,poster",
                "--model",
                "fusion",
                *NET,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "prior" in printed and "with each block: overview_w2v" in printed
    report = json.loads((out / "metrics.json").read_text())
    manifest = json.loads((Path(dataset) / "manifest.json").read_text())
    assert report["n_test"] == manifest["counts"]["test"]
    assert report["genres"] == manifest["genres"]
    assert set(report["coverage"]["test"]) == {"overview_w2v", "poster"}
    assert 0 < report["coverage"]["train"]["poster"] < manifest["counts"]["train"]
    assert report["training"]["best_epoch"] <= report["training"]["epochs_run"]
    assert report["mean_roc_auc"] > 0.6  # the overviews carry genre words
    config = json.loads((out / "config.json").read_text())
    assert config["blocks"] == ["overview_w2v", "poster"] and config["model"] == "fusion"
    import keras

    backend = keras.backend.backend()
    assert f"({backend} backend)" in printed
    assert set(config["versions"]) == {
        "keras",
        "backend",
        {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend],
        "numpy",
    }
    assert config["versions"]["backend"] == backend
    assert config["provenance"]["poster"]["weights_id"] == "random-glorot-seed0"
    assert set(json.loads((out / "thresholds.json").read_text())["thresholds"]) == set(
        manifest["genres"]
    )

    movies = pd.read_parquet(Path(dataset) / "movies.parquet")
    with_poster = {int(p.stem) for p in (Path(features).parent / "posters").glob("*.jpg")}
    no_poster = int(next(m for m in movies["movie_id"] if int(m) not in with_poster))
    assert main(["predict", "--model", str(out), "--movie", str(no_poster), "-k", "2"]) == 0
    printed = capsys.readouterr().out
    assert "blocks present: overview_w2v; absent: poster" in printed
    assert "true genres" in printed and printed.count("  * ") + printed.count("    ") >= 2
    _fails(capsys, ["predict", "--model", str(out), "--text", "ghost blood"], "--movie ID")
    assert main(["predict", "--model", str(out), "--movie", str(no_poster), "-k", "50"]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and "k=50 must be between 1 and" in printed.err
    assert printed.err.rstrip().endswith("(set by -k)")
    _fails(
        capsys,
        ["predict", "--model", str(out), "--movie", "999999"],
        "movie 999999 has none of the blocks",
    )


@pytest.mark.slow
def test_same_seed_same_fused_model(tmp_path, inputs):
    dataset, features = inputs
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert (
            main(
                [
                    "train",
                    "--dataset",
                    str(dataset),
                    "--features",
                    str(features),
                    "--blocks",
                    "overview_w2v",
                    "--model",
                    "mlp",
                    "--units",
                    "32,8",
                    "--epochs",
                    "4",
                    "--quiet",
                    "--seed",
                    "4",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        outputs.append(
            (
                (out / "thresholds.json").read_text(),
                json.loads((out / "metrics.json").read_text())["micro_f1"],
            )
        )
    assert outputs[0] == outputs[1]


@pytest.mark.slow
def test_ablate_writes_table_and_chart(tmp_path, inputs, capsys):
    dataset, features = inputs
    out = tmp_path / "ablation"
    assert (
        main(
            [
                "ablate",
                "--dataset",
                str(dataset),
                "--features",
                str(features),
                *NET,
                "--epochs",
                "5",
                "--classical",
                "svm",
                "--seeds",
                "0,1",
                "--jobs",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "all blocks vs best single block" in printed
    assert "all blocks vs best classical model" in printed
    table = pd.read_csv(out / "ablation.csv")
    assert list(table.columns[:6]) == [
        "blocks",
        "micro_f1",
        "macro_f1",
        "samples_f1",
        "mean_roc_auc",
        "hamming_loss",
    ]
    # genres (the labels) is never an input; two blocks -> 2 singles + all, after the
    # classical row, for each seed; then the prior
    per_seed = [
        "classical: svm (TF-IDF, overview)",
        "overview_w2v",
        "poster",
        "overview_w2v+poster",
    ]
    assert table["blocks"].tolist() == [*per_seed, *per_seed, "prior benchmark (no features)"]
    assert table["seed"].tolist()[:-1] == [0] * 4 + [1] * 4
    assert table["kind"].tolist() == (["classical"] + ["fused"] * 3) * 2 + ["benchmark"]
    assert np.isfinite(table.iloc[:, 1:6].to_numpy(dtype=float)).all()
    assert table["mean_roc_auc"].iloc[-1] == 0.5
    assert (out / "ablation.png").stat().st_size > 10_000
    rows = list(csv.DictReader((out / "ablation.csv").open()))
    for row in rows[:-1]:  # counts are written as integers ...
        counts = ("n_blocks", "epochs_run", "best_epoch")
        if row["kind"] == "fused":
            assert all(re.fullmatch(r"[1-9]\d*", row[c]) for c in counts), row
        else:  # ... a classical row has none
            assert [row[c] for c in counts] == ["", "", ""], row
    # ... and the prior row has none
    assert (rows[-1]["n_blocks"], rows[-1]["epochs_run"], rows[-1]["best_epoch"]) == ("0", "", "")
    # the summary: mean and spread over the two seeds of each row
    summary = pd.read_csv(out / "summary.csv")
    assert summary["blocks"].tolist() == [*per_seed, "prior benchmark (no features)"]
    assert summary["n_seeds"].tolist() == [2, 2, 2, 2, 1]
    fused = table[table["blocks"] == "poster"]["micro_f1"]
    assert summary.loc[2, "micro_f1"] == pytest.approx(fused.mean(), abs=1e-6)
    assert summary.loc[2, "micro_f1_std"] == pytest.approx(fused.std(ddof=1), abs=1e-6)

    def no_constants(name):
        raise AssertionError(f"ablation.json holds {name}, which is not JSON")

    saved = json.loads((out / "ablation.json").read_text(), parse_constant=no_constants)
    assert set(saved["reports"]) == {f"{b} [seed {s}]" for b in per_seed for s in (0, 1)}
    assert saved["table"][-1]["epochs_run"] is None
    assert isinstance(saved["table"][1]["epochs_run"], int)
    assert saved["config"]["seeds"] == [0, 1]
    assert (out / "ablation.md").read_text().startswith("| blocks | micro_f1")
    assert " ± " in (out / "ablation.md").read_text()
    assert "1 at once" in printed


@pytest.mark.slow
def test_ablate_in_worker_processes_gives_the_same_table(tmp_path, inputs, capsys):
    """--jobs 2 shares the rows out to two spawned workers: same rows, same order, same
    numbers as one at a time (each row is seeded by itself)."""
    dataset, features = inputs
    tables = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        argv = ["ablate", "--dataset", str(dataset), "--features", str(features), *NET]
        argv += ["--epochs", "4", "--classical", "nb", "--seeds", "0,1", "--jobs", jobs]
        assert main([*argv, "--out", str(out)]) == 0
        assert f"{jobs} at once" in capsys.readouterr().out
        tables.append(pd.read_csv(out / "ablation.csv").drop(columns="seconds"))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert len(tables[0]) == 9 and tables[0]["kind"].tolist().count("fused") == 6


@pytest.mark.parametrize("jobs", ["0", "-1", "two", ""])
def test_ablate_refuses_bad_jobs(tmp_path, inputs, capsys, jobs):
    dataset, features = inputs
    argv = ["ablate", "--dataset", str(dataset), "--features", str(features), "--jobs", jobs]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--jobs must be a positive integer or auto" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--model", "fusion", "--blocks", "overview_w2v,tfidf"],
            "unknown block 'tfidf': the feature store has overview_w2v, poster, genres; the "
            "feature-store builder cannot make a 'tfidf' block (it makes embedding, pca, poster, "
            "overview_w2v, genres); choose blocks the store has. (set by --blocks)",
        ),
        (
            ["--model", "fusion", "--blocks", "pca"],
            "unknown block 'pca': the feature store has overview_w2v, poster, genres; add block "
            "'pca' to the feature store. (set by --blocks)",
        ),
        (["--model", "fusion", "--blocks", "genres"], "Choose other blocks. (set by --blocks)"),
        (
            ["--model", "mlp", "--blocks", "overview_w2v,poster"],
            "takes exactly one block (received 2: overview_w2v, poster); give one block or use "
            "model 'fusion'. (set by --blocks)",
        ),
        (
            ["--model", "fusion", "--blocks", "poster", "--C", "1"],
            "C applies to the text models, not to model 'fusion'. (set by --C)",
        ),
        (["--model", "fusion", "--blocks", ","], "blocks is empty; name at least one block"),
        (["--model", "fusion", "--dropout", "1.5"], "--dropout must be in [0, 1)"),
    ],
)
def test_bad_feature_model_options(tmp_path, inputs, capsys, extra, message):
    dataset, features = inputs
    _fails(
        capsys,
        [
            "train",
            "--dataset",
            str(dataset),
            "--features",
            str(features),
            *extra,
            "--out",
            str(tmp_path / "m"),
        ],
        message,
    )
    assert not (tmp_path / "m").exists()


def test_features_option_mix_ups(tmp_path, inputs, capsys):
    dataset, features = inputs
    _fails(
        capsys,
        [
            "train",
            "--dataset",
            str(dataset),
            "--model",
            "fusion",
            "--features",
            "tfidf",
            "--out",
            str(tmp_path / "m"),
        ],
        "model 'fusion' needs a feature-store folder as features, received 'tfidf'. "
        "(set by --features)",
    )
    _fails(
        capsys,
        [
            "train",
            "--dataset",
            str(dataset),
            "--model",
            "nb",
            "--features",
            str(features),
            "--out",
            str(tmp_path / "m"),
        ],
        "features must be tfidf or bow, received",
    )
    _fails(
        capsys,
        [
            "train",
            "--dataset",
            str(dataset),
            "--model",
            "nb",
            "--blocks",
            "poster",
            "--out",
            str(tmp_path / "m"),
        ],
        "blocks apply to the fusion and mlp models, not to model 'nb'. (set by --blocks)",
    )
    _fails(
        capsys,
        [
            "train",
            "--dataset",
            str(dataset),
            "--model",
            "fusion",
            "--features",
            str(tmp_path),
            "--out",
            str(tmp_path / "m"),
        ],
        "not a feature store",
    )
    _fails(
        capsys,
        [
            "ablate",
            "--dataset",
            str(tmp_path / "nope"),
            "--features",
            str(features),
            "--out",
            str(tmp_path / "a"),
        ],
        "not a labelled-set",
    )
    assert not (tmp_path / "m").exists() and not (tmp_path / "a").exists()


@pytest.fixture(scope="module")
def glove_model(tmp_path_factory, inputs):
    """An mlp trained on a store whose overview_w2v says it came from a GloVe file."""
    from recsys.features import FeatureBlock, FeatureStore

    dataset, features = inputs
    root = tmp_path_factory.mktemp("provenance")
    block = FeatureStore(features)["overview_w2v"]
    glove = {
        "content": "mean word vector of the overview tokens",
        "word_vectors": "/data/word-vectors/glove.6B.16d.txt",
        "binary": False,
        "limit": None,
        "dim": block.dim,
        "n_texts": 240,
        "n_present": 230,
    }
    store = root / "glove-store"
    FeatureStore.write(
        store,
        [FeatureBlock(block.name, block.movie_ids, block.values, block.mask, glove, block.columns)],
    )
    model = root / "mlp"
    assert (
        main(
            [
                "train",
                "--dataset",
                str(dataset),
                "--features",
                str(store),
                "--model",
                "mlp",
                "--units",
                "8",
                "--epochs",
                "2",
                "--quiet",
                "--out",
                str(model),
            ]
        )
        == 0
    )
    return root, block, glove, model


def test_fused_predict_refuses_a_labelled_set_with_other_genres(
    tmp_path, inputs, glove_model, capsys
):
    dataset, _ = inputs
    _, _, _, model = glove_model
    manifest = json.loads((Path(dataset) / "manifest.json").read_text())
    other = tmp_path / "other"
    assert (
        main(
            [
                "dataset",
                "--metadata",
                str(Path(dataset).parent / "meta.csv"),
                "--min-genre-fraction",
                "0.2",
                "--out",
                str(other),
            ]
        )
        == 0
    )
    kept = json.loads((other / "genres.json").read_text())["genres"]
    missing = [g for g in manifest["genres"] if g not in kept]
    assert missing
    movie = str(pd.read_parquet(other / "movies.parquet")["movie_id"].iloc[0])
    _fails(
        capsys,
        ["predict", "--model", str(model), "--movie", movie, "--dataset", str(other)],
        f"genre vocabulary mismatch with the labelled set {str(other)!r}",
    )
    _fails(
        capsys,
        ["predict", "--model", str(model), "--movie", movie, "--dataset", str(other)],
        f"missing {missing}",
    )
    assert main(["predict", "--model", str(model), "--movie", movie]) == 0
    assert "true genres" in capsys.readouterr().out
    _fails(
        capsys,
        ["predict", "--model", str(model), "--movie", movie, "--dataset", str(tmp_path / "nope")],
        "not a labelled-set directory",
    )


def test_fused_predict_refuses_a_block_made_differently(inputs, glove_model, capsys):
    from recsys.features import FeatureBlock, FeatureStore

    root, block, glove, model = glove_model
    config = json.loads((model / "config.json").read_text())
    assert config["provenance"]["overview_w2v"]["word_vectors"].endswith("glove.6B.16d.txt")
    movie = str(int(block.movie_ids[block.mask][0]))

    def store(name, provenance):
        path = root / name
        FeatureStore.write(
            path,
            [
                FeatureBlock(
                    block.name, block.movie_ids, block.values, block.mask, provenance, block.columns
                )
            ],
        )
        return str(path)

    # Same width, other source: a Word2Vec trained here.
    trained = store(
        "w2v-store",
        {
            "content": glove["content"],
            "word_vectors": "trained",
            "algorithm": "gensim Word2Vec skip-gram",
            "epochs": 20,
            "dim": block.dim,
            "n_texts": 240,
        },
    )
    _fails(
        capsys,
        ["predict", "--model", str(model), "--movie", movie, "--features", trained],
        "block 'overview_w2v' was made differently from the one the "
        "model was trained on (provenance differs in word_vectors, "
        "algorithm, binary, epochs; word_vectors: trained on "
        "'glove.6B.16d.txt', received 'trained';",
    )
    # Another GloVe file of the same width.
    other = store("other-glove", {**glove, "word_vectors": "/data/other.16d.txt"})
    _fails(
        capsys,
        ["predict", "--model", str(model), "--movie", movie, "--features", other],
        "provenance differs in word_vectors; word_vectors: trained on "
        "'glove.6B.16d.txt', received 'other.16d.txt')",
    )
    # The same file moved, and a build that covered other movies: the same block.
    moved = store(
        "moved",
        {**glove, "word_vectors": "/mnt/vectors/glove.6B.16d.txt", "n_texts": 12, "n_present": 11},
    )
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--movie", movie, "--features", moved]) == 0
    assert "true genres" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_train_predict_ablate_with_backend_option(tmp_path, inputs, backend):
    """``genre train|predict|ablate --backend B`` in a fresh process (one process holds
    one backend): each runs on B, the saved model and the ablation record B and its
    version, and no native log line of any backend reaches stderr."""
    import os
    import subprocess
    import sys

    from recsys.backend import BACKENDS, backend_installed

    if not backend_installed(backend):
        pytest.skip(
            f"the {backend} backend is not installed (pip install '{BACKENDS[backend][1]}')"
        )
    dataset, features = inputs
    model, ablation = tmp_path / "fusion", tmp_path / "ablation"
    common = ["--dataset", str(dataset), "--features", str(features)]
    runs = [
        [
            "train",
            *common,
            "--blocks",
            "overview_w2v,poster",
            "--model",
            "fusion",
            *NET,
            "--backend",
            backend,
            "--out",
            str(model),
        ],
        ["predict", "--model", str(model), "--movie", "1", "--backend", backend],
        [
            "ablate",
            *common,
            *NET,
            "--epochs",
            "3",
            "--no-pairs",
            "--classical",
            "none",
            "--backend",
            backend,
            "--out",
            str(ablation),
        ],
    ]
    code = (
        "import sys\nfrom genre.cli import main\n"
        f"for argv in {runs!r}:\n"
        "    assert main(argv) == 0, argv\n"
        "print('BACKEND', sys.modules['keras'].backend.backend())"
    )
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "RECSYS_TF_VERBOSE")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=repo, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert f"BACKEND {backend}" in done.stdout
    assert "(scores: probability" in done.stdout and f"({backend} backend)" in done.stdout
    versions = json.loads((model / "config.json").read_text())["versions"]
    assert versions["backend"] == backend and versions[backend] and "tensorflow" not in versions
    ablated = json.loads((ablation / "ablation.json").read_text())["config"]["versions"]
    assert ablated["backend"] == backend
    table = pd.read_csv(ablation / "ablation.csv")
    assert np.isfinite(table.iloc[:, 1:6].to_numpy(dtype=float)).all() and len(table) == 4
