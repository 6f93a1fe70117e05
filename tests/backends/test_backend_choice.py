"""Choosing the Keras backend: names, missing packages, device errors, metrics.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recsys import backend as backend_module
from recsys.backend import BackendError, backend_installed, select_backend
from recsys.cli import main
from recsys.cli.framework import is_device_out_of_memory

from ..recsys.cli.helpers import assert_one_line_error, invoke

REPO = Path(__file__).resolve().parents[2]


def test_an_unknown_backend_name_lists_the_three(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = invoke(
        main, ["train", "--backend", "mxnet", "--out", str(tmp_path / "m")], capsys
    )
    assert_one_line_error(
        code,
        err,
        "unknown backend 'mxnet' in the backend option; use one of tensorflow, jax, torch",
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_an_unknown_keras_backend_variable_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "KERAS_BACKEND": "theano"}
    done = subprocess.run(
        [sys.executable, "-m", "recsys", "train", "--out", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "recsys train: error: unknown backend 'theano' in KERAS_BACKEND; use one of "
        "tensorflow, jax, torch."
    ]


def test_a_backend_that_is_not_installed_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = backend_module.backend_installed
    monkeypatch.setattr(
        backend_module, "backend_installed", lambda name: name != "jax" and real(name)
    )
    with pytest.raises(
        BackendError,
        match=r"the jax backend is not installed; install it "
        r"with pip install 'movie-embeddings\[jax\]'",
    ):
        select_backend("jax")


def test_switching_after_keras_loaded_is_refused() -> None:
    import keras  # the test process runs on TensorFlow (the default)

    other = "jax" if keras.backend.backend() != "jax" else "torch"
    if not backend_installed(other):
        pytest.skip(f"{other} is not installed")
    with pytest.raises(BackendError, match=f"already running on {keras.backend.backend()}"):
        select_backend(other)
    assert select_backend(keras.backend.backend()) == keras.backend.backend()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 4.00GiB."), True),
        (type("OutOfMemoryError", (RuntimeError,), {})("CUDA out of memory."), True),
        (type("ResourceExhaustedError", (Exception,), {})("OOM when allocating tensor"), True),
        (ValueError("out of range"), False),
        (RuntimeError("shape mismatch"), False),
    ],
)
def test_device_out_of_memory_errors_are_recognised(error: BaseException, expected: bool) -> None:
    assert is_device_out_of_memory(error) is expected


def test_out_of_memory_during_training_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from recsys.models import rating_model

    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(
            "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 12.5GiB on device"
        )

    monkeypatch.setattr(rating_model.RatingModel, "_train", exhausted)
    code, _, err = invoke(
        main, ["train", "--epochs", "1", "--quiet", "--out", str(tmp_path / "m")], capsys
    )
    assert_one_line_error(
        code, err, "the device ran out of memory (RuntimeError); use a smaller --batch-size"
    )
    assert not (tmp_path / "m").exists()


def _train(backend: str, out: Path) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recsys",
            "train",
            "--backend",
            backend,
            "--quiet",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads((out / "metrics.json").read_text()))


@pytest.fixture(scope="module")
def tensorflow_metrics(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _train("tensorflow", tmp_path_factory.mktemp("tf") / "m")


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in ("jax", "torch") if backend_installed(b)])
def test_train_on_another_backend_matches_tensorflow(
    backend: str, tmp_path: Path, tensorflow_metrics: dict
) -> None:
    """``recsys train --backend X`` with the defaults (bias, ml-latest-small,
    ``random:0.1`` seed 0): metrics.json says where it ran, and the test RMSE is within
    0.005 of TensorFlow's."""
    metrics = _train(backend, tmp_path / "m")
    assert metrics["backend"] == backend
    assert metrics["device"] in ("CPU", "GPU") and metrics["device_name"]
    assert metrics["precision"] == "float32"
    assert backend in metrics["versions"]
    assert tensorflow_metrics["backend"] == "tensorflow"
    assert abs(metrics["rmse"] - tensorflow_metrics["rmse"]) < 0.005
    assert metrics["baselines"] == tensorflow_metrics["baselines"]


def test_options_a_backend_cannot_honour_are_refused() -> None:
    from recsys.errors import DataError
    from recsys.models.options import TrainingOptions

    with pytest.raises(DataError, match="'multiworker' needs the tensorflow backend"):
        TrainingOptions(distribute="multiworker").check_backend("jax")
    with pytest.raises(DataError, match="the torch backend trains on one device"):
        TrainingOptions(distribute="mirrored").check_backend("torch")
    TrainingOptions(distribute="mirrored").check_backend("jax")
    TrainingOptions(distribute="multiworker").check_backend("tensorflow")


@pytest.mark.skipif(not backend_installed("torch"), reason="needs torch")
def test_distribute_on_torch_is_one_line_before_any_work(tmp_path: Path) -> None:
    # a fresh process: this one already runs Keras on TensorFlow
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recsys",
            "train",
            "--backend",
            "torch",
            "--distribute",
            "mirrored",
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "the torch backend trains on one device" in lines[0], lines
    assert not (tmp_path / "m").exists()
