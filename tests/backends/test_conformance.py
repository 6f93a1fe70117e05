"""Backend conformance: every rating model on every installed Keras backend.

Each backend runs :mod:`tests.backends.conformance_worker` in its own process (a process
holds one Keras backend): fit, predict, same seed same result, save/load, unknown ids.
Then every backend loads the models every other backend saved, and predicts the same
numbers to 1e-5, through the numpy tables and through its own Keras network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys.backend import BACKENDS, backend_installed

REPO = Path(__file__).resolve().parents[2]
INSTALLED = [b for b in BACKENDS if backend_installed(b)]


def tolerance(*reports: dict) -> float:
    """Exact (to float32 summation order) on CPUs. On a GPU, scatter-adds use atomics
    (runs differ in the last bits) and JAX multiplies float32 matrices in TF32."""
    return 1e-3 if any(r.get("device") == "GPU" for r in reports) else 0.0


pytestmark = pytest.mark.slow


def _run(backend: str, out: Path, others: list[Path], mode: list[str] | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    extra = mode if mode is not None else (["--load", *map(str, others)] if others else [])
    done = subprocess.run(
        [sys.executable, "-m", "tests.backends.conformance_worker", backend, str(out), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    if len(INSTALLED) < 2:
        pytest.skip(
            f"needs two Keras backends; installed: {', '.join(INSTALLED)} (pip "
            "install '.[jax]' or '.[torch]')"
        )
    root = tmp_path_factory.mktemp("conformance")
    first = {b: _run(b, root / b, []) for b in INSTALLED}
    # second pass: each backend loads what the others saved
    for b in INSTALLED:
        others = [root / o for o in INSTALLED if o != b]
        first[b]["cross"] = _run(b, root / f"{b}-cross", others)["loaded"]
    return first


@pytest.mark.parametrize("backend", INSTALLED)
def test_fit_predict_reload_and_determinism(reports: dict[str, dict], backend: str) -> None:
    report = reports[backend]
    assert report["backend"] == backend
    assert len(report["models"]) == 6
    for name, r in report["models"].items():
        pred = np.array(r["predict"])
        assert np.isfinite(pred).all(), name
        assert all(np.isfinite(r["loss"])) and r["loss"][-1] < r["loss"][0], name
        np.testing.assert_allclose(
            r["again"], pred, rtol=0, atol=tolerance(report), err_msg=f"{name}: same seed"
        )
        np.testing.assert_allclose(r["loaded"], pred, rtol=0, atol=1e-5, err_msg=name)
        # the Keras network and the numpy tables agree (known pairs: all but the last 2)
        np.testing.assert_allclose(
            np.clip(r["network"], *r["scale"]),
            pred[:-2],
            rtol=0,
            atol=max(1e-4, tolerance(report)),
            err_msg=name,
        )
        assert r["fallback"][-2].startswith("unknown user"), name
        assert r["fallback"][-1].startswith("unknown movie"), name


def test_models_saved_under_one_backend_predict_the_same_under_the_others(
    reports: dict[str, dict],
) -> None:
    checked = 0
    for backend, report in reports.items():
        for key, loaded in report["cross"].items():
            source, name = key.split("/")
            original = reports[source]["models"][name]
            np.testing.assert_allclose(
                loaded["predict"],
                original["predict"],
                rtol=0,
                atol=1e-5,
                err_msg=f"{source} -> {backend}: {name}",
            )
            np.testing.assert_allclose(
                loaded["network"],
                original["network"],
                rtol=0,
                atol=max(1e-5, tolerance(report, reports[source])),
                err_msg=f"{source} -> {backend}: {name}",
            )
            checked += 1
    assert checked == 6 * len(reports) * (len(reports) - 1)


def test_backends_compute_the_same_training_steps(reports: dict[str, dict]) -> None:
    """The same starting weights, one batch per epoch (so the shuffle order cannot
    matter) and no dropout: every backend's forward pass, penalties and lazy Adam end
    with the same weights after 5 epochs, up to float32 summation order."""
    first = reports[INSTALLED[0]]["steps"]
    for backend in INSTALLED[1:]:
        for kind, weights in first.items():
            other = reports[backend]["steps"][kind]
            assert len(other) == len(weights)
            for a, b in zip(weights, other, strict=True):
                np.testing.assert_allclose(
                    b,
                    a,
                    rtol=0,
                    atol=max(1e-4, tolerance(reports[backend], reports[INSTALLED[0]])),
                    err_msg=f"{INSTALLED[0]} vs {backend}: {kind}",
                )


@pytest.mark.parametrize("backend", INSTALLED)
def test_a_stopped_run_resumes_from_its_checkpoint_to_the_same_weights(
    backend: str, tmp_path: Path
) -> None:
    report = _run(backend, tmp_path, [], ["--checkpoint"])
    straight_weights, straight_history = report["straight"]
    resumed_weights, resumed_history = report["resumed"]
    assert len(straight_history) == len(resumed_history) == 5
    # JAX on a CPU: about one process in fifteen, a run that writes checkpoints between
    # epochs ends a few units in the 6th digit away from the same run without the pause
    # (seen in the loss after 3 epochs, 4.182874 vs 4.182867), while the same compiled
    # epoch given the same inputs repeats exactly: XLA's CPU runtime, not our state.
    atol = 1e-4 if backend == "jax" else 1e-6
    np.testing.assert_allclose(resumed_history, straight_history, rtol=0, atol=atol)
    for a, b in zip(straight_weights, resumed_weights, strict=True):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=0, atol=atol)


_DATA_PARALLEL = """
import json, sys
import numpy as np
from recsys.backend import import_keras
import_keras()
import jax
from recsys.models.loops.jax_loop import JaxLoop
from recsys.models.networks import NetworkSpec, build_network
from recsys.models.optimizers import LazyAdam
from recsys.models.options import TrainingOptions
from recsys.models.training import train_network

rng = np.random.default_rng(0)
arrays = (rng.integers(0, 50, 3001).astype(np.int32), rng.integers(0, 40, 3001).astype(np.int32),
          rng.uniform(1, 5, 3001).astype(np.float32))
out = {"devices": len(jax.local_devices())}
for dist in (None, "mirrored"):
    network = build_network(NetworkSpec("bias", 50, 40, factors=4, seed=2))
    result = train_network(network, LazyAdam(0.02), arrays, tuple(a[:300] for a in arrays),
                           epochs=3, batch_size=256, seed=1,
                           options=TrainingOptions(distribute=dist))
    out[str(dist)] = [h.val_rmse for h in result.history]
loop = JaxLoop(build_network(NetworkSpec("bias", 50, 40, factors=4)), LazyAdam(0.02), arrays,
               None, batch_size=256, seed=1, clip=None, data_parallel=True)
out["sharded"] = str(loop.rows.sharding)
print(json.dumps(out))
"""


@pytest.mark.skipif(not backend_installed("jax"), reason="needs jax (pip install '.[jax]')")
def test_jax_data_parallel_over_two_devices_matches_one_device() -> None:
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    done = subprocess.run(
        [sys.executable, "-c", _DATA_PARALLEL],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 2
    assert "NamedSharding" in report["sharded"]
    np.testing.assert_allclose(report["mirrored"], report["None"], rtol=0, atol=1e-5)
