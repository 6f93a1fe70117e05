from __future__ import annotations

import hashlib

import pytest
from PIL import Image

from recsys.metadata.client import TMDBNotFound
from recsys.metadata.posters import (
    PosterError,
    check_image,
    download_poster,
    poster_filename,
    remove_stale_parts,
    write_poster,
)
from tests.recsys.metadata.fake_tmdb import Fault, make_jpeg

POSTER = "/t/p/w185/poster862.jpg"


def no_parts(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_write_poster_is_complete_and_checksummed(tmp_path):
    data = make_jpeg(3, (30, 44))
    poster = write_poster(data, tmp_path / "p" / "3_w185.jpg")
    assert poster.path.read_bytes() == data
    assert poster.sha256 == hashlib.sha256(data).hexdigest()
    assert (poster.width, poster.height, poster.bytes) == (30, 44, len(data))
    assert poster.path.is_absolute()
    assert no_parts(tmp_path / "p")


def test_truncated_image_is_refused_and_leaves_nothing(tmp_path):
    data = make_jpeg(4)
    target = tmp_path / "4_w185.jpg"
    with pytest.raises(PosterError, match="not a complete image"):
        write_poster(data[: len(data) // 2], target)
    assert not target.exists()
    assert no_parts(tmp_path)
    # An existing good poster survives a bad replacement.
    write_poster(data, target)
    with pytest.raises(PosterError):
        write_poster(b"<html>error page</html>", target)
    assert target.read_bytes() == data


def test_check_image_reports_size():
    assert check_image(make_jpeg(1, (20, 10))) == (20, 10)
    with pytest.raises(PosterError):
        check_image(b"")


def test_download_retries_a_truncated_image(client, fake_tmdb, tmp_path):
    fake_tmdb.add_faults(POSTER, Fault.corrupt(), Fault.cut())
    poster = download_poster(
        client, "/poster862.jpg", "w185", tmp_path / "862_w185.jpg", sleep=lambda s: None
    )
    assert fake_tmdb.count(POSTER) == 3
    assert poster.path.read_bytes() == make_jpeg(862)
    with Image.open(poster.path) as image:
        image.load()
    assert no_parts(tmp_path)


def test_download_gives_up_on_an_always_broken_image(client, fake_tmdb, tmp_path):
    fake_tmdb.add_faults(POSTER, *[Fault.corrupt()] * 4)
    target = tmp_path / "862_w185.jpg"
    with pytest.raises(PosterError, match="did not decode after 4 downloads"):
        download_poster(client, "/poster862.jpg", "w185", target, sleep=lambda s: None)
    assert fake_tmdb.count(POSTER) == 4
    assert not target.exists() and no_parts(tmp_path)


def test_missing_image_is_not_found(client, tmp_path):
    with pytest.raises(TMDBNotFound):
        download_poster(client, "/nothere.jpg", "w185", tmp_path / "x.jpg")


def test_stale_parts_are_removed(tmp_path):
    (tmp_path / ".862_w185.jpg.abc.part").write_bytes(b"\xff\xd8half")
    (tmp_path / "862_w185.jpg").write_bytes(make_jpeg(1))
    assert remove_stale_parts(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["862_w185.jpg"]
    assert remove_stale_parts(tmp_path / "absent") == 0


def test_poster_filename():
    assert poster_filename(862, "w342", "/abc.PNG") == "862_w342.png"
    assert poster_filename(862, "original", "/abc") == "862_original.jpg"
