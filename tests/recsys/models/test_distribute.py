"""Training under tf.distribute: TF_CONFIG, mirrored, two workers, checkpoints, precision."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from recsys.cli import main
from recsys.data import RandomSplit
from recsys.data.dataset import Dataset
from recsys.data.synth import SynthSpec, write_synthetic
from recsys.errors import DataError
from recsys.evaluation import rmse
from recsys.models.distribute import cluster_role
from recsys.models.networks import NetworkSpec
from recsys.models.optimizers import LazyAdam
from recsys.models.options import TrainingOptions
from recsys.models.precision import build_network_with_policy, resolve_policy
from recsys.models.rating_model import RatingModel
from recsys.models.training import train_network

from ..cli.helpers import assert_one_line_error, invoke
from .synthetic import planted_movies, planted_ratings

REPO = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("multiworker_worker.py")
FAST = {
    "factors": 8,
    "epochs": 8,
    "batch_size": 512,
    "learning_rate": 0.03,
    "patience": 8,
    "seed": 2,
}


def ck(directory: Path) -> TrainingOptions:
    """Options with per-epoch checkpoints in ``directory``."""
    return TrainingOptions(checkpoint_dir=directory)


def mirrored_options() -> TrainingOptions:
    """Options training under a one-device ``MirroredStrategy``."""
    return TrainingOptions(distribute="mirrored", strategy=tf.distribute.MirroredStrategy())


@pytest.fixture(scope="module")
def split():
    ratings = planted_ratings(n_users=120, n_movies=90, density=0.4, seed=3)
    return RandomSplit(0.15).split(Dataset("p", ratings, planted_movies(ratings), "p"), seed=0)


def baseline_rmse(model: RatingModel, test) -> float:
    guess = model.baseline_.predict(
        model.user_vocab_.index(test["user_id"], missing="negative"),
        model.movie_vocab_.index(test["movie_id"], missing="negative"),
    )
    return rmse(test["rating"], np.clip(guess, *model.rating_scale_))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
    )


def run_workers(
    commands: list[list[str]], envs: list[dict[str, str]], cwd: Path, timeout: float = 240
) -> list[subprocess.CompletedProcess[str]]:
    """Start one process per command together; kill them all on a timeout or failure."""
    procs = [
        subprocess.Popen(
            c, env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for c, e in zip(commands, envs, strict=True)
    ]
    deadline = time.monotonic() + timeout
    try:
        while any(p.poll() is None for p in procs):
            if time.monotonic() > deadline or any(p.returncode not in (None, 0) for p in procs):
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = []
    for p, c in zip(procs, commands, strict=True):
        out, err = p.communicate()
        results.append(subprocess.CompletedProcess(c, p.returncode, out, err))
    for r in results:
        assert r.returncode == 0, f"{r.args}: exit {r.returncode}\n{r.stderr[-3000:]}"
    return results


# --------------------------------------------------------------------------- TF_CONFIG
def test_cluster_role_reads_tf_config() -> None:
    two = {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}
    role = cluster_role({"TF_CONFIG": json.dumps(two)})
    assert (role.name, role.n_workers, role.is_chief) == ("worker-0", 2, True)
    with_chief = {
        "cluster": {"chief": ["c:1"], "worker": ["a:1"]},
        "task": {"type": "worker", "index": 0},
    }
    role = cluster_role({"TF_CONFIG": json.dumps(with_chief)})
    assert (role.n_workers, role.is_chief) == (2, False)


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "needs the TF_CONFIG environment variable"),
        ("{nope", "not valid JSON"),
        ('{"cluster": {"worker": ["a:1"]}}', 'needs a "cluster" and a "task"'),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
            "is not in its cluster",
        ),
        ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "does not train"),
    ],
)
def test_bad_tf_config_says_what_to_fix(value: str, fragment: str) -> None:
    with pytest.raises(DataError, match=fragment):
        cluster_role({"TF_CONFIG": value})


def test_cli_rejects_bad_scale_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code, _, err = invoke(
        main, ["train", "--distribute", "multiworker", "--out", str(tmp_path / "m")], capsys
    )
    assert_one_line_error(code, err, "needs the TF_CONFIG environment variable")
    monkeypatch.setenv("TF_CONFIG", "{broken")
    code, _, err = invoke(main, ["train", "--distribute", "multiworker"], capsys)
    assert_one_line_error(code, err, "TF_CONFIG is not valid JSON")
    code, _, err = invoke(main, ["train", "--distribute", "everywhere"], capsys)
    assert_one_line_error(code, err, "invalid choice: 'everywhere'")
    code, _, err = invoke(main, ["train", "--mixed-precision", "float8"], capsys)
    assert_one_line_error(code, err, "invalid choice: 'float8'")
    (tmp_path / "file").write_text("x")
    code, _, err = invoke(
        main,
        [
            "train",
            "--epochs",
            "1",
            "--checkpoint-dir",
            str(tmp_path / "file"),
            "--out",
            str(tmp_path / "m"),
        ],
        capsys,
    )
    assert_one_line_error(code, err, "is a file, expected a directory")
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------------------------ strategies
@pytest.mark.slow
def test_mirrored_strategy_on_one_device_matches_the_default(split) -> None:
    plain = RatingModel("bias", **FAST).fit(split.train)
    mirrored = RatingModel("bias", **FAST).fit(split.train, options=mirrored_options())
    test = split.test
    np.testing.assert_allclose(
        mirrored.predict(test["user_id"], test["movie_id"]),
        plain.predict(test["user_id"], test["movie_id"]),
        atol=1e-4,
    )
    assert rmse(test["rating"], mirrored.predict(test["user_id"], test["movie_id"])) < (
        baseline_rmse(mirrored, test)
    )
    # the fitted network is a plain copy, free of mirrored variables
    assert not any("Mirrored" in type(v.value).__name__ for v in mirrored.network_.weights)


@pytest.mark.slow  # a subprocess of several seconds; CI runs it
def test_two_workers_learn_and_end_with_the_same_weights(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run_workers(
        [[sys.executable, str(WORKER), str(tmp_path / f"w{i}.npz")] for i in (0, 1)],
        [{**env, "TF_CONFIG": tf_config(ports, i)} for i in (0, 1)],
        tmp_path,
    )
    with np.load(tmp_path / "w0.npz") as a, np.load(tmp_path / "w1.npz") as b:
        assert int(a["replicas"]) == 2
        assert float(a["test_rmse"]) < 0.9 * float(a["baseline_rmse"])
        weights = [k for k in a.files if k.startswith("arr_")]
        assert len(weights) == 5
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.slow  # a subprocess of several seconds; CI runs it
def test_cli_multiworker_only_the_chief_writes(tmp_path: Path) -> None:
    data = write_synthetic(
        SynthSpec(n_users=120, n_movies=80, n_ratings=3000, seed=1), tmp_path / "data"
    )
    ports = [free_port(), free_port()]
    env = {**os.environ, "PYTHONPATH": str(REPO), "RECSYS_DATA": str(tmp_path / "cache")}
    commands = [
        [
            sys.executable,
            "-m",
            "recsys",
            "train",
            "--data",
            str(data),
            "--epochs",
            "3",
            "--batch-size",
            "256",
            "--distribute",
            "multiworker",
            "--out",
            str(tmp_path / f"out{i}"),
        ]
        for i in (0, 1)
    ]
    results = run_workers(
        commands, [{**env, "TF_CONFIG": tf_config(ports, i)} for i in (0, 1)], tmp_path
    )
    assert (tmp_path / "out0" / "model.keras").is_file()
    assert not (tmp_path / "out1").exists()
    assert "keeps no copy" in results[1].stdout
    metrics = json.loads((tmp_path / "out0" / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["distribute"] == "multiworker"
    assert not list(tmp_path.glob(".out*.checkpoints"))  # removed once saved


# ------------------------------------------------------------------------ checkpoints
@pytest.mark.slow  # a subprocess of several seconds; CI runs it
def test_killed_run_resumes_after_its_last_epoch_and_ends_the_same(tmp_path: Path) -> None:
    data = write_synthetic(
        SynthSpec(n_users=400, n_movies=300, n_ratings=40_000, seed=1), tmp_path / "data"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "RECSYS_DATA": str(tmp_path / "cache")}
    cmd = [
        sys.executable,
        "-m",
        "recsys",
        "train",
        "--data",
        str(data),
        "--epochs",
        "6",
        "--patience",
        "6",
        "--batch-size",
        "64",
    ]
    subprocess.run(
        [*cmd, "--quiet", "--checkpoint-dir", "ck-a", "--out", "full"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    state = tmp_path / "ck-b" / "local" / "state.json"
    proc = subprocess.Popen(
        [*cmd, "--quiet", "--checkpoint-dir", "ck-b", "--out", "part"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if state.is_file() and json.loads(state.read_text())["epoch"] >= 2:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done = json.loads(state.read_text())["epoch"]
    assert 2 <= done < 6 and not (tmp_path / "part").exists()
    resumed = subprocess.run(
        [*cmd, "--checkpoint-dir", "ck-b", "--out", "part"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    epochs = [
        int(line.split()[1].split("/")[0])
        for line in resumed.stdout.splitlines()
        if line.startswith("epoch")
    ]
    assert f"resuming after epoch {done}" in resumed.stdout
    assert epochs == list(range(done + 1, 7))
    full = RatingModel.load(tmp_path / "full")
    part = RatingModel.load(tmp_path / "part")
    for a, b in zip(full.network_.get_weights(), part.network_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [h.val_rmse for h in full.training_.history] == [
        h.val_rmse for h in part.training_.history
    ]
    assert not (tmp_path / "ck-b").exists()


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    spec = NetworkSpec("bias", n_users=5, n_movies=4, factors=2)
    arrays = (
        np.array([0, 1, 2, 3, 4], np.int32),
        np.array([0, 1, 2, 3, 0], np.int32),
        np.array([1, 2, 3, 4, 5], np.float32),
    )
    train_network(
        build_network_with_policy(spec),
        LazyAdam(0.01),
        arrays,
        epochs=2,
        batch_size=2,
        options=ck(tmp_path),
        run_id={"run": "a"},
    )
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 2
    with pytest.raises(DataError, match=r"holds another training run \(different run\)"):
        train_network(
            build_network_with_policy(spec),
            LazyAdam(0.01),
            arrays,
            epochs=2,
            batch_size=2,
            options=ck(tmp_path),
            run_id={"run": "b"},
        )
    other_data = (arrays[0], arrays[1], arrays[2][::-1].copy())
    with pytest.raises(DataError, match=r"another training run \(different data_crc32\)"):
        train_network(
            build_network_with_policy(spec),
            LazyAdam(0.01),
            other_data,
            epochs=2,
            batch_size=2,
            options=ck(tmp_path),
            run_id={"run": "a"},
        )
    # the same run resumes: nothing left to train, the restored epochs are reported
    again = train_network(
        build_network_with_policy(spec),
        LazyAdam(0.01),
        arrays,
        epochs=2,
        batch_size=2,
        options=ck(tmp_path),
        run_id={"run": "a"},
    )
    assert again.epochs_run == 2


# ---------------------------------------------------------------------- precision
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_runs_and_learns(policy: str, split, tmp_path: Path) -> None:
    model = RatingModel("bias", **FAST).fit(split.train, options=TrainingOptions(precision=policy))
    net = model.network_
    assert net.get_layer("user_embedding").compute_dtype == policy.split("_")[1]
    assert net.get_layer("user_embedding").embeddings.dtype == "float32"
    assert net.output.dtype == "float32"
    test = split.test
    predicted = model.predict(test["user_id"], test["movie_id"])
    assert predicted.dtype == np.float32
    assert rmse(test["rating"], predicted) < 0.9 * baseline_rmse(model, test)
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(
        RatingModel.load(tmp_path / "m").predict(test["user_id"], test["movie_id"]), predicted
    )


def test_precision_choices() -> None:
    assert resolve_policy("auto", has_gpu=True) == "mixed_float16"
    assert resolve_policy("auto", has_gpu=False) == "mixed_bfloat16"
    assert resolve_policy("float16", has_gpu=False) == "mixed_float16"
    # JAX and PyTorch train without loss scaling in their compiled steps: bfloat16
    assert resolve_policy("auto", has_gpu=True, backend="jax") == "mixed_bfloat16"
    assert resolve_policy("auto", has_gpu=True, backend="torch") == "mixed_bfloat16"
    with pytest.raises(DataError, match="unknown precision 'int8'") as caught:
        resolve_policy("int8", has_gpu=False)
    assert caught.value.parameter == "precision"


def test_a_damaged_checkpoint_is_named_not_a_traceback(tmp_path: Path) -> None:
    spec = NetworkSpec("bias", n_users=5, n_movies=4, factors=2)
    arrays = (
        np.array([0, 1, 2, 3, 4], np.int32),
        np.array([0, 1, 2, 3, 0], np.int32),
        np.array([1, 2, 3, 4, 5], np.float32),
    )

    def run() -> object:
        return train_network(
            build_network_with_policy(spec),
            LazyAdam(0.01),
            arrays,
            epochs=3,
            batch_size=2,
            options=ck(tmp_path),
            run_id={"run": "a"},
        )

    train_network(
        build_network_with_policy(spec),
        LazyAdam(0.01),
        arrays,
        epochs=3,
        batch_size=2,
        options=ck(tmp_path),
        run_id={"run": "a"},
    )
    state = tmp_path / "state.json"
    data = next(tmp_path.glob("epoch-3.data-*"))
    data.write_bytes(data.read_bytes()[:10])
    with pytest.raises(DataError, match=r"the checkpoint .*epoch-3' is damaged .*delete it"):
        run()
    state.write_text("{")
    with pytest.raises(DataError, match=r"state.json' is damaged .*delete it"):
        run()
