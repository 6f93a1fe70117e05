"""A feature store is switched by its manifest alone and verified on open (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import recsys.features.store as store_module
from recsys.errors import DataError
from recsys.features import FeatureBlock, FeatureStore


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (no except Exception catches it)."""


def _genres(n: int) -> FeatureBlock:
    return FeatureBlock.from_arrays(
        "genres", np.arange(1, n + 1), np.eye(n, 2, dtype=np.float32), columns=["a", "b"]
    )


def test_a_rebuild_stopped_after_its_block_leaves_the_old_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's scenario: a kill right after the new block is renamed into place."""
    FeatureStore.write(tmp_path / "fs", [_genres(5)])
    old_manifest = (tmp_path / "fs" / "manifest.json").read_text()

    def kill(kind: str, path: object) -> None:
        raise Killed

    monkeypatch.setattr(store_module, "output_step", kill)
    with pytest.raises(Killed):
        FeatureStore.write(tmp_path / "fs", [_genres(9)])
    monkeypatch.undo()
    assert (tmp_path / "fs" / "manifest.json").read_text() == old_manifest
    store = FeatureStore(tmp_path / "fs")  # verified: the old block, the old counts
    assert store["genres"].movie_ids.size == 5
    assert store.describe()["blocks"]["genres"]["n_movies"] == 5
    assert len(list((tmp_path / "fs").glob("genres.*.npz"))) == 2  # the orphan new block

    FeatureStore.write(tmp_path / "fs", [_genres(7)])  # the next write cleans up
    names = sorted(p.name for p in (tmp_path / "fs").iterdir())
    assert len(names) == 2 and "manifest.json" in names
    assert FeatureStore(tmp_path / "fs")["genres"].movie_ids.size == 7


def test_a_stale_manifest_is_refused_with_the_block_named(tmp_path: Path) -> None:
    """What the old format allowed: a block file replaced behind the manifest's back."""
    store = FeatureStore.write(
        tmp_path / "fs", [_genres(5), FeatureBlock.from_arrays("pca", [1, 2], [[0.5], [0.25]])]
    )
    other = FeatureStore.write(tmp_path / "other", [_genres(9)])
    file = store.manifest["blocks"]["genres"]["file"]
    (store.path / file).write_bytes(
        (other.path / other.manifest["blocks"]["genres"]["file"]).read_bytes()
    )
    with pytest.raises(DataError, match=r"block 'genres' does not match its manifest: .* bytes"):
        FeatureStore(store.path)


def test_the_manifest_records_size_and_checksum(tmp_path: Path) -> None:
    import hashlib

    store = FeatureStore.write(tmp_path / "fs", [_genres(3)])
    entry = store.manifest["blocks"]["genres"]
    data = (store.path / entry["file"]).read_bytes()
    assert entry["bytes"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["file"] == f"genres.{entry['sha256'][:16]}.npz"
    assert json.loads((store.path / "manifest.json").read_text())["format"] == "recsys-features/2"


def test_rewriting_the_same_block_keeps_one_file(tmp_path: Path) -> None:
    FeatureStore.write(tmp_path / "fs", [_genres(3)])
    FeatureStore.write(tmp_path / "fs", [_genres(3)])
    assert len(list((tmp_path / "fs").iterdir())) == 2
