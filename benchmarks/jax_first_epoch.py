"""Where the first JAX epoch's time goes: network build, loop set-up (the copy to the
device), tracing, XLA compilation, the first and second epoch, the validation pass.

    python benchmarks/jax_first_epoch.py SYNTH.npz [BATCH]

``SYNTH.npz`` holds ``user_id, movie_id, rating`` arrays (``benchmarks/backends.py``
writes them to its ``--work`` folder).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def timed(label: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``, print how long it took, return its result."""
    start = time.perf_counter()
    result = fn()
    print(f"{label:>8}: {time.perf_counter() - start:7.3f} s", flush=True)
    return result


def main() -> None:
    from recsys.backend import import_keras, select_backend

    select_backend("jax")
    import_keras()
    import jax
    import numpy as np

    from recsys.models.loops.jax_loop import JaxLoop
    from recsys.models.networks import NetworkSpec, build_network
    from recsys.models.optimizers import LazyAdam

    with np.load(sys.argv[1]) as saved:
        arrays = (saved["user_id"], saved["movie_id"], saved["rating"])
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 65_536
    print(f"{len(arrays[0]):,} ratings, batch {batch:,}, {jax.devices()[0].device_kind}")
    n_users, n_movies = int(arrays[0].max()) + 1, int(arrays[1].max()) + 1
    spec = NetworkSpec("bias", n_users, n_movies, factors=64)
    network = timed("build", lambda: build_network(spec))
    validation = tuple(a[: len(a) // 20] for a in arrays)
    loop = timed(
        "set-up",
        lambda: JaxLoop(
            network, LazyAdam(0.01), arrays, validation, batch_size=batch, seed=0, clip=(0.5, 5.0)
        ),
    )
    key = jax.random.key(0)
    lowered = timed("trace", lambda: loop._epoch.lower(loop.state, loop.rows, key))
    timed("compile", lowered.compile)
    timed("epoch 1", lambda: loop.run_epoch(1))
    timed("val 1", loop.validation_rmse)
    timed("epoch 2", lambda: loop.run_epoch(2))
    timed("val 2", loop.validation_rmse)


if __name__ == "__main__":
    main()
