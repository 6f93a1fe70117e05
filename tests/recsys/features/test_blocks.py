"""Block builders: rating-model embeddings and PCA, posters, overviews, genres."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.errors import DataError
from recsys.features.blocks import (
    embedding_block,
    genres_block,
    overview_block,
    pca_block,
    poster_block,
)
from recsys.features.lineage import learned_from_ratings, made_from_genre_labels
from recsys.features.posters import CNNSpec
from tests.recsys.features.conftest import OVERVIEWS


@pytest.fixture(scope="module")
def rating_model(rating_model_dir: Path):
    from recsys.models.rating_model import RatingModel

    return RatingModel.load(str(rating_model_dir))


def test_embedding_block_has_embeddings_and_bias(rating_model, rating_model_dir) -> None:
    block = embedding_block(rating_model, source=rating_model_dir)
    table = rating_model.movie_embeddings()
    assert block.dim == 7 and block.columns[-1] == "bias" and block.columns[0] == "e0"
    values, mask = block.aligned([int(table.index[3]), 99999])
    np.testing.assert_allclose(values[0, :6], table.iloc[3].to_numpy(), rtol=1e-6)
    assert values[0, 6] == pytest.approx(float(rating_model.movie_biases().iloc[3]))
    assert mask.tolist() == [True, False]
    assert block.provenance["kind"] == "bias"
    assert block.provenance["model_dir"] == str(Path(rating_model_dir).resolve())


def test_pca_block_matches_numpy_svd(rating_model) -> None:
    block = pca_block(rating_model, 3)
    table = rating_model.movie_embeddings().to_numpy(dtype=np.float64)
    centred = table - table.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    expected = u[:, :3] * s[:3]
    got = block.values.astype(np.float64)
    for j in range(3):  # a component is defined up to its sign
        sign = np.sign(got[:, j] @ expected[:, j])
        np.testing.assert_allclose(got[:, j], sign * expected[:, j], atol=1e-4)
    ratios = block.provenance["explained_variance_ratio"]
    assert ratios == sorted(ratios, reverse=True) and block.columns == ("pc1", "pc2", "pc3")
    with pytest.raises(DataError, match="between 1 and 6"):
        pca_block(rating_model, 7)


def test_blocks_of_a_plain_model_say_they_were_learned_from_ratings(rating_model) -> None:
    for block in (embedding_block(rating_model), pca_block(rating_model, 2)):
        assert block.provenance["learned_from_ratings"] is True
        assert block.provenance["side_features"] == []
        assert learned_from_ratings(block.name, block.provenance) == (block.name,)
        assert made_from_genre_labels(block.name, block.provenance) is None


def test_blocks_of_a_side_feature_model_record_the_side_features(side_model_dir) -> None:
    """The leak behind C2: such embeddings contain the projected genre labels."""
    from recsys.models.rating_model import RatingModel

    model = RatingModel.load(str(side_model_dir))
    saved = model.side_features_.to_json()["blocks"][0]["provenance"]
    assert saved["genre_labels"] is True
    for block in (embedding_block(model, source=side_model_dir), pca_block(model, 2)):
        assert block.provenance["side_features"] == [
            {"name": "genres", "dim": 3, "provenance": saved}
        ]
        assert "projection of the side features genres" in block.provenance["content"]
        assert made_from_genre_labels(block.name, block.provenance) == (block.name, "genres")
        # one row per movie of the model: every movie with ratings or side features
        assert block.movie_ids.tolist() == model.movie_vocab_.ids.tolist()


def test_overview_block_from_file(word_vectors_file: Path) -> None:
    ids = list(OVERVIEWS)
    block, report = overview_block(ids, list(OVERVIEWS.values()), word_vectors=word_vectors_file)
    assert block.mask.tolist() == [True, True, True, True, False, False]
    assert block.provenance["token_oov_rate"] == pytest.approx(4 / 14, abs=1e-5)
    assert block.provenance["n_no_known_token"] == 1 and block.provenance["binary"] is False
    assert report.n_present == 4


def test_overview_block_trained_with_extra_texts() -> None:
    texts = ["alien space ship crew", "love wedding bride", "ghost house fear", ""] * 3
    ids = np.arange(len(texts)) + 1
    block, _ = overview_block(
        ids,
        texts,
        word_vectors="train",
        vector_size=6,
        min_count=1,
        epochs=3,
        extra_texts=[["alien", "ghost"]],
    )
    assert block.dim == 6 and block.coverage == 9
    assert block.provenance["word_vectors"] == "trained"
    assert "1 tag lists" in block.provenance["corpus"]
    again, _ = overview_block(
        ids,
        texts,
        word_vectors="train",
        vector_size=6,
        min_count=1,
        epochs=3,
        extra_texts=[["alien", "ghost"]],
    )
    np.testing.assert_array_equal(block.values, again.values)


def test_poster_block_masks_and_records_failures(poster_dir: Path) -> None:
    ids = [100, 101, 104, 107]
    paths = [poster_dir / "100.jpg", poster_dir / "101.jpg", poster_dir / "104.jpg", None]
    block, report = poster_block(ids, paths, CNNSpec(weights="none", image_size=32), progress=False)
    assert block.movie_ids.tolist() == [100, 101, 104]  # 107 has no poster at all
    assert block.mask.tolist() == [True, True, False]
    assert report.failures[0][0] == 104
    assert block.provenance["failures"][0]["movie_id"] == 104
    assert block.provenance["weights_id"] == "random-glorot-seed0"


def test_genres_block() -> None:
    movies = pd.DataFrame({"movie_id": [5, 3, 9], "genres": [("Drama", "Comedy"), (), ("Horror",)]})
    block = genres_block(movies, source="test")
    assert block.columns == ("Comedy", "Drama", "Horror")
    assert block.movie_ids.tolist() == [3, 5, 9]
    assert block.values.tolist() == [[0, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert block.mask.tolist() == [False, True, True]
    assert block.provenance["genre_labels"] is True
