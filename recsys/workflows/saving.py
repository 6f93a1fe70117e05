"""Where a trained model and its checkpoints go, and who saves it under distribution."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.fileio import check_writable_dir

if TYPE_CHECKING:
    from recsys.models.distribute import ClusterRole
    from recsys.workflows.training import TrainingRun

__all__ = ["checkpoint_folder", "default_model_dir", "prepare_model_dir", "save_run"]


def default_model_dir(dataset: str, kind: str) -> Path:
    """``runs/<dataset>-<kind>``: where a model goes when no folder is chosen.

    Examples
    --------
    >>> default_model_dir("ml-latest-small", "bias").as_posix()
    'runs/ml-latest-small-bias'
    """
    return Path("runs") / f"{dataset}-{kind}"


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
