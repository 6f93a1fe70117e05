"""``recsys features build --quiet`` prints nothing but errors, even for damaged posters."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.cli import main
from recsys.features import FeatureStore


def test_quiet_build_prints_nothing_on_either_stream(
    tmp_path: Path,
    poster_dir: Path,
    metadata_store: Path,
    word_vectors_file: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Captured at the file-descriptor level, so a TensorFlow C++ log line would show
    (the poster folder holds a truncated JPEG and a file that is no image)."""
    truncated = (poster_dir / "105.jpg").read_bytes()
    assert truncated[:2] == b"\xff\xd8" and b"\xff\xd9" not in truncated[-64:]
    out = tmp_path / "features"
    capfd.readouterr()
    code = main(
        [
            "features",
            "build",
            "--quiet",
            "--blocks",
            "poster,overview_w2v,genres",
            "--metadata",
            str(metadata_store),
            "--cnn-weights",
            "none",
            "--image-size",
            "32",
            "--word-vectors",
            str(word_vectors_file),
            "--out",
            str(out),
        ]
    )
    printed, err = capfd.readouterr()
    assert code == 0
    assert printed == "" and err == ""
    poster = FeatureStore(out)["poster"]
    failures = {f["movie_id"]: f["reason"] for f in poster.provenance["failures"]}
    assert poster.mask.tolist() == [True] * 4 + [False] * 3  # 104 junk, 105 cut, 106 gone
    assert failures[105] == "not a decodable image"  # the truncated one, decided by Pillow
