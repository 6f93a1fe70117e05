"""The columnar cache: written once, memory-mapped after, invalidated, never half-written."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import columnar, load_dataset, load_ratings_file
from recsys.data.synth import SynthSpec, write_synthetic
from recsys.paths import cache_dir


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    return write_synthetic(
        SynthSpec(n_users=60, n_movies=50, n_ratings=900, seed=2), tmp_path / "synth"
    )


def memory_mapped(array: np.ndarray) -> bool:
    base = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def cached_dirs() -> list[Path]:
    root = cache_dir("columnar")
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def test_first_load_parses_and_caches_later_loads_memory_map(source: Path) -> None:
    parsed = load_dataset(source, columnar=False).ratings
    first = load_dataset(source, columnar=True).ratings
    assert len(cached_dirs()) == 1
    (folder,) = cached_dirs()
    assert sorted(p.name for p in folder.iterdir()) == [
        "columns.json",
        "movie_id.npy",
        "rating.npy",
        "timestamp.npy",
        "user_id.npy",
    ]
    stamp = (folder / "user_id.npy").stat().st_mtime_ns
    second = load_dataset(source, columnar=True).ratings
    assert (folder / "user_id.npy").stat().st_mtime_ns == stamp  # not rewritten
    assert not memory_mapped(parsed["user_id"].to_numpy())
    for frame in (first, second):
        pd.testing.assert_frame_equal(frame, parsed)
        column = frame["user_id"].to_numpy()
        assert memory_mapped(column)
        assert not column.flags.writeable


def test_a_changed_source_is_parsed_again(source: Path) -> None:
    load_dataset(source, columnar=True)
    ratings_csv = source / "ratings.csv"
    lines = ratings_csv.read_text().splitlines()
    ratings_csv.write_text("\n".join(lines[:-10]) + "\n")
    again = load_dataset(source, columnar=True).ratings
    assert len(again) == 900 - 10
    assert len(cached_dirs()) == 2


def test_small_sources_skip_the_cache_unless_asked(source: Path) -> None:
    load_dataset(source)
    assert cached_dirs() == []
    load_dataset(source, columnar=True)
    assert len(cached_dirs()) == 1


def test_environment_switch_turns_it_off(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_COLUMNAR", "0")
    load_dataset(source, columnar=True)
    assert cached_dirs() == []


def test_plain_ratings_files_are_cached_per_reader_options(source: Path) -> None:
    path = source / "ratings.csv"
    a = load_ratings_file(path, columnar=True).ratings
    b = load_ratings_file(path, columnar=True).ratings
    pd.testing.assert_frame_equal(a, b)
    assert len(cached_dirs()) == 1
    load_ratings_file(path, sep=",", columns="user,item,rating,timestamp", columnar=True)
    assert len(cached_dirs()) == 2


def test_an_interrupted_write_leaves_no_cache(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = np.save
    calls = []

    def dying_save(file: object, array: object, **kwargs: object) -> None:
        calls.append(file)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if the ingest were killed mid-way
        real_save(file, array, **kwargs)

    monkeypatch.setattr(columnar.np, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(source, columnar=True)
    root = cache_dir("columnar")
    assert not root.exists() or os.listdir(root) == []
    monkeypatch.setattr(columnar.np, "save", real_save)
    assert len(load_dataset(source, columnar=True).ratings) == 900
    assert len(cached_dirs()) == 1


def test_a_damaged_cache_is_rebuilt(source: Path) -> None:
    load_dataset(source, columnar=True)
    (folder,) = cached_dirs()
    (folder / "rating.npy").write_bytes(b"not an array")
    ratings = load_dataset(source, columnar=True).ratings
    assert len(ratings) == 900 and ratings["rating"].between(0.5, 5).all()


def test_duplicates_are_dropped_once_when_parsing_and_counted_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ratings.csv"
    # (1, 10) is rated three times: the latest timestamp (4.0 at t=300) is kept
    path.write_text(
        "userId,movieId,rating,timestamp\n"
        "1,10,3.0,100\n2,10,4.5,100\n1,10,4.0,300\n1,11,2.0,100\n1,10,1.0,200\n"
    )
    first = load_ratings_file(path, columnar=True)
    assert first.n_duplicates == 2
    assert first.ratings["rating"].tolist() == [4.5, 4.0, 2.0]
    (folder,) = cached_dirs()
    assert '"duplicates": 2' in (folder / "columns.json").read_text()

    def must_not_run(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        raise AssertionError("the duplicate search ran again on a cache hit")

    monkeypatch.setattr(columnar, "drop_duplicate_pairs", must_not_run)
    second = load_ratings_file(path, columnar=True)
    assert second.n_duplicates == 2
    pd.testing.assert_frame_equal(second.ratings, first.ratings)


def test_a_cache_without_a_duplicate_count_is_rebuilt(source: Path) -> None:
    load_dataset(source, columnar=True)
    (folder,) = cached_dirs()
    meta = (folder / "columns.json").read_text().replace('"duplicates": 0', '"duplicates": null')
    (folder / "columns.json").write_text(meta)
    stamp = (folder / "user_id.npy").stat().st_mtime_ns
    assert load_dataset(source, columnar=True).n_duplicates == 0
    (folder,) = cached_dirs()
    assert (folder / "user_id.npy").stat().st_mtime_ns != stamp  # rebuilt
