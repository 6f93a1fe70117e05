"""Ratings files in the forms real datasets come in: compressed, with a byte-order
mark, with header names of their own (``--columns ROLE=NAME``), and their bad forms."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from recsys.cli import main
from recsys.data.generic import parse_column_map, read_ratings_file
from recsys.errors import DataError, InvalidParameterError

from ..cli.helpers import assert_one_line_error, invoke

TEXT = "userId,movieId,stars,ts\n1,10,4,100\n1,11,3,101\n2,10,5,102\n2,12,2.5,103\n"
EXPECTED = pd.DataFrame(
    {
        "user_id": [1, 1, 2, 2],
        "movie_id": [10, 11, 10, 12],
        "rating": [4.0, 3.0, 5.0, 2.5],
        "timestamp": [100, 101, 102, 103],
    }
)
MAP = "user=userId,item=movieId,rating=stars,timestamp=ts"


def _write(path: Path, data: bytes) -> Path:
    suffix = path.suffix
    if suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    elif suffix == ".bz2":
        path.write_bytes(bz2.compress(data))
    elif suffix == ".xz":
        path.write_bytes(lzma.compress(data))
    elif suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("ratings.csv", data)
    else:
        path.write_bytes(data)
    return path


def _same(frame: pd.DataFrame) -> None:
    got = frame[list(EXPECTED.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, EXPECTED, check_dtype=False)


@pytest.mark.parametrize("name", ["r.csv", "r.csv.gz", "r.csv.bz2", "r.csv.xz", "r.zip"])
@pytest.mark.parametrize("bom", [False, True])
def test_compressed_files_with_or_without_a_bom(tmp_path: Path, name: str, bom: bool) -> None:
    data = (b"\xef\xbb\xbf" if bom else b"") + TEXT.encode()
    _same(read_ratings_file(_write(tmp_path / name, data), columns=MAP))


def test_header_names_of_the_file_own(tmp_path: Path) -> None:
    text = "Reviewer;Asin;Overall;When\n1;10;4;100\n1;11;3;101\n2;10;5;102\n2;12;2.5;103\n"
    path = _write(tmp_path / "r.txt", text.encode())
    frame = read_ratings_file(
        path, sep=";", columns="user=reviewer,item=asin,rating=overall,timestamp=when"
    )
    _same(frame)  # a case-insensitive match when there is no exact one


def test_a_gzipped_dat_file_with_a_multi_character_separator(tmp_path: Path) -> None:
    text = "1::10::4::100\n1::11::3::101\n2::10::5::102\n2::12::2.5::103\n"
    path = _write(tmp_path / "ratings.dat.gz", text.encode())
    _same(read_ratings_file(path, sep="::", columns="user,item,rating,timestamp"))


def test_parse_column_map() -> None:
    assert parse_column_map("user=u, item=i, rating=r") == {
        "user_id": "u",
        "movie_id": "i",
        "rating": "r",
    }
    for spec in ("user=u,item=i", "user=u,item=i,rating=", "who=u,item=i,rating=r"):
        with pytest.raises(InvalidParameterError):
            parse_column_map(spec)


def test_a_mapped_name_missing_from_the_header_lists_the_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", TEXT.encode())
    with pytest.raises(InvalidParameterError, match="which has: userId, movieId, stars, ts"):
        read_ratings_file(path, columns="user=userId,item=itemId,rating=stars")


@pytest.mark.parametrize("name", ["r.csv.gz", "r.csv.bz2", "r.csv.xz", "r.zip"])
def test_corrupt_or_truncated_archives(tmp_path: Path, name: str) -> None:
    whole = tmp_path / f"whole{Path(name).suffix}"
    _write(whole, (TEXT * 200).encode())
    truncated = tmp_path / name
    truncated.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    with pytest.raises(DataError, match="is not a valid"):
        read_ratings_file(truncated, columns=MAP)
    (tmp_path / "plain.gz").write_text(TEXT)  # not compressed at all
    with pytest.raises(DataError, match="not a valid gzip file"):
        read_ratings_file(tmp_path / "plain.gz")


def test_a_zip_with_two_files(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", TEXT)
        archive.writestr("b.csv", TEXT)
    with pytest.raises(DataError, match="holds 2 files"):
        read_ratings_file(path)


def test_cli_bad_column_map_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "r.csv.gz", TEXT.encode())
    out = tmp_path / "model"
    code, _, err = invoke(
        main,
        ["train", "--ratings", str(path), "--columns", "user=u,item=movieId,rating=stars",
         "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert_one_line_error(code, err, "'u' not in the header")
    assert "--columns" in err and not out.exists()
