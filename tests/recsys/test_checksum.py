"""sha256_file: one checksum helper for posters in the metadata store and feature cache."""

from __future__ import annotations

import hashlib

import pytest

from recsys.checksum import sha256_file


@pytest.mark.parametrize("size", [0, 1, 5, 4096 + 3])
def test_matches_hashlib_whatever_the_chunk(tmp_path, size):
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == expected
    assert sha256_file(path, chunk=7) == expected


def test_known_value_and_missing_file(tmp_path):
    (tmp_path / "abc").write_bytes(b"abc")
    assert sha256_file(tmp_path / "abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "missing")


def test_both_poster_modules_use_it():
    import recsys.features.posters as feature_posters
    import recsys.metadata.posters as metadata_posters

    assert feature_posters.sha256_file is sha256_file
    assert metadata_posters.sha256_file is sha256_file
