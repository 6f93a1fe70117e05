"""Default model folders named by what distinguishes a run, and the rule that a folder
made with other settings is replaced only on purpose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys.errors import InvalidParameterError
from recsys.workflows.saving import check_same_run, default_model_dir, run_identity


def test_default_folders_differ_by_split_features_and_ratings_file() -> None:
    plain = default_model_dir("ml-latest-small", "bias")
    cold = default_model_dir("ml-latest-small", "bias", split="movies:0.2", features=["genres"])
    assert plain != cold and plain.as_posix() == "runs/ml-latest-small-bias"
    a = default_model_dir("ratings", "bias", dataset_spec="ratings:/a/ratings.dat|sep=::")
    b = default_model_dir("ratings", "bias", dataset_spec="ratings:/b/ratings.dat|sep=::")
    assert a != b
    long = default_model_dir("x", "dot", split="files:/very/long/path/" + "d" * 80 + ",t.csv")
    assert len(long.name) < 80 and "/" not in long.name


def _metrics(folder: Path, **changes: object) -> dict:
    metrics = {
        "model": "bias",
        "dataset_spec": "ml-latest-small",
        "split": "random:0.1",
        "rmse": 0.84,
        **changes,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return metrics


def test_same_settings_may_be_replaced_others_need_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    same = run_identity(_metrics(folder))
    check_same_run(folder, same)  # an earlier run of the same command
    check_same_run(tmp_path / "new", same)  # nothing there yet
    other = {**same, "model": "mlp"}
    with pytest.raises(InvalidParameterError) as error:
        check_same_run(folder, other)
    assert error.value.parameter == "overwrite"
    assert "model 'bias' there, 'mlp' now" in str(error.value)
    check_same_run(folder, other, overwrite=True)


def test_side_feature_blocks_are_part_of_the_identity(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    side = {"store": "fs", "blocks": [{"name": "overview"}, {"name": "genres"}]}
    identity = run_identity(_metrics(folder, side_features=side))
    assert identity["side_feature_blocks"] == ["genres", "overview"]
    with pytest.raises(InvalidParameterError, match="side_feature_blocks"):
        check_same_run(folder, {**identity, "side_feature_blocks": []})


@pytest.mark.slow
def test_train_refuses_to_replace_another_run_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recsys.cli import main

    out = tmp_path / "m"
    assert main(["train", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    before = (out / "metrics.json").read_bytes()
    capsys.readouterr()
    code = main(["train", "--model", "dot", "--epochs", "1", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "pass --overwrite" in err and "'bias' there, 'dot' now" in err
    assert (out / "metrics.json").read_bytes() == before  # untouched
    assert main(["train", "--model", "dot", "--epochs", "1", "--quiet", "--overwrite",
                 "--out", str(out)]) == 0  # fmt: skip
    assert json.loads((out / "metrics.json").read_text())["model"] == "dot"
