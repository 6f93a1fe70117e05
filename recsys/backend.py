"""Which Keras backend runs the models: TensorFlow (default), JAX or PyTorch.

Keras 3 reads ``KERAS_BACKEND`` once, when ``keras`` is first imported, so the choice
must be made before that: :func:`select_backend` checks a name, checks that the backend's
package is installed, and sets the variable (the CLI's ``--backend`` calls it before any
command imports Keras). :func:`import_keras` then imports Keras (and, for TensorFlow, the
runtime) with the start-up chatter of the native libraries silenced, and
:func:`device_info` says what the backend runs on.

>>> sorted(BACKENDS)
['jax', 'tensorflow', 'torch']
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from recsys.errors import RecsysError

__all__ = [
    "BACKENDS",
    "BackendError",
    "DeviceInfo",
    "active_backend",
    "backend_installed",
    "backend_versions",
    "device_info",
    "import_keras",
    "import_tensorflow_quietly",
    "select_backend",
]

#: Backend name -> (the package it needs, the install extra that brings it).
BACKENDS: dict[str, tuple[str, str]] = {
    "tensorflow": ("tensorflow", "movie-embeddings (TensorFlow is a core dependency)"),
    "jax": ("jax", "movie-embeddings[jax]"),
    "torch": ("torch", "movie-embeddings[torch]"),
}
DEFAULT = "tensorflow"


class BackendError(RecsysError):
    """An unknown backend, one that is not installed, or a switch after Keras loaded."""


def active_backend() -> str:
    """The backend Keras uses (or will use once imported): ``KERAS_BACKEND`` or TensorFlow.

    Raises
    ------
    BackendError
        If ``KERAS_BACKEND`` names no known backend.
    """
    if "keras" in sys.modules:
        return str(sys.modules["keras"].backend.backend())
    name = os.environ.get("KERAS_BACKEND", DEFAULT).strip().lower() or DEFAULT
    _check_name(name, "KERAS_BACKEND")
    return name


def _check_name(name: str, where: str) -> None:
    if name not in BACKENDS:
        raise BackendError(
            f"unknown backend {name!r} in {where}; use one of {', '.join(BACKENDS)}."
        )


def backend_installed(name: str) -> bool:
    """Whether the package of backend ``name`` can be imported."""
    try:
        return importlib.util.find_spec(BACKENDS[name][0]) is not None
    except (KeyError, ValueError, ImportError):
        return False


def select_backend(name: str | None = None) -> str:
    """Make ``name`` (default: ``KERAS_BACKEND`` or TensorFlow) the Keras backend.

    Returns
    -------
    str
        The backend name.

    Raises
    ------
    BackendError
        If the name is unknown, its package is not installed (the message names the
        extra to install), or Keras was already imported with another backend.
    """
    chosen = name if name is not None else os.environ.get("KERAS_BACKEND", DEFAULT)
    chosen = chosen.strip().lower() or DEFAULT
    _check_name(chosen, "the backend option" if name is not None else "KERAS_BACKEND")
    if not backend_installed(chosen):
        raise BackendError(
            f"the {chosen} backend is not installed; install it with "
            f"pip install '{BACKENDS[chosen][1]}'."
        )
    if "keras" in sys.modules:
        loaded = str(sys.modules["keras"].backend.backend())
        if loaded != chosen:
            raise BackendError(
                f"Keras is already running on {loaded} in this process; "
                f"choose {chosen} before Keras is imported (set "
                f"KERAS_BACKEND={chosen} before starting Python)."
            )
    os.environ["KERAS_BACKEND"] = chosen
    return chosen


@contextlib.contextmanager
def _silenced_stderr() -> Iterator[None]:
    """Point file descriptor 2 at ``/dev/null`` for the block (native libraries log there
    before Python's logging exists); a no-op with ``RECSYS_TF_VERBOSE=1`` or no real fd."""
    if os.environ.get("RECSYS_TF_VERBOSE"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr (some notebook kernels)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras() -> Any:
    """Import Keras on the selected backend with native start-up logs silenced; return it.

    TensorFlow 2.17+ and XLA log through absl before logging is initialised (lines such
    as "oneDNN custom operations are on" or "Could not find cuda drivers"), so file
    descriptor 2 points at ``/dev/null`` while the backend loads and probes its devices.
    Python exceptions still propagate. Set ``RECSYS_TF_VERBOSE=1`` to see everything.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    select_backend()
    with _silenced_stderr():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()
            tf.get_logger().setLevel("ERROR")
        elif keras.backend.backend() == "jax":
            import jax

            jax.devices()
    return keras


def import_tensorflow_quietly() -> None:
    """Import TensorFlow, if installed, with its native start-up lines silenced.

    Keras' serializer imports TensorFlow whenever it is installed, on every backend
    (``serialization_lib`` checks for ``tf.TensorShape``), so saving a model trained on
    JAX or PyTorch would print TensorFlow's C++ start-up lines on stderr. Call this
    before ``model.save``. Nothing happens when TensorFlow is loaded or not installed.
    """
    if "tensorflow" in sys.modules or not backend_installed("tensorflow"):
        return
    with _silenced_stderr():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
        except ImportError:  # a broken installation: Keras copes without it
            pass


def backend_versions() -> dict[str, str]:
    """Keras, the backend it runs on and that backend's version (imports Keras).

    The version comes from the imported module (``torch.__version__`` is e.g.
    ``"2.13.0+cpu"``; a ``tensorflow-cpu`` install has no ``tensorflow`` distribution).

    >>> sorted(backend_versions())[:2]
    ['backend', 'keras']
    """
    keras = import_keras()
    backend = str(keras.backend.backend())
    package = BACKENDS.get(backend, (backend, ""))[0]
    try:  # Keras imported it already
        version = str(importlib.import_module(package).__version__)
    except (ImportError, AttributeError):
        version = "unknown"
    return {"keras": str(keras.__version__), "backend": backend, package: version}


@dataclass(frozen=True)
class DeviceInfo:
    """What the active backend computes on.

    Attributes
    ----------
    backend : ``"tensorflow"``, ``"jax"`` or ``"torch"``.
    kind : ``"GPU"`` or ``"CPU"``.
    name : the device's name (e.g. ``"NVIDIA H200"``), or the CPU's platform name.
    count : number of devices of that kind the backend sees.
    """

    backend: str
    kind: str
    name: str
    count: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of the fields."""
        return {
            "backend": self.backend,
            "device": self.kind,
            "device_name": self.name,
            "device_count": self.count,
        }


def device_info() -> DeviceInfo:
    """The accelerator the active backend uses, or the CPU when it sees none.

    Imports Keras and the backend (see :func:`import_keras`).
    """
    import platform

    keras = import_keras()
    backend = str(keras.backend.backend())
    cpu = DeviceInfo(backend, "CPU", platform.processor() or platform.machine() or "cpu", 1)
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return cpu
        try:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        except (ValueError, RuntimeError):
            name = "GPU"
        return DeviceInfo(backend, "GPU", str(name), len(gpus))
    if backend == "jax":
        import jax

        devices = jax.devices()
        if devices and devices[0].platform == "gpu":
            return DeviceInfo(backend, "GPU", str(devices[0].device_kind), len(devices))
        return DeviceInfo(backend, "CPU", cpu.name, len(devices))
    import torch

    if torch.cuda.is_available():
        return DeviceInfo(backend, "GPU", torch.cuda.get_device_name(0), torch.cuda.device_count())
    return cpu
