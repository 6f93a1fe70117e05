"""String user and movie ids (ISBNs, ``tt0111161``, names): read, coded, cached, saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import (
    IdLabels,
    load_ratings_file,
    load_ratings_frame,
    ratings_frame,
    read_ratings_file,
)
from recsys.data.generic import SAMPLE_ROWS
from recsys.errors import DataError, InvalidParameterError, UnknownIdError
from recsys.ids import IdMaps, encode_ids
from recsys.workflows import load_and_split

from .test_columnar import cached_dirs


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_labels_encode_decode_and_refuse_unknown_or_empty_ids() -> None:
    labels, codes = IdLabels.from_values(["b", "a", "c", "a"], entity="user")
    assert labels.labels.tolist() == ["a", "b", "c"] and codes.tolist() == [2, 1, 3, 1]
    assert labels.decode(codes).tolist() == ["b", "a", "c", "a"]
    assert labels.encode(["c", "zz"], missing="negative").tolist() == [3, -1]
    with pytest.raises(UnknownIdError, match="unknown user id 'zz'"):
        labels.encode(["zz"])
    with pytest.raises(UnknownIdError):
        labels.decode([0])
    with pytest.raises(DataError, match=r"user id 2 .* is empty"):
        IdLabels.from_values(["a", " ", "b"], entity="user")


def test_a_file_with_string_ids_keeps_them_and_integer_ids_stay_integers(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "r.csv",
        "user,item,rating\nann,0195153448,4\nbob,tt0111161,5\nann,tt0111161,3\n",
    )
    frame = read_ratings_file(path)
    assert frame["user_id"].tolist() == ["ann", "bob", "ann"]
    # the leading zero of an ISBN survives: ids are read as text when they are not
    # plainly written integers
    assert frame["movie_id"].tolist() == ["0195153448", "tt0111161", "tt0111161"]
    plain = read_ratings_file(write(tmp_path / "p.csv", "user,item,rating\n1,10,4\n2,7,5\n"))
    assert plain["user_id"].dtype == np.int32 and plain["movie_id"].tolist() == [10, 7]


def test_a_string_id_after_the_sampled_rows_still_makes_the_column_strings(
    tmp_path: Path,
) -> None:
    rows = [f"{i},{i % 7 + 1},4" for i in range(1, SAMPLE_ROWS + 50)] + ["carol,3,2"]
    path = write(tmp_path / "late.csv", "user,item,rating\n" + "\n".join(rows) + "\n")
    frame = read_ratings_file(path)
    assert frame["user_id"].iloc[-1] == "carol" and frame["user_id"].iloc[0] == "1"
    assert frame["movie_id"].dtype == np.int32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user,item,rating\nann,x1,4\n,x2,5\n", "line 3: the user id is empty"),
        ("user,item,rating\n1,2.5,4\n", "movie value '2.5' is not an integer"),
    ],
)
def test_empty_or_decimal_ids_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        read_ratings_file(write(tmp_path / "bad.csv", text))
    assert "\n" not in str(info.value)


def test_a_dataset_codes_string_ids_titles_movies_and_caches_the_strings(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "r.csv",
        "user,item,rating,timestamp\nann,tt2,4,1\nbob,tt1,5,1\nann,tt1,3,1\nann,tt2,2,9\n",
    )
    parsed = load_ratings_file(path, columnar=False)
    assert parsed.n_duplicates == 1  # (ann, tt2) twice: the later rating (2) is kept
    assert parsed.ids.users is not None and parsed.ids.movies is not None
    assert parsed.ids.users.labels.tolist() == ["ann", "bob"]
    assert parsed.ratings["user_id"].dtype == np.int32
    decoded = parsed.ids.decode_frame(parsed.ratings)
    assert decoded[["user_id", "movie_id", "rating"]].values.tolist() == [
        ["bob", "tt1", 5.0],
        ["ann", "tt1", 3.0],
        ["ann", "tt2", 2.0],
    ]
    assert parsed.movies["title"].tolist() == ["tt1", "tt2"]  # a string id titles its movie
    first = load_ratings_file(path, columnar=True)
    (folder,) = cached_dirs()
    assert {"user_labels.npy", "movie_labels.npy"} <= {p.name for p in folder.iterdir()}
    second = load_ratings_file(path, columnar=True)  # from the cache
    for data in (first, second):
        pd.testing.assert_frame_equal(data.ratings, parsed.ratings, check_dtype=False)
        assert data.ids == parsed.ids and data.n_duplicates == 1


@pytest.mark.slow  # trains a model
def test_a_frame_with_string_ids_trains_saves_and_loads_with_its_strings(
    tmp_path: Path,
) -> None:
    from recsys.models.persistence import load_ids
    from recsys.models.rating_model import RatingModel

    rng = np.random.default_rng(0)
    raw = pd.DataFrame(
        {
            "who": [f"user-{u}" for u in rng.integers(0, 30, 600)],
            "isbn": [f"0{m:09d}" for m in rng.integers(0, 40, 600)],
            "stars": rng.integers(1, 6, 600).astype(float),
        }
    )
    with pytest.raises(InvalidParameterError, match="load_ratings_frame"):
        RatingModel("bias", epochs=1).fit(ratings_frame(raw, user="who", item="isbn"))
    data = load_ratings_frame(raw, user="who", item="isbn", rating="stars")
    assert data.n_duplicates == len(raw) - len(raw.drop_duplicates(["who", "isbn"]))
    model = RatingModel("bias", epochs=2, factors=4).fit(data.ratings, ids=data.ids)
    model.save(tmp_path / "m")
    loaded = RatingModel.load(tmp_path / "m")
    assert loaded.ids_ == data.ids and load_ids(tmp_path / "m") == data.ids
    code = loaded.ids_.user_code("user-3")
    top = loaded.ids_.decode_frame(loaded.recommend(code, 3, min_ratings=0))
    assert top["movie_id"].str.fullmatch(r"0\d{9}").all()
    assert loaded.predict([code], [loaded.ids_.movie_code("0000000007")]).shape == (1,)


def test_integer_models_have_no_string_tables(tmp_path: Path) -> None:
    from recsys.models.persistence import load_ids

    assert IdMaps().empty and load_ids(tmp_path) == IdMaps()
    frame, ids = encode_ids(pd.DataFrame({"user_id": [1, 2], "movie_id": [3, 4]}))
    assert ids.empty and frame["user_id"].tolist() == [1, 2]


def test_the_files_of_a_files_split_share_one_code_table(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "user,item,rating\nann,m1,4\nbob,m2,3\nann,m2,5\n")
    write(tmp_path / "b.csv", "user,item,rating\nbob,m1,2\ncarl,m2,1\n")
    data, parts = load_and_split(split=f"files:{tmp_path / 'a.csv'},{tmp_path / 'b.csv'}")
    users = data.ids.users
    assert users is not None and users.labels.tolist() == ["ann", "bob", "carl"]
    assert users.decode(parts.train["user_id"]).tolist() == ["ann", "bob", "ann"]
    assert users.decode(parts.test["user_id"]).tolist() == ["bob", "carl"]
    assert data.movies["title"].tolist() == ["m1", "m2"]


def test_a_frame_with_an_empty_string_id_is_one_clear_error() -> None:
    raw = pd.DataFrame({"user": ["ann", " ", None], "item": ["x", "y", "z"], "rating": [1, 2, 3]})
    with pytest.raises(DataError, match=r"frame's row 1: the user id is empty \(2 such row"):
        load_ratings_frame(raw)


def test_frames_and_files_share_the_id_rules() -> None:
    """Decimal numbers in an object column are refused as in a file; a mix of
    numbers and strings is string ids; huge integers are refused."""
    decimals = pd.DataFrame({"user": ["1", "2.5"], "item": ["x", "y"], "rating": [1, 2]})
    with pytest.raises(DataError, match=r"row 1: user value '2.5' is not an integer"):
        load_ratings_frame(decimals)
    mixed = pd.DataFrame({"user": [7, "ann"], "item": ["x", "y"], "rating": [1.0, 2.0]})
    data = load_ratings_frame(mixed)
    assert data.ids.users is not None and data.ids.users.labels.tolist() == ["7", "ann"]
    padded = pd.DataFrame({"user": ["1", "2"], "item": ["0042", "0007"], "rating": [1, 2]})
    assert load_ratings_frame(padded).ids.movies.labels.tolist() == ["0007", "0042"]
    huge = pd.DataFrame({"user": ["1", str(2**64)], "item": ["x", "y"], "rating": [1, 2]})
    with pytest.raises(DataError, match="does not fit a 64-bit integer"):
        load_ratings_frame(huge)
