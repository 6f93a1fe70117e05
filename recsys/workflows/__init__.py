"""Workflows: the policies of a whole task, shared by the CLI, benchmarks and notebooks.

A workflow strings library calls together the way the toolkit means them to be used,
and holds the decisions no single model or data class should make:

* :mod:`recsys.workflows.data` -- load a dataset from a name, a folder or a ratings
  file and split it (:func:`load_and_split`);
* :mod:`recsys.workflows.side_features` -- which blocks of a feature store a rating
  model may use as movie side features (:func:`choose_side_features`);
* :mod:`recsys.workflows.training` -- build a rating model from the parameters given,
  train and evaluate it against baselines (:func:`train_and_evaluate`), and the
  ``metrics.json`` schema (:meth:`TrainingRun.metrics`);
* :mod:`recsys.workflows.saving` -- where checkpoints go and who saves under
  multi-worker training (:func:`save_run`);
* :mod:`recsys.workflows.analysis` -- analyse a saved model and write its report
  beside it (:func:`analyze_saved_model`);
* :mod:`recsys.workflows.features` -- the inputs of feature blocks (poster files,
  overview texts, the tag corpus) and the defaults of their settings.

The command line (:mod:`recsys.cli`) only parses arguments, calls these and prints.
Submodules import Keras and pandas only when a function needs them.
"""

from __future__ import annotations

from recsys.workflows.analysis import (
    analysis_defaults,
    analyze_saved_model,
    default_report_dir,
    prepare_report_dir,
)
from recsys.workflows.data import load_and_split
from recsys.workflows.saving import (
    check_same_run,
    checkpoint_folder,
    default_model_dir,
    prepare_model_dir,
    save_run,
)
from recsys.workflows.side_features import (
    SideFeatureChoice,
    choose_side_features,
    default_side_blocks,
)
from recsys.workflows.training import (
    VALIDATION_CARVES,
    Cluster,
    TrainingRun,
    build_model,
    device_and_precision,
    model_default,
    prepare_cluster,
    train_and_evaluate,
    validation_carve,
)

__all__ = [
    "VALIDATION_CARVES",
    "Cluster",
    "SideFeatureChoice",
    "TrainingRun",
    "analysis_defaults",
    "analyze_saved_model",
    "build_model",
    "check_same_run",
    "checkpoint_folder",
    "choose_side_features",
    "default_model_dir",
    "default_report_dir",
    "default_side_blocks",
    "device_and_precision",
    "load_and_split",
    "model_default",
    "prepare_cluster",
    "prepare_model_dir",
    "prepare_report_dir",
    "save_run",
    "train_and_evaluate",
    "validation_carve",
]
