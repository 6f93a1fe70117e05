"""Block inputs of the genre models: no label block, nor any block made from the labels.

The leak (C2): a rating model fitted with the ``genres`` block as side features has
movie embeddings that contain the projected genre labels; its ``embedding`` and ``pca``
blocks gave a fused genre model a micro F1 of 0.996. They must be refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genre.cli import main as genre_main
from genre.fusion.block_inputs import choose_blocks, load_block_inputs, parse_block_names
from recsys.cli import main as recsys_main
from recsys.errors import DataError
from recsys.features import FeatureBlock, FeatureStore
from tests.genre.conftest import write_metadata_csv
from tests.recsys.cli.helpers import assert_one_line_error, invoke

GENRES = {"content": "MovieLens genre labels", "genre_labels": True}
PLAIN = {"model": "RatingModel", "learned_from_ratings": True, "side_features": []}
LEAKY = {
    "model": "RatingModel",
    "learned_from_ratings": True,
    "side_features": [
        {"name": "overview_w2v", "dim": 4, "provenance": {}},
        {"name": "genres", "dim": 3, "provenance": GENRES},
    ],
}
NAMES = ["embedding", "pca", "poster", "labels", "deep", "genres"]
PROVENANCE = {
    "embedding": LEAKY,
    "pca": PLAIN,
    "poster": {"backbone": "vgg16"},
    "labels": GENRES,  # genre labels under another name
    "deep": {"side_features": [{"name": "embedding", "provenance": LEAKY}]},
    "genres": {},
}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("genres", "block 'genres' holds the genre labels"),
        ("labels", "block 'labels' holds the genre labels"),
        (
            "embedding",
            "block 'embedding' was made from the genre labels (embedding <- genres, through",
        ),
        ("deep", "block 'deep' was made from the genre labels (deep <- embedding <- genres,"),
    ],
)
def test_label_blocks_and_blocks_made_from_them_are_refused(name: str, message: str) -> None:
    with pytest.raises(DataError) as error:
        parse_block_names(f"poster,{name}", NAMES, provenance=PROVENANCE)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_plain_blocks_are_accepted() -> None:
    assert parse_block_names("pca, poster", NAMES, provenance=PROVENANCE) == ["pca", "poster"]
    # without provenance only the name is known
    assert parse_block_names("embedding", NAMES) == ["embedding"]


def test_load_block_inputs_reads_the_provenance_of_the_store(tmp_path: Path) -> None:
    ids = np.array([1, 2, 3])
    store = FeatureStore.write(
        tmp_path / "store",
        [
            FeatureBlock.from_arrays(name, ids, np.ones((3, 2)), provenance=PROVENANCE[name])
            for name in ("embedding", "pca", "poster")
        ],
    )
    with pytest.raises(DataError, match="'embedding' was made from the genre labels"):
        load_block_inputs(store, ["poster", "embedding"], ids)
    inputs = load_block_inputs(store.path, ["pca", "poster"], ids)
    assert inputs.names == ["pca", "poster"] and inputs.coverage() == {"pca": 3, "poster": 3}


def test_choose_blocks_default_leaves_out_label_blocks_and_what_was_made_from_them(
    tmp_path: Path,
) -> None:
    ids = np.array([1, 2, 3])
    store = FeatureStore.write(
        tmp_path / "store",
        [
            FeatureBlock.from_arrays(name, ids, np.ones((3, 2)), provenance=PROVENANCE[name])
            for name in NAMES
        ],
    )
    assert choose_blocks(store, None) == ["pca", "poster"]
    assert choose_blocks(store, "poster") == ["poster"]
    with pytest.raises(DataError, match="'embedding' was made from the genre labels"):
        choose_blocks(store, "embedding")
    only_labels = FeatureStore.write(
        tmp_path / "labels",
        [FeatureBlock.from_arrays("genres", ids, np.ones((3, 2)), provenance=GENRES)],
    )
    with pytest.raises(DataError, match=r"has no input block, only the genre labels \(genres\)"):
        choose_blocks(only_labels, None)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, movielens) -> dict[str, Path]:
    """The reviewer's chain at small scale, on the first 240 bundled MovieLens movies:
    a labelled set, a rating model with genres as side features and a plain one, and
    the embedding/pca blocks of each."""
    root = tmp_path_factory.mktemp("leak")
    csv = write_metadata_csv(root / "meta.csv", movielens)
    assert (
        genre_main(
            [
                "dataset",
                "--metadata",
                str(csv),
                "--min-genre-fraction",
                "0.1",
                "--out",
                str(root / "gds"),
            ]
        )
        == 0
    )
    movies = movielens.movies.head(240)
    ratings = movielens.ratings[movielens.ratings["movie_id"].isin(movies["movie_id"])]
    data = root / "ml"
    data.mkdir()
    ratings.rename(columns={"user_id": "userId", "movie_id": "movieId"}).to_csv(
        data / "ratings.csv", index=False
    )
    (data / "movies.csv").write_text(
        "movieId,title,genres\n"
        + "".join(
            f'{m},"{t}",{"|".join(g) or "(no genres listed)"}\n'
            for m, t, g in zip(movies["movie_id"], movies["title"], movies["genres"], strict=True)
        )
    )
    fast = ["--epochs", "2", "--factors", "8", "--quiet"]
    assert (
        recsys_main(
            [
                "features",
                "build",
                "--blocks",
                "genres",
                "--data",
                str(data),
                "--quiet",
                "--out",
                str(root / "fs1"),
            ]
        )
        == 0
    )
    assert (
        recsys_main(
            [
                "train",
                "--data",
                str(data),
                "--features",
                str(root / "fs1"),
                "--blocks",
                "genres",
                *fast,
                "--out",
                str(root / "m_side"),
            ]
        )
        == 0
    )
    assert recsys_main(["train", "--data", str(data), *fast, "--out", str(root / "m_plain")]) == 0
    for model, store in (("m_side", "fs_leak"), ("m_plain", "fs_plain")):
        assert (
            recsys_main(
                [
                    "features",
                    "build",
                    "--blocks",
                    "embedding,pca",
                    "--pca-components",
                    "4",
                    "--model",
                    str(root / model),
                    "--quiet",
                    "--out",
                    str(root / store),
                ]
            )
            == 0
        )
    return {"gds": root / "gds", "fs_leak": root / "fs_leak", "fs_plain": root / "fs_plain"}


NET = ["--units", "8", "--epochs", "3", "--patience", "2", "--quiet"]


@pytest.mark.parametrize("blocks", [["--blocks", "embedding"], ["--blocks", "pca"], []])
def test_genre_train_refuses_embeddings_of_a_model_fitted_on_genres(
    chain: dict[str, Path], blocks: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(
        genre_main,
        [
            "train",
            "--dataset",
            str(chain["gds"]),
            "--features",
            str(chain["fs_leak"]),
            *blocks,
            "--model",
            "fusion",
            *NET,
            "--out",
            str(tmp_path / "m"),
        ],
        capsys,
    )
    assert_one_line_error(code, err, "was made from the genre labels")
    assert not (tmp_path / "m").exists()


def test_genre_ablate_refuses_them_too(
    chain: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(
        genre_main,
        [
            "ablate",
            "--dataset",
            str(chain["gds"]),
            "--features",
            str(chain["fs_leak"]),
            *NET,
            "--out",
            str(tmp_path / "a"),
        ],
        capsys,
    )
    assert_one_line_error(code, err, "'embedding' was made from the genre labels")


def test_embeddings_of_a_plain_model_are_still_accepted(
    chain: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(
        genre_main,
        [
            "train",
            "--dataset",
            str(chain["gds"]),
            "--features",
            str(chain["fs_plain"]),
            "--blocks",
            "embedding,pca",
            "--model",
            "fusion",
            *NET,
            "--out",
            str(tmp_path / "m"),
        ],
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "m" / "metrics.json").is_file()
