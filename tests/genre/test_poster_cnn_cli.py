"""``genre train --model poster-cnn`` and ``genre predict --poster`` end to end: the
model folder, bad input (one line, exit 2, nothing written), a run killed after an
epoch and resumed, and the save/load round trip on every installed Keras backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genre.cli import main
from genre.poster.images import read_poster
from genre.poster.model import PosterCNNClassifier
from recsys.backend import BACKENDS, backend_installed
from recsys.fileio import KILL_AFTER_ENV, STEP_LOG_ENV
from tests.genre.poster_data import poster_dataset, shape_images, write_posters

REPO = Path(__file__).resolve().parents[2]
FAST = ["--image-size", "16", "--batch-size", "16", "--learning-rate", "0.003", "--quiet"]


@pytest.fixture(scope="module")
def posters(tmp_path_factory):
    """A labelled set of 120 movies and their synthetic posters."""
    return poster_dataset(tmp_path_factory.mktemp("poster-set"), 120, 16, seed=3)


def _train(dataset, folder, out, *extra):
    return [
        "train", "--dataset", str(dataset), "--model", "poster-cnn", "--posters",
        str(folder), *FAST, *extra, "--out", str(out),
    ]  # fmt: skip


def _fails(capsys, argv, message):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0], lines[0]
    return lines[0]


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, posters, capsys):
    dataset, folder = posters
    out = tmp_path / "model"
    other = write_posters(tmp_path / "others", [5000, 5001], shape_images(2, 16)[0])
    _fails(capsys, _train(dataset, other, out), "no movie of the labelled set has a poster")
    _fails(
        capsys,
        _train(dataset, folder, out, "--architecture", "vgg16", "--weights", "none",
               "--image-size", "24"),
        "vgg16 needs images of at least 32 x 32 pixels",
    )  # fmt: skip
    _fails(capsys, _train(dataset, folder, out, "--image-size", "8"), "at least 16 x 16")
    _fails(
        capsys,
        _train(dataset, folder, out, "--weights", "imagenet"),
        "--weights imagenet does not fit --architecture scratch",
    )
    _fails(
        capsys,
        _train(
            dataset,
            folder,
            out,
            "--architecture",
            "vgg16",
            "--image-size",
            "32",
            "--weights",
            str(tmp_path / "x.h5"),
        ),
        "does not exist",
    )
    argv = _train(dataset, folder, out)
    _fails(capsys, argv[:argv.index("--posters")] + argv[argv.index("--posters") + 2:],
           "needs --posters DIR")  # fmt: skip
    _fails(
        capsys,
        ["train", "--dataset", str(dataset), "--model", "logreg", "--posters", str(folder),
         "--out", str(out)],
        "--posters applies to --model poster-cnn",
    )  # fmt: skip
    assert not out.exists() and not list(tmp_path.glob(".model*"))


@pytest.mark.slow
def test_weights_that_do_not_fit_vgg16_are_one_line(tmp_path, posters, capsys):
    from genre.poster.network import build_scratch_network

    dataset, folder = posters
    build_scratch_network(3, image_size=32).save_weights(tmp_path / "scratch.weights.h5")
    line = _fails(
        capsys,
        _train(dataset, folder, tmp_path / "m", "--architecture", "vgg16", "--image-size", "32",
               "--weights", str(tmp_path / "scratch.weights.h5")),
        "does not fit VGG16",
    )  # fmt: skip
    assert line.endswith("pass the *_notop weights of the same backbone.")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_train_writes_a_poster_model_and_predict_reads_posters(tmp_path, posters, capsys):
    dataset, folder = posters
    out = tmp_path / "model"
    assert main(_train(dataset, folder, out, "--epochs", "12", "--upsample")) == 0
    printed = capsys.readouterr().out
    assert "posters: 120 decoded, 0 skipped" in printed and "prior" in printed
    names = {p.name for p in out.iterdir()}
    assert {"model.keras", "config.json", "metrics.json", "thresholds.json", "genres.json",
            "training_log.csv", "learning_curves.png", "test_posters.png"} <= names  # fmt: skip
    assert not (tmp_path / ".model.training").exists()  # the work area is removed
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "poster" and config["params"]["upsample"] is True
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["micro_f1"] > metrics["benchmarks"]["prior"]["micro_f1"]
    assert metrics["training"]["n_fed"] >= metrics["n_train"]  # balanced colours: few repeats
    assert set(metrics["per_genre_hits"]) == {"Comedy", "Drama", "Horror"}
    assert main(["predict", "--model", str(out), "--poster", str(folder / "3.png"), "-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"poster {folder / '3.png'}") and len(lines) == 3
    assert main(["predict", "--model", str(out), "--movie", "4"]) == 0
    assert capsys.readouterr().out.startswith("movie 4")
    _fails(capsys, ["predict", "--model", str(out), "--poster", str(folder / "nope.png")],
           "no such poster file")  # fmt: skip
    _fails(capsys, ["predict", "--model", str(out), "--text", "love"], "scores posters")

    # --input: poster files relative to the input's folder (one missing, one not an
    # image: unscored, counted), then movie ids found in the model's posters folder
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "bad.png").write_text("not an image")
    (batch / "copy.png").write_bytes((folder / "3.png").read_bytes())
    pd.DataFrame({"poster": ["copy.png", "gone.png", "bad.png", str(folder / "5.png")]}).to_csv(
        batch / "in.csv", index=False
    )
    table_file = tmp_path / "scored.csv"
    argv = ["predict", "--model", str(out), "--input", str(batch / "in.csv")]
    assert main([*argv, "--out", str(table_file)]) == 0
    assert "scored 4 rows (2 without a readable poster)" in capsys.readouterr().out
    table = pd.read_csv(table_file, keep_default_na=False)
    model = PosterCNNClassifier.load(out)
    columns = [f"score_{g}" for g in model.genres_]
    assert table.columns.tolist() == ["poster", *columns, "genres", "top_genre"]
    images = np.stack([read_poster(folder / n, 16) for n in ("3.png", "5.png")])
    np.testing.assert_allclose(
        table.loc[[0, 3], columns].to_numpy(dtype=float), model.scores(images), rtol=1e-5
    )
    assert table.loc[1, "top_genre"] == "" and table.loc[2, "genres"] == ""
    pd.DataFrame({"movieId": [3, 99999]}).to_csv(batch / "ids.csv", index=False)
    by_id = ["predict", "--model", str(out), "--input", str(batch / "ids.csv")]
    assert main([*by_id, "--out", str(table_file)]) == 0
    assert "scored 2 rows (1 without a readable poster)" in capsys.readouterr().out
    again = pd.read_csv(table_file, keep_default_na=False)
    np.testing.assert_allclose(
        again.loc[[0], columns].to_numpy(dtype=float),
        table.loc[[0], columns].to_numpy(dtype=float),
        rtol=1e-6,
    )
    _fails(
        capsys,
        [*argv, "--out", str(tmp_path / "x.csv"), "--poster-column", "nope"],
        "poster_column='nope' is not a column",
    )
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_a_killed_run_resumes_and_other_settings_are_refused(tmp_path, posters, capsys):
    """SIGKILL right after the second epoch's checkpoint (the kill-point harness), then:
    other settings -> one line, exit 2; the same settings -> resumes at epoch 3."""
    dataset, folder = posters
    out = tmp_path / "model"
    argv = _train(dataset, folder, out, "--epochs", "4", "--patience", "10")
    log = tmp_path / "steps.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), KILL_AFTER_ENV: "4", STEP_LOG_ENV: str(log)}
    done = subprocess.run(
        [sys.executable, "-m", "genre", *argv], capture_output=True, text=True, cwd=REPO,
        env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr[-2000:]
    steps = log.read_text().splitlines()
    assert steps[-1].split("\t")[1] == "checkpoint", steps
    work = tmp_path / ".model.training"
    assert json.loads((work / "state.json").read_text())["epoch"] == 2
    assert not out.exists()
    line = _fails(capsys, [*argv[:-2], "--seed", "1", *argv[-2:]], "holds a training run")
    assert "seed" in line and "rerun with the same settings" in line
    assert main([a for a in argv if a != "--quiet"]) == 0  # with the epoch lines
    printed = capsys.readouterr().out
    assert "resuming the interrupted training run" in printed
    epochs = [line.split()[1] for line in printed.splitlines() if line.startswith("  epoch")]
    assert epochs == ["3", "4"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["training"]["history"]] == [1, 2, 3, 4]
    assert not work.exists()


@pytest.mark.slow
def test_save_and_load_on_every_installed_backend(tmp_path):
    """Each backend fits, saves and reloads (same scores), and loads the models the
    backends before it saved (same scores as there)."""
    ran = []
    for backend in ("tensorflow", "jax", "torch"):
        if not backend_installed(backend):
            continue
        env = {**os.environ, "PYTHONPATH": str(REPO), "KERAS_BACKEND": backend}
        done = subprocess.run(
            [sys.executable, "-m", "tests.genre.poster_backend_worker", str(tmp_path)],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{backend}: {done.stderr[-3000:]}"
        ran.append(backend)
    if len(ran) < 2:
        pytest.skip(f"only {ran} installed of {list(BACKENDS)}")
    for backend in ran:
        scores = np.load(tmp_path / backend / "scores.npz")
        np.testing.assert_allclose(scores["reloaded"], scores["fitted"], rtol=1e-4, atol=1e-5)
        for other in ran[: ran.index(backend)]:
            there = np.load(tmp_path / other / "scores.npz")["fitted"]
            np.testing.assert_allclose(scores[f"loaded_from_{other}"], there, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_poster_cnn_is_a_row_of_the_ablation(tmp_path, posters):
    """run_ablation(posters=...) adds a poster-cnn row scored on every movie of the set
    (movies without a poster get the prior), beside the fused rows and the prior."""
    from genre.data.dataset import load_labelled
    from genre.fusion.ablation import run_ablation, write_ablation
    from genre.fusion.block_inputs import BlockInputs

    dataset, folder = posters
    data = load_labelled(dataset)
    (folder / "5.png").rename(tmp_path / "5.png")  # one movie without a poster
    try:
        rng = np.random.default_rng(0)
        n = len(data.frame)
        inputs = BlockInputs(
            data.frame["movie_id"].to_numpy(),
            {"noise": rng.normal(0, 1, (n, 4)).astype("float32")},
            {"noise": np.ones(n, bool)},
        )
        result = run_ablation(
            data, inputs, [("noise",)], epochs=2, batch_size=16, posters=str(folder),
            poster_params={"image_size": 16, "epochs": 6, "batch_size": 16,
                           "learning_rate": 0.003},
        )  # fmt: skip
    finally:
        (tmp_path / "5.png").rename(folder / "5.png")
    table = result.table.set_index("blocks")
    assert table.loc["poster-cnn scratch", "kind"] == "poster-cnn"
    assert table.loc["poster-cnn scratch", "micro_f1"] > table.loc["noise", "micro_f1"]
    report = result.reports["poster-cnn scratch"]
    assert report["n_test"] == data.counts()["test"]  # every test movie, poster or not
    assert report["posters"]["decoded"] == len(data.frame) - 1
    paths = write_ablation(result, tmp_path / "ablation")
    assert "poster-cnn scratch" in Path(paths["md"]).read_text()
