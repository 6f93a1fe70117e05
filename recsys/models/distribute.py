"""Training on several devices or machines with ``tf.distribute``.

``--distribute mirrored`` uses :class:`tf.distribute.MirroredStrategy`: one replica per
local GPU (or the CPU when there is none), gradients all-reduced after every step.

``--distribute multiworker`` uses :class:`tf.distribute.MultiWorkerMirroredStrategy`
across machines. Every machine runs the *same* command; the standard ``TF_CONFIG``
environment variable tells each one the cluster and its own place in it. Two machines,
``10.0.0.1`` (the chief, worker 0) and ``10.0.0.2`` (worker 1), each with the dataset
at the same path::

    # on 10.0.0.1
    export TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                       "task": {"type": "worker", "index": 0}}'
    recsys train --dataset ml-25m --distribute multiworker --out runs/ml25m-bias

    # on 10.0.0.2: the same cluster, "index": 1
    export TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                       "task": {"type": "worker", "index": 1}}'
    recsys train --dataset ml-25m --distribute multiworker --out runs/ml25m-bias

Start every worker within a minute or so of each other (each waits for the others).
Each worker reads the whole dataset and takes its own share of every global batch
(``--batch-size`` is the global batch, split evenly over all replicas), so all workers
need the data, the same options and the same seed. Only the chief (worker 0) writes the
model directory; the others build theirs in a temporary directory that is deleted.

Checkpoints: with ``--checkpoint-dir DIR`` (default for ``multiworker``: a hidden
``.NAME.checkpoints`` folder beside ``--out NAME``) each process saves the network, the
optimizer state and the early-stopping state after every epoch into its own folder,
``DIR/worker-0``, ``DIR/worker-1``, ... (``DIR/local`` without a cluster), so no shared
file system is needed. If a worker dies, the collective ops of the others fail too:
restart every worker with the same command, and each restores its last completed epoch
and continues with the next one (same data, options and seed give the same weights as an
uninterrupted run). A checkpoint of a different run (other data, options or seed) is
refused rather than resumed. The folders are removed once the model is saved.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from recsys.errors import DataError, InvalidParameterError

__all__ = ["STRATEGIES", "ClusterRole", "cluster_role", "make_strategy"]

#: The values of ``--distribute``.
STRATEGIES = ("mirrored", "multiworker")


@dataclass(frozen=True)
class ClusterRole:
    """This process' place in a cluster.

    Attributes
    ----------
    task_type : ``"worker"`` or ``"chief"`` (``"local"`` outside a cluster).
    task_index : index within the task type.
    n_workers : number of processes that train (chief included).
    """

    task_type: str = "local"
    task_index: int = 0
    n_workers: int = 1

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the model (the chief, or worker 0 without one)."""
        return self.task_type in ("chief", "local") or (
            self.task_type == "worker" and self.task_index == 0 and not self._has_chief
        )

    _has_chief: bool = False

    @property
    def name(self) -> str:
        """``worker-1``, ``chief-0`` or ``local``."""
        return "local" if self.task_type == "local" else f"{self.task_type}-{self.task_index}"


def cluster_role(environ: dict[str, str] | None = None) -> ClusterRole:
    """Read ``TF_CONFIG`` and return this process' role.

    Raises
    ------
    DataError
        When ``TF_CONFIG`` is missing, not JSON, or does not name a cluster of workers and
        this task in it.

    Examples
    --------
    >>> env = {"TF_CONFIG": '{"cluster": {"worker": ["h1:1", "h2:1"]},'
    ...                     ' "task": {"type": "worker", "index": 1}}'}
    >>> role = cluster_role(env)
    >>> role.name, role.n_workers, role.is_chief
    ('worker-1', 2, False)
    """
    env = os.environ if environ is None else environ
    example = (
        'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    text = env.get("TF_CONFIG", "").strip()
    if not text:
        raise DataError(
            "distribute='multiworker' needs the TF_CONFIG environment variable "
            f"describing the cluster and this worker's place in it; {example}.",
            parameter="distribute",
        )
    try:
        config: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(
            f"TF_CONFIG is not valid JSON ({error.msg} at character {error.pos}); {example}."
        ) from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise DataError(f'TF_CONFIG needs a "cluster" and a "task" entry; {example}.')
    kind, index = task.get("type"), task.get("index")
    members = cluster.get(kind) if isinstance(kind, str) else None
    if (
        not isinstance(members, list)
        or not isinstance(index, int)
        or not (0 <= index < len(members))
    ):
        raise DataError(
            f"TF_CONFIG task {task!r} is not in its cluster "
            f"{ {k: len(v) for k, v in cluster.items() if isinstance(v, list)} } "
            f"(task.type must name a cluster job and task.index be below its "
            f"size); {example}."
        )
    if kind not in ("worker", "chief"):
        raise DataError(
            f"TF_CONFIG task type {kind!r} does not train: MultiWorkerMirrored"
            'Strategy runs on "chief" and "worker" tasks only.'
        )
    n = sum(len(cluster.get(k) or []) for k in ("chief", "worker"))
    return ClusterRole(kind, index, n, _has_chief=bool(cluster.get("chief")))


def make_strategy(kind: str | None) -> Any:
    """The ``tf.distribute`` strategy for ``--distribute`` (``None``: no strategy).

    Create it before any other TensorFlow work in the process: the multi-worker strategy
    configures the collective ops of the runtime.

    Raises
    ------
    DataError
        On an unknown kind, or a bad ``TF_CONFIG`` for ``multiworker``.
    """
    if kind is None:
        return None
    if kind not in STRATEGIES:
        raise InvalidParameterError(
            "distribute",
            f"unknown distribute={kind!r}; use one of {', '.join(STRATEGIES)}.",
        )
    import tensorflow as tf

    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    cluster_role()  # validate TF_CONFIG first: TensorFlow's own errors are opaque
    return tf.distribute.MultiWorkerMirroredStrategy()
