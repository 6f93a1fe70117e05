"""recsys.workflows: the policies the CLI, benchmarks and notebooks share."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.errors import DataError, InvalidParameterError
from recsys.features.store import FeatureBlock, FeatureStore
from recsys.models.distribute import ClusterRole
from recsys.models.rating_model import RatingModel
from recsys.workflows import (
    TrainingRun,
    build_model,
    checkpoint_folder,
    choose_side_features,
    default_model_dir,
    load_and_split,
    model_default,
    save_run,
    train_and_evaluate,
    validation_carve,
)
from recsys.workflows.analysis import analysis_defaults, default_report_dir

REPO = Path(__file__).resolve().parents[2]
RATINGS = REPO / "tests/fixtures/ml-csv/ratings.csv"

#: The keys of metrics.json, in order, without side features or a cold-start section.
METRICS_KEYS = [
    "model",
    "dataset",
    "dataset_spec",
    "split",
    "seed",
    "n_train",
    "n_fit",
    "n_validation",
    "n_validation_dropped",
    "n_test",
    "rating_scale",
    "objective",
    "rmse",
    "mae",
    "baselines",
    "topn",
    "test_fallbacks",
    "train_seconds",
    "ratings_per_second",
    "steady_ratings_per_second",
    "epochs_run",
    "best_epoch",
    "stopped_early",
    "fit_seconds",
    "params",
    "backend",
    "device",
    "device_name",
    "device_count",
    "versions",
    "distribute",
    "precision",
    "updates",
    "replicas",
    "worker",
]


def test_model_defaults_are_read_from_the_estimator() -> None:
    signature = inspect.signature(RatingModel).parameters
    for name in ("epochs", "patience", "validation_fraction", "side_l2", "seed", "kind"):
        assert model_default(name) == signature[name].default


def test_build_model_passes_only_the_given_parameters() -> None:
    model = build_model("dot", {"factors": 8, "epochs": 2})
    assert (model.kind, model.factors, model.epochs) == ("dot", 8, 2)
    assert model.patience == model_default("patience")
    assert model.validation_split == "ratings"
    assert build_model(None).kind == model_default("kind")
    with pytest.raises(DataError, match="factors"):
        build_model("bias", {"factors": 0})


@pytest.mark.parametrize(
    ("requested", "split", "side", "expected"),
    [
        ("auto", "movies:0.2", True, "movies"),
        ("auto", "movies:0.2", False, "ratings"),
        ("auto", "random:0.1", True, "ratings"),
        ("ratings", "movies:0.2", True, "ratings"),
        ("movies", "random:0.1", False, "movies"),
    ],
)
def test_validation_carve(requested: str, split: str, side: bool, expected: str) -> None:
    assert validation_carve(requested, split, side) == expected


def test_validation_carve_refuses_an_unknown_value() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        validation_carve("users", "random:0.1", False)
    assert caught.value.parameter == "validation_split"


def _store(path: Path) -> Path:
    ids = np.arange(1, 6)
    genres = FeatureBlock.from_arrays("genres", ids, np.eye(5, dtype=np.float32))
    embedding = FeatureBlock.from_arrays("embedding", ids, np.ones((5, 2), dtype=np.float32))
    svd = FeatureBlock.from_arrays(
        "svd",
        ids,
        np.ones((5, 2), dtype=np.float32),
        provenance={"model": "RatingModel", "kind": "bias"},
    )
    FeatureStore.write(path, [genres, embedding, svd])
    return path


def test_default_side_blocks_leave_out_the_blocks_learned_from_ratings(tmp_path: Path) -> None:
    choice = choose_side_features(_store(tmp_path / "store"))
    assert [b.name for b in choice.blocks] == ["genres"]
    assert choice.left_out == ["embedding", "svd"] and choice.by_default


def test_named_side_blocks(tmp_path: Path) -> None:
    store = _store(tmp_path / "store")
    choice = choose_side_features(store, ["genres"])
    assert [b.name for b in choice.blocks] == ["genres"] and not choice.by_default
    with pytest.raises(DataError, match="block 'svd' was learned from ratings"):
        choose_side_features(store, ["genres", "svd"])
    with pytest.raises(InvalidParameterError, match="name at least one block"):
        choose_side_features(store, [])


def test_a_store_of_learned_blocks_only_is_refused(tmp_path: Path) -> None:
    ids = np.arange(1, 4)
    block = FeatureBlock.from_arrays("embedding", ids, np.ones((3, 2), dtype=np.float32))
    FeatureStore.write(tmp_path / "store", [block])
    with pytest.raises(DataError, match="no block usable as side features") as caught:
        choose_side_features(tmp_path / "store")
    assert caught.value.parameter == "blocks"


def test_checkpoint_folder_policy(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "m"
    worker = ClusterRole("worker", 1, 2)
    assert checkpoint_folder(out, worker) is None
    assert checkpoint_folder(out, worker, distribute="multiworker") == (
        tmp_path / "runs" / ".m.checkpoints" / "worker-1"
    )
    chosen = tmp_path / "ckpt"
    assert checkpoint_folder(out, ClusterRole(), checkpoint_dir=chosen) == chosen / "local"


def test_default_folders() -> None:
    assert default_model_dir("ml-1m", "dot") == Path("runs/ml-1m-dot")
    assert default_report_dir("runs/ml-1m-dot") == Path("runs/ml-1m-dot-analysis")
    assert set(analysis_defaults()) == {"top_movies", "n_components", "n", "max_labels"}


def test_load_and_split_a_ratings_file() -> None:
    data, split = load_and_split(ratings=RATINGS, split="random:0.3", seed=1)
    assert split.name == "random:0.3"
    assert len(split.train) + len(split.test) == len(data.ratings)
    _, again = load_and_split(ratings=RATINGS, split="random:0.3", seed=1)
    assert split.test.equals(again.test)
    _, other = load_and_split(ratings=RATINGS, split="random:0.3", seed=2)
    assert not split.test.equals(other.test)


@pytest.fixture(scope="module")
def trained() -> tuple[TrainingRun, dict[str, Any]]:
    data, split = load_and_split(ratings=RATINGS, split="random:0.3", seed=0)
    model = build_model("bias", {"epochs": 2, "batch_size": 8, "factors": 4})
    run = train_and_evaluate(model, data, split)
    return run, run.metrics()


def test_metrics_schema(trained: tuple[TrainingRun, dict[str, Any]]) -> None:
    _, metrics = trained
    optional = ("fallback", "day_biases")  # present when there is something to say
    assert [key for key in metrics if key not in optional] == METRICS_KEYS
    assert "shrinkage" in metrics["day_biases"]  # chosen, or why not
    assert metrics["model"] == "bias" and metrics["split"] == "random:0.3"
    assert metrics["n_train"] == metrics["n_fit"] + metrics["n_validation"]
    assert metrics["distribute"] == "none" and metrics["worker"] == "local"
    assert metrics["replicas"] == 1 and metrics["epochs_run"] == 2
    assert json.loads(json.dumps(metrics)) == metrics  # plain JSON


def test_save_run_keeps_the_chiefs_copy_only(
    trained: tuple[TrainingRun, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, metrics = trained
    checkpoints = tmp_path / "ckpt" / "local"
    checkpoints.mkdir(parents=True)
    assert save_run(run, tmp_path / "model", checkpoint_dir=checkpoints, metrics=metrics)
    saved = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert saved["rmse"] == metrics["rmse"]
    assert not (tmp_path / "ckpt").exists()  # this worker's folder, then the empty parent
    monkeypatch.setattr(run, "role", ClusterRole("worker", 1, 2))
    assert not save_run(run, tmp_path / "worker-model")
    assert not (tmp_path / "worker-model").exists()
