"""Blocks fitted on a labelled set's training part: honesty (no validation or test label
reaches a block), the out-of-fold stacking, masks, saving and the fingerprint checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from genre.data.dataset import build_labelled
from genre.fusion.block_inputs import load_block_inputs
from genre.fusion.experiment import split_inputs
from genre.fusion.split_blocks import (
    SPLIT_BLOCKS,
    check_split_blocks,
    metadata_block,
    out_of_fold_scores,
    split_blocks,
    split_fingerprint,
    tags_block,
)
from recsys.errors import DataError, InvalidParameterError
from recsys.features import FeatureStore

WORDS = {"Comedy": "joke laugh fun party", "Horror": "ghost blood fear night"}


def labelled(n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    genres = [("Comedy",), ("Horror",), ("Comedy", "Horror")] * (n // 3) + [("Comedy",)] * (n % 3)
    overviews = [
        " ".join(rng.choice(" ".join(WORDS[g] for g in gs).split(), size=4)) + " a story"
        for gs in genres
    ]
    meta = pd.DataFrame(
        {
            "movie_id": range(1, n + 1),
            "title": "",
            "year": pd.NA,
            "overview": overviews,
            "tmdb_genres": [()] * n,
        }
    )
    ml = pd.DataFrame(
        {
            "movie_id": range(1, n + 1),
            "title": "T",
            "year": [1990 + i % 20 if i % 7 else None for i in range(n)],
            "genres": genres,
        }
    )
    tags = pd.DataFrame(
        {
            "movie_id": [m for m in range(1, n + 1) if m % 3 == 0],
            "tag": ["funny dark" if m % 2 else "scary" for m in range(3, n + 1, 3)],
        }
    )
    return build_labelled(
        meta, ml, tags=tags, fractions=(0.6, 0.2, 0.2), min_genre_fraction=0.0, seed=seed
    )


def metadata_frame(data):
    ids = data.frame["movie_id"].to_numpy()
    return pd.DataFrame(
        {
            "movie_id": ids,
            "runtime": [0 if m % 5 == 0 else 80 + m for m in ids],  # 0: unknown
            "vote_average": [6.0 + (m % 4) / 2 for m in ids],
            "vote_count": [10 * m for m in ids],
        }
    )


def with_other_labels(data, parts=("val", "test")):
    """The same movies and split, the genres of the ``parts`` movies swapped."""
    frame = data.frame.copy()
    rows = frame["split"].isin(parts)
    swap = {("Comedy",): ("Horror",), ("Horror",): ("Comedy",), ("Comedy", "Horror"): ("Comedy",)}
    frame.loc[rows, "genres"] = frame.loc[rows, "genres"].map(lambda g: swap[tuple(g)])
    return dataclasses.replace(data, frame=frame)


def all_blocks(data):
    ratings = pd.DataFrame({"movie_id": data.frame["movie_id"].repeat(2)})
    return split_blocks(data, metadata=metadata_frame(data), ratings=ratings, seed=0)


def test_validation_and_test_labels_never_reach_a_block() -> None:
    data = labelled()
    other = with_other_labels(data)
    assert not data.Y("test").tolist() == other.Y("test").tolist()
    assert split_fingerprint(data) == split_fingerprint(other)
    for a, b in zip(all_blocks(data), all_blocks(other), strict=True):
        assert a.name == b.name
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.mask, b.mask)
        assert a.provenance == b.provenance


def test_training_labels_reach_only_the_stacked_block() -> None:
    data = labelled()
    other = with_other_labels(data, parts=("train",))
    assert split_fingerprint(data) != split_fingerprint(other)
    for a, b in zip(all_blocks(data), all_blocks(other), strict=True):
        same = np.array_equal(a.values, b.values)
        assert same == (a.name != "text_scores"), a.name


def test_out_of_fold_scores_on_a_tiny_set() -> None:
    from sklearn.model_selection import KFold

    from genre.text.classifier import GenreTextClassifier

    texts = ["alien ship star", "alien war ship", "love story kiss", "love song heart"] * 4
    Y_all = np.array([[1, 0], [1, 0], [0, 1], [0, 1]] * 4)
    train = np.arange(16) < 12
    params: dict[str, Any] = {"model": "logreg", "min_df": 1, "max_df": 1.0, "C": 1.0}
    scores = out_of_fold_scores(texts, Y_all[train], train, folds=3, seed=0, **params)
    assert scores.shape == (16, 2)

    def logit(p):
        return np.log(p) - np.log1p(-p)

    # each training row: the model fitted on the other two folds
    train_texts = [texts[i] for i in range(12)]
    for fit, held in KFold(3, shuffle=True, random_state=0).split(np.arange(12)):
        model = GenreTextClassifier(random_state=0, **params)
        model.fit([train_texts[i] for i in fit], Y_all[:12][fit])
        expected = logit(np.clip(model.scores([train_texts[i] for i in held]), 1e-6, 1 - 1e-6))
        np.testing.assert_allclose(scores[held], expected)
    # the other rows: the model fitted on all training rows
    full = GenreTextClassifier(random_state=0, **params).fit(train_texts, Y_all[:12])
    expected = logit(np.clip(full.scores(texts[12:]), 1e-6, 1 - 1e-6))
    np.testing.assert_allclose(scores[12:], expected)
    # out of fold differs from the full fit on the training rows (it did not see them)
    assert not np.allclose(scores[:12], logit(np.clip(full.scores(train_texts), 1e-6, 1 - 1e-6)))
    # the labels of the non-training rows are not an argument at all
    with pytest.raises(DataError, match="training rows"):
        out_of_fold_scores(texts, Y_all, train, **params)
    with pytest.raises(InvalidParameterError) as info:
        out_of_fold_scores(texts, Y_all[train], train, folds=1, **params)
    assert info.value.parameter == "folds"


def test_masks_and_metadata_fill_values() -> None:
    data = labelled()
    tags = tags_block(data, n_components=2, min_df=1)
    has_tags = np.array([bool(t) for t in data.frame["tags"]])
    np.testing.assert_array_equal(tags.aligned(data.frame["movie_id"])[1], has_tags)
    meta = metadata_block(data, metadata_frame(data))
    frame = pd.DataFrame(meta.values, columns=meta.columns)
    # unknown runtimes (0) and years get the training median and a flag
    train = (data.frame["split"] == "train").to_numpy()
    runtime = np.array([80.0 + m if m % 5 else np.nan for m in data.frame["movie_id"]])
    median = np.nanmedian(runtime[train])
    np.testing.assert_allclose(frame["runtime"][np.isnan(runtime)], median, rtol=1e-6)
    np.testing.assert_array_equal(frame["runtime_missing"], np.isnan(runtime).astype(float))
    assert "year_missing" in frame and meta.mask.all()
    assert meta.provenance["fill_values"]["runtime"] == pytest.approx(median)


def test_saved_blocks_reload_and_are_refused_for_another_training_part(tmp_path) -> None:
    data = labelled()
    blocks = all_blocks(data)
    store = FeatureStore.write(tmp_path / "features", blocks)
    assert set(SPLIT_BLOCKS) <= set(store.names)
    inputs = load_block_inputs(store, list(SPLIT_BLOCKS), data.frame["movie_id"])
    for block in blocks:
        np.testing.assert_array_equal(inputs.values[block.name], block.values)
    assert split_inputs(data, inputs)["test"].coverage()["text_scores"] == len(data.part("test"))
    # another split of the same movies: its test movies were training movies of the blocks
    resplit = labelled(seed=1)
    assert split_fingerprint(resplit) != split_fingerprint(data)
    with pytest.raises(DataError, match="another labelled set"):
        split_inputs(resplit, inputs)
    with pytest.raises(DataError, match=r"text_scores|tfidf_svd"):
        check_split_blocks(resplit, inputs.provenance)


def test_stacked_block_is_not_refused_as_a_label_block(tmp_path) -> None:
    data = labelled()
    store = FeatureStore.write(tmp_path / "features", all_blocks(data)[1:2])
    assert load_block_inputs(store, ["text_scores"], data.frame["movie_id"]).names == [
        "text_scores"
    ]
    with pytest.raises(InvalidParameterError):
        split_blocks(data, ["genres"])


def test_a_tmdb_keyed_set_takes_its_own_blocks_and_refuses_movielens_keyed_ones(
    tmp_path,
) -> None:
    data = labelled()
    tmdb = dataclasses.replace(data, manifest={**data.manifest, "id_space": "tmdb"})
    store = FeatureStore.write(tmp_path / "features", all_blocks(tmdb))
    inputs = load_block_inputs(store, list(SPLIT_BLOCKS), tmdb.frame["movie_id"])
    assert set(split_inputs(tmdb, inputs)["train"].names) == set(SPLIT_BLOCKS)
    # a block of 'recsys features build' (no fingerprint): keyed by MovieLens movie id
    n = len(inputs.movie_ids)
    foreign = dataclasses.replace(
        inputs,
        values={**inputs.values, "embedding": np.ones((n, 2), np.float32)},
        masks={**inputs.masks, "embedding": np.ones(n, bool)},
        provenance={**inputs.provenance, "embedding": {"source": "rating model"}},
    )
    with pytest.raises(DataError, match="embedding are keyed by MovieLens movie id"):
        split_inputs(tmdb, foreign)
    assert "embedding" in split_inputs(data, foreign)["test"].names  # MovieLens set: fine
