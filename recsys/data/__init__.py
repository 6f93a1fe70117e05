"""MovieLens data: readers for every layout, downloads, vocabularies and splits."""

from __future__ import annotations

from recsys.data.dataset import (
    BUNDLED,
    Dataset,
    bundled_path,
    load_dataset,
    load_ratings_file,
    load_ratings_frame,
)
from recsys.data.download import DATASETS, fetch_dataset
from recsys.data.generic import ratings_frame, read_ratings_file
from recsys.data.schema import make_movies, make_ratings
from recsys.data.source import DataSource
from recsys.data.split import (
    FilesSplit,
    FoldSplit,
    MovieSplit,
    RandomSplit,
    Splitter,
    TemporalSplit,
    TrainTestSplit,
    UserSplit,
    parse_split,
)
from recsys.data.vocab import Vocabulary
from recsys.ids import IdLabels, IdMaps

__all__ = [
    "BUNDLED",
    "DATASETS",
    "DataSource",
    "Dataset",
    "FilesSplit",
    "FoldSplit",
    "IdLabels",
    "IdMaps",
    "MovieSplit",
    "RandomSplit",
    "Splitter",
    "TemporalSplit",
    "TrainTestSplit",
    "UserSplit",
    "Vocabulary",
    "bundled_path",
    "fetch_dataset",
    "load_dataset",
    "load_ratings_file",
    "load_ratings_frame",
    "make_movies",
    "make_ratings",
    "parse_split",
    "ratings_frame",
    "read_ratings_file",
]
