"""The genre models on every Keras backend, and the text models without Keras at all.

A process holds one Keras backend, so each backend runs in its own subprocess
(:mod:`tests.genre.backend_worker`, ``KERAS_BACKEND`` set); a backend whose package is
not installed is skipped with the reason. The text-model ``genre predict`` is checked in
a fresh interpreter too: importing Keras (and its backend) would cost seconds per call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genre.cli import main
from genre.evaluation import metrics
from recsys.backend import BACKENDS, backend_installed

REPO = Path(__file__).resolve().parents[2]
ORDER = ("tensorflow", "jax", "torch")
HEAVY = ("keras", "tensorflow", "jax", "torch")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_TF_VERBOSE"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _require(backend: str) -> None:
    if not backend_installed(backend):
        pytest.skip(
            f"the {backend} backend is not installed (pip install '{BACKENDS[backend][1]}')"
        )


@pytest.fixture(scope="module")
def text_model(tmp_path_factory, movielens):
    """A naive Bayes text model on a small labelled set (trained in this process)."""
    from tests.genre.conftest import write_metadata_csv

    root = tmp_path_factory.mktemp("text-model")
    csv = write_metadata_csv(root / "meta.csv", movielens)
    assert (
        main(
            [
                "dataset",
                "--metadata",
                str(csv),
                "--min-genre-fraction",
                "0.1",
                "--out",
                str(root / "ds"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "--dataset",
                str(root / "ds"),
                "--model",
                "nb",
                "--alpha",
                "0.1",
                "--min-df",
                "1",
                "--ngram-max",
                "1",
                "--quiet",
                "--out",
                str(root / "nb"),
            ]
        )
        == 0
    )
    return root / "nb"


def _imported_top_level(importtime: str) -> set[str]:
    """Top-level module names in the output of ``python -X importtime``."""
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name.split(".")[0])
    return names


@pytest.mark.slow
def test_text_model_predict_never_imports_keras(text_model, capsys):
    """``python -m genre predict`` on a scikit-learn model, in a fresh interpreter: it
    prints the genres, and neither Keras nor any backend is imported (checked on the
    ``-X importtime`` list of every module the process imported; ``RECSYS_TF_VERBOSE``
    keeps :func:`recsys.backend.import_keras` from silencing stderr, where that list goes)."""
    capsys.readouterr()
    for argv in (["--movie", "1"], ["--text", "love wedding heart", "--backend", "jax"]):
        done = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "genre",
                "predict",
                "--model",
                str(text_model),
                *argv,
                "-k",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            env=_env(RECSYS_TF_VERBOSE="1"),
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "(scores: probability" in done.stdout
        imported = _imported_top_level(done.stderr)
        assert {"genre", "sklearn", "numpy"} <= imported  # the list is complete
        assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_text_model_predict_in_process_leaves_keras_unloaded(text_model):
    """The same through ``genre.cli.main`` in a fresh interpreter's ``sys.modules``."""
    code = (
        "import sys; from genre.cli import main; "
        f"code = main(['predict', '--model', {str(text_model)!r}, '--movie', '1']); "
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stdout


def test_unknown_backend_is_one_usage_line(text_model, capsys):
    capsys.readouterr()
    assert main(["predict", "--model", str(text_model), "--movie", "1", "--backend", "theano"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown backend 'theano'" in err[0], err


@pytest.fixture(scope="module")
def shared_out(tmp_path_factory) -> Path:
    """Where every backend's worker saves its models (later backends load earlier ones)."""
    return tmp_path_factory.mktemp("backends")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ORDER)
def test_fit_predict_save_load_on_each_backend(backend: str, shared_out: Path) -> None:
    """The fused (two blocks) and the single-block mlp model on ``backend``: they learn,
    the same seed gives the same probabilities and another seed others, the saved model
    scores as the fitted one, models saved by the backends tested before load and score
    the same here, no TensorFlow is imported by training on JAX or PyTorch, and
    ``config.json`` records the backend and its version."""
    _require(backend)
    done = subprocess.run(
        [sys.executable, "-m", "tests.genre.backend_worker", str(shared_out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=_env(KERAS_BACKEND=backend),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((shared_out / backend / "result.json").read_text())
    assert result["backend"] == backend
    if backend != "tensorflow":
        assert "tensorflow" not in result["imported_by_fit"], result["imported_by_fit"]
    for kind in ("fusion", "mlp"):
        versions = result["versions"][kind]
        assert versions["backend"] == backend and versions[BACKENDS[backend][0]]
        assert "tensorflow" not in versions or backend == "tensorflow"
        arrays = np.load(shared_out / backend / f"{kind}.npz")
        probs, y = arrays["seed0"], arrays["y_test"]
        assert probs.shape == (40, 3) and np.isfinite(probs).all()
        assert ((probs >= 0) & (probs <= 1)).all()
        auc = metrics.roc_auc_per_genre(y, probs)
        assert auc[0] > 0.75 and auc[1] > 0.75, (kind, auc)  # from the text block
        np.testing.assert_array_equal(probs, arrays["seed0_again"])
        assert not np.allclose(probs, arrays["seed1"], atol=1e-3)
        np.testing.assert_allclose(arrays["reloaded"], probs, rtol=1e-5, atol=1e-6)
        assert 1 <= result[f"{kind}_best_epoch"] <= result[f"{kind}_epochs_run"]
        for earlier in ORDER[: ORDER.index(backend)]:
            saved = shared_out / earlier / f"{kind}.npz"
            if not saved.is_file():
                continue  # that backend is not installed (or was not selected)
            np.testing.assert_allclose(
                arrays[f"loaded_from_{earlier}"], np.load(saved)["seed0"], rtol=1e-4, atol=1e-6
            )
