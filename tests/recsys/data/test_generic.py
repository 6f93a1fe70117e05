"""The generic ratings reader: headers, --columns, separators and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.data import read_ratings_file
from recsys.data.generic import parse_columns
from recsys.errors import DataError


def write(tmp_path: Path, text: str, name: str = "r.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_header_names_are_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,rating,timestamp\n1,10,7,100\n2,10,3,101\n")
    frame = read_ratings_file(path)
    assert frame.to_dict("list") == {
        "user_id": [1, 2],
        "movie_id": [10, 10],
        "rating": [7.0, 3.0],
        "timestamp": [100, 101],
    }


def test_columns_without_header_and_skipped_column(tmp_path: Path) -> None:
    path = write(tmp_path, "5\tx\t42\t9.5\n6\ty\t42\t0\n")
    frame = read_ratings_file(path, sep="\\t", columns="user,-,item,rating")
    assert frame["rating"].tolist() == [9.5, 0.0]
    assert "timestamp" not in frame.columns


def test_columns_with_a_header_line_skip_it(tmp_path: Path) -> None:
    path = write(tmp_path, "u;i;r\n1;2;3\n")
    assert len(read_ratings_file(path, sep=";", columns="user,item,rating")) == 1


def test_multi_character_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "1::2::3::4\n")
    frame = read_ratings_file(path, sep="::", columns="user,item,rating,timestamp")
    assert frame.iloc[0].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, "is empty"),
        ("userId,movieId,rating\n", {}, "has a header but no ratings"),
        ("userId\tmovieId\trating\n1\t2\t3\n", {}, r"looks separated by '\\t'"),
        ("a,b,c\n1,2,3\n", {}, "does not name user, item and rating"),
        ("userId,movieId,rating\n1,2,good\n", {}, "line 2: rating value 'good' is not a number"),
        ("userId,movieId,rating\n1,2,\n", {}, "missing or not finite"),
        ("userId,movieId,rating\n1.5,2,3\n", {}, "user value '1.5' is not an integer"),
        ("userId,movieId,rating\n1,2,nan\n", {}, "missing or not finite"),
        ("1,2,3\n", {"columns": "user,item"}, "has no rating column"),
        ("1,2,3\n", {"columns": "user,item,rating,timestamp"}, "names 4 column"),
        ("1,2,3\n", {"columns": "user,item,stars2"}, "unknown column name"),
    ],
)
def test_bad_files_get_one_clear_message(
    tmp_path: Path, text: str, kwargs: dict, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        read_ratings_file(path, **kwargs)
    assert "\n" not in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(DataError, match="no such ratings file"):
        read_ratings_file("/nonexistent/ratings.csv")


def test_parse_columns() -> None:
    assert parse_columns("userId, movieId, rating, -") == ["user_id", "movie_id", "rating", None]
    with pytest.raises(DataError, match="twice"):
        parse_columns("user,user,item,rating")


def test_ids_beyond_32_bits_are_refused_not_wrapped(tmp_path: Path) -> None:
    path = write(tmp_path, "userId,movieId,rating\n99999999999,1,4\n1,2,3\n")
    with pytest.raises(DataError, match="user id 99999999999 does not fit in 32 bits"):
        read_ratings_file(path)
