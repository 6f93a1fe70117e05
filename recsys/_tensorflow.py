"""Import TensorFlow without its start-up chatter on stderr.

TensorFlow 2.17+ logs through absl before logging is initialised, so
``TF_CPP_MIN_LOG_LEVEL`` no longer silences lines such as "oneDNN custom operations are
on" or "Could not find cuda drivers". :func:`quiet_import` points file descriptor 2 at
``/dev/null`` while TensorFlow loads and probes its devices, then restores it; Python
exceptions still propagate normally. Set ``RECSYS_TF_VERBOSE=1`` to see everything.
"""

from __future__ import annotations

import os
import sys

__all__ = ["quiet_import"]


def quiet_import() -> None:
    """Import TensorFlow (and list its devices) with stderr silenced, once."""
    if "tensorflow" in sys.modules or os.environ.get("RECSYS_TF_VERBOSE"):
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr (some notebook kernels)
        import tensorflow  # noqa: F401
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()
        tf.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
