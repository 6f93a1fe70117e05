"""Where a trained model and its checkpoints go, and who saves it under distribution."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.errors import InvalidParameterError
from recsys.fileio import check_writable_dir

if TYPE_CHECKING:
    from recsys.models.distribute import ClusterRole
    from recsys.workflows.training import TrainingRun

__all__ = [
    "RUN_IDENTITY",
    "check_same_run",
    "checkpoint_folder",
    "default_model_dir",
    "prepare_model_dir",
    "run_identity",
    "save_run",
]


def default_model_dir(
    dataset: str,
    kind: str,
    *,
    split: str = "random:0.1",
    features: Sequence[str] | None = None,
    dataset_spec: str | None = None,
    objective: str = "rating",
) -> Path:
    """``runs/<dataset>-<kind>[-<objective>][-<split>][-features-<blocks>]``: where a
    model goes when no folder is chosen, named by what distinguishes the run, so a
    cold-start run does not replace the plain model and two ratings files of the same
    name do not share one.

    The default split (``random:0.1``) adds nothing to the name; a plain ratings file
    (``dataset_spec`` ``ratings:PATH|...``) adds a short hash of its path.

    Examples
    --------
    >>> default_model_dir("ml-latest-small", "bias").as_posix()
    'runs/ml-latest-small-bias'
    >>> default_model_dir("ml-latest-small", "bias", split="movies:0.2",
    ...                   features=["genres", "overview"]).as_posix()
    'runs/ml-latest-small-bias-movies0.2-features-genres+overview'
    """
    parts = [dataset]
    if dataset_spec and dataset_spec.startswith("ratings:"):
        parts.append(hashlib.sha256(dataset_spec.encode()).hexdigest()[:6])
    parts.append(kind)
    if objective != "rating":
        parts.append(objective)
    if split != "random:0.1":
        parts.append(_slug(split))
    if features:
        parts.append("features-" + "+".join(_slug(f) for f in features))
    return Path("runs") / "-".join(parts)


def _slug(text: str) -> str:
    """``text`` with what a folder name should not hold removed (``files:a,b`` -> ``files-a-b``)."""
    cleaned = re.sub(r"[^A-Za-z0-9.+]+", "-", text.replace(":", "")).strip("-.")
    if len(cleaned) > 40:  # long file paths: keep the end and a hash
        cleaned = cleaned[-32:].lstrip("-.") + "-" + hashlib.sha256(text.encode()).hexdigest()[:6]
    return cleaned or "x"


#: The end of :func:`check_same_run`'s message (a command line says it its own way).
OVERWRITE_ADVICE = " Choose another output folder, or replace it with overwrite=True."

#: The settings that identify a run: a model folder made with other values is not
#: replaced without ``overwrite`` (see :func:`check_same_run`).
RUN_IDENTITY = ("model", "objective", "dataset_spec", "split", "side_feature_blocks")


def run_identity(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`RUN_IDENTITY` values of a run's ``metrics.json``."""
    blocks = metrics.get("side_features", {}) or {}
    names = blocks.get("blocks") if isinstance(blocks, Mapping) else None
    names = sorted(b["name"] if isinstance(b, Mapping) else str(b) for b in names or [])
    return {
        "model": metrics.get("model"),
        "objective": metrics.get("objective", "rating"),
        "dataset_spec": metrics.get("dataset_spec"),
        "split": metrics.get("split"),
        "side_feature_blocks": names,
    }


def check_same_run(
    directory: str | os.PathLike[str], identity: Mapping[str, Any], *, overwrite: bool = False
) -> None:
    """Refuse to replace a model folder that holds a run with other settings.

    A folder with no model, or one made with the same :data:`RUN_IDENTITY` (an earlier
    run of the same command), may be replaced; another needs ``overwrite``.

    Raises
    ------
    InvalidParameterError
        On ``overwrite`` (the parameter to set), naming what differs.
    """
    metrics_file = Path(directory).expanduser() / "metrics.json"
    if overwrite or not metrics_file.is_file():
        return
    try:
        old = run_identity(json.loads(metrics_file.read_text()))
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return  # an unreadable old report: the marker check decides (check_writable_dir)
    differ = [k for k in RUN_IDENTITY if old.get(k) != identity.get(k)]
    if differ:
        what = "; ".join(f"{k} {old.get(k)!r} there, {identity.get(k)!r} now" for k in differ)
        raise InvalidParameterError(
            "overwrite",
            f"{str(directory)!r} holds a model made with other settings ({what})."
            + OVERWRITE_ADVICE,
        )


def prepare_model_dir(directory: str | os.PathLike[str]) -> Path:
    """Check, before training, that a model can be saved to ``directory``: it must be
    new, empty or a previous model (which is replaced). Returns it with ``~`` expanded.

    Raises
    ------
    DataError
        If the folder cannot be written or holds something other than a model.
    """
    from recsys.models.persistence import MARKER

    return check_writable_dir(directory, what="model", marker=MARKER, parameter="directory")


def checkpoint_folder(
    out: str | os.PathLike[str],
    role: ClusterRole,
    *,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    distribute: str | None = None,
) -> Path | None:
    """This worker's checkpoint folder, or ``None`` for no checkpoints.

    ``checkpoint_dir`` when given; otherwise, under multi-worker training, the hidden
    ``.<out>.checkpoints`` beside the model folder ``out``. Each worker writes in its
    own sub-folder named after its role, so no shared file system is needed.

    Raises
    ------
    DataError
        If the folder cannot be written.

    Examples
    --------
    >>> from recsys.models.distribute import ClusterRole
    >>> print(checkpoint_folder("runs/m", ClusterRole()))
    None
    """
    if checkpoint_dir:
        base = Path(checkpoint_dir).expanduser()
    elif distribute == "multiworker":
        out = Path(out)
        base = out.parent / f".{out.name}.checkpoints"
    else:
        return None
    check_writable_dir(base, what="checkpoint", parameter="checkpoint_dir")
    return base / role.name


def save_run(
    run: TrainingRun,
    directory: str | os.PathLike[str],
    *,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    metrics: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, Any] | None = None,
) -> bool:
    """Save the model of ``run`` with its ``metrics.json``, then drop its checkpoints.

    Under multi-worker training every worker saves (the standard pattern: saving may
    run collective operations) but only the chief's copy is kept; the others write to
    a scratch folder that is removed.

    Parameters
    ----------
    run : a finished :class:`~recsys.workflows.TrainingRun`.
    directory : the model folder.
    checkpoint_dir : this worker's checkpoint folder (see :func:`checkpoint_folder`),
        removed once the model is saved, with its parent once that is empty.
    metrics : the run's metrics, when already computed (``run.metrics()`` otherwise).
    extra_files : more JSON files (names to data) saved in the folder with the model,
        in the same atomic step (e.g. ``tuning.json``).

    Returns
    -------
    bool
        Whether this process kept its copy in ``directory`` (it is the chief).
    """
    from recsys.models.persistence import save_model

    metrics = dict(metrics) if metrics is not None else run.metrics()
    files = {**(extra_files or {}), "metrics.json": metrics}
    if run.role.is_chief:
        save_model(run.model, directory, extra_files=files)
    else:
        scratch = Path(tempfile.mkdtemp(prefix=f"recsys-{run.role.name}-"))
        try:
            save_model(run.model, scratch / "model", extra_files=files)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if checkpoint_dir is not None:
        checkpoint = Path(checkpoint_dir)
        shutil.rmtree(checkpoint, ignore_errors=True)
        with contextlib.suppress(OSError):
            checkpoint.parent.rmdir()
    return run.role.is_chief
