"""Each MovieLens layout is detected and read, from a directory and from a .zip."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from recsys.data import DataSource, load_dataset
from recsys.data.movielens import detect_layout, read_fold
from recsys.errors import DataError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def zipped(folder: Path, tmp_path: Path) -> Path:
    """The fixture packed like a GroupLens archive: files under a top-level folder."""
    archive = tmp_path / f"{folder.name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, f"{folder.name}/{file.name}")
    return archive


@pytest.fixture(params=["dir", "zip"])
def as_source(request: pytest.FixtureRequest, tmp_path: Path):
    def make(name: str) -> Path:
        folder = FIXTURES / name
        return folder if request.param == "dir" else zipped(folder, tmp_path)

    return make


def test_csv_layout(as_source) -> None:
    data = load_dataset(as_source("ml-csv"))
    assert data.layout == "csv" and data.name == "ml-csv"
    assert data.ratings.dtypes.astype(str).tolist() == ["int32", "int32", "float32", "int64"]
    assert len(data.ratings) == 7 and data.ratings["rating"].min() == 0.5
    movies = data.movies.set_index("movie_id")
    assert movies.loc[3, "title"] == "Grumpier Old Men, The (1995)"
    assert movies.loc[3, "year"] == 1995
    assert movies.loc[1, "genres"] == ("Adventure", "Animation", "Children", "Comedy", "Fantasy")
    assert movies.loc[10, "genres"] == ()
    assert movies.loc[1, "imdb_id"] == "tt0114709" and movies.loc[1, "tmdb_id"] == 862
    assert movies["tmdb_id"].isna().sum() == 1
    tags = data.read_tags()
    assert tags["tag"].tolist() == ["pixar", "heist, crime"]


def test_dat_layout_1m_latin1(as_source) -> None:
    data = load_dataset(as_source("ml-1m"))
    assert data.layout == "dat"
    assert data.ratings[["user_id", "movie_id"]].to_numpy().tolist()[:2] == [[1, 1], [1, 2]]
    movies = data.movies.set_index("movie_id")
    assert movies.loc[3, "title"] == "Misérables, Les (1995)"
    assert movies.loc[1, "genres"] == ("Animation", "Children", "Comedy")  # Children's renamed
    assert data.read_tags().empty


def test_dat_layout_10m_with_half_stars_and_tags(as_source) -> None:
    data = load_dataset(as_source("ml-10m"))
    assert data.ratings["rating"].tolist() == [5.0, 4.5, 3.0]
    assert data.read_tags()["tag"].tolist() == ["dentist"]


def test_100k_layout_and_folds(as_source) -> None:
    data = load_dataset(as_source("ml-100k"))
    assert data.layout == "100k" and data.folds == ("u1",)
    movies = data.movies.set_index("movie_id")
    assert movies.loc[3, "title"] == "Café au lait (1994)"
    assert movies.loc[1, "genres"] == ("Children", "Comedy")
    assert movies.loc[3, "genres"] == ()  # only "unknown" is flagged
    train, test = data.read_fold("u1")
    assert len(train) == 4 and len(test) == 2
    assert set(map(tuple, test[["user_id", "movie_id"]].to_numpy())) == {(1, 2), (2, 3)}
    with pytest.raises(DataError, match="fold 'u2' is not in"):
        data.read_fold("u2")


def test_layout_detection_rejects_other_folders(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="not a MovieLens dataset"):
        detect_layout(DataSource(tmp_path))


def test_files_one_folder_down_are_found(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "ml-csv", tmp_path / "ml-csv")
    assert load_dataset(tmp_path).name == "ml-csv"


def test_bundled_dataset_is_complete() -> None:
    data = load_dataset()
    assert data.name == "ml-latest-small"
    assert len(data.ratings) == 100_836
    assert data.ratings["user_id"].nunique() == 610
    assert len(data.movies) == 9_742
    assert data.movies["tmdb_id"].notna().sum() == 9_734
    np.testing.assert_array_equal(np.unique(data.ratings["rating"]), np.arange(1, 11) / 2)


def test_non_numeric_rating_in_movielens_file(tmp_path: Path) -> None:
    folder = tmp_path / "ml-bad"
    shutil.copytree(FIXTURES / "ml-csv", folder)
    with open(folder / "ratings.csv", "a") as handle:
        handle.write("4,1,great,964982703\n")
    with pytest.raises(DataError, match="not a number"):
        load_dataset(folder)


def test_unknown_names_and_missing_paths() -> None:
    with pytest.raises(DataError, match="unknown dataset 'ml-999m'"):
        load_dataset("ml-999m")
    with pytest.raises(DataError, match="no such dataset path"):
        load_dataset("/nonexistent/folder")


def test_fold_of_dataset_without_folds() -> None:
    with pytest.raises(DataError, match="no predefined folds"):
        load_dataset().read_fold("u1")


def test_read_fold_needs_100k(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="only ml-100k"):
        read_fold(DataSource(FIXTURES / "ml-csv"), "u1")


def test_movielens_ids_beyond_32_bits(tmp_path: Path) -> None:
    folder = tmp_path / "ml-big"
    shutil.copytree(FIXTURES / "ml-csv", folder)
    with open(folder / "ratings.csv", "a") as handle:
        handle.write("99999999999,1,4.0,964982703\n")
    with pytest.raises(DataError, match="does not fit in 32 bits"):
        load_dataset(folder)
