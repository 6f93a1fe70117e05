"""Builders of the well-known feature blocks of the shared movie representation.

=================  =====================================================================
block              made by
=================  =====================================================================
``embedding``      :func:`embedding_block`: movie embeddings (and the movie bias, for a
                   ``bias`` model) of a trained :class:`~recsys.models.RatingModel`
``pca``            :func:`pca_block`: the PCA factors of those embeddings
``poster``         :func:`poster_block`: CNN features of the poster (VGG16 by default)
``overview_w2v``   :func:`overview_block`: mean word vectors of the overview
``genres``         :func:`genres_block`: 0/1 MovieLens genre labels
=================  =====================================================================

Each builder returns a :class:`~recsys.features.store.FeatureBlock` whose
``provenance`` says what made it; ``embedding`` and ``pca`` record that they were
learned from ratings and the side-feature blocks of their model
(:mod:`recsys.features.lineage` follows them back). Movies a builder has no data for are either left
out of the block or kept with ``mask`` False; readers align blocks with
:meth:`FeatureBlock.aligned`, which masks both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from recsys.errors import DataError, InvalidParameterError
from recsys.features.posters import CNNSpec, PosterReport, extract_poster_features
from recsys.features.store import BLOCK_NAMES, FeatureBlock
from recsys.features.text import (
    TextVectorReport,
    load_word_vectors,
    mean_vectors,
    tokenize,
    train_word2vec,
)

if TYPE_CHECKING:
    from recsys.models.rating_model import RatingModel

__all__ = [
    "BLOCK_NAMES",
    "embedding_block",
    "genres_block",
    "overview_block",
    "pca_block",
    "poster_block",
    "side_feature_sources",
]


def _model_provenance(model: RatingModel, source: str | os.PathLike[str] | None) -> dict[str, Any]:
    """What made a block of ``model``: the model, and the side-feature blocks it was
    fitted with (name, dim and their own provenance; see :mod:`.lineage`)."""
    info: dict[str, Any] = {
        "model": "RatingModel",
        "kind": model.kind,
        "learned_from_ratings": True,
        "params": model.describe()["params"],
        "n_movies": len(model.movie_vocab_),
        "n_train_ratings": int(model.n_train_),
        "side_features": side_feature_sources(model),
    }
    if source is not None:
        folder = Path(source).expanduser().resolve()
        info["model_dir"] = str(folder)
        metrics = folder / "metrics.json"
        if metrics.is_file():
            try:
                saved = json.loads(metrics.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                saved = {}
            info.update(
                {
                    k: saved[k]
                    for k in ("dataset", "dataset_spec", "split", "seed", "rmse")
                    if k in saved
                }
            )
    return info


def side_feature_sources(model: RatingModel) -> list[dict[str, Any]]:
    """The side-feature blocks a rating model was fitted with (``[]`` for none).

    Returns
    -------
    list of ``{"name", "dim", "provenance"}``, in the model's block order.
    """
    side = getattr(model, "side_features_", None)
    if side is None:
        return []
    return [
        {"name": n, "dim": int(d), "provenance": dict(p)}
        for n, d, p in zip(
            side.names, side.dims, side.provenance or ({},) * len(side.names), strict=True
        )
    ]


def _content(model: RatingModel, what: str) -> str:
    names = [s["name"] for s in side_feature_sources(model)]
    if not names:
        return what
    return (
        f"{what}; each movie's vector is its id embedding plus the projection of the "
        f"side features {', '.join(names)}"
    )


def embedding_block(
    model: RatingModel, *, source: str | os.PathLike[str] | None = None
) -> FeatureBlock:
    """Movie embeddings of a fitted rating model, with the movie bias as a last column.

    These are the vectors the network scores with (:meth:`RatingModel.movie_factors`).
    For a model fitted with side features they include the projection of those
    features (e.g. the genre labels): the provenance lists the side-feature blocks and
    their own provenance under ``side_features``, so readers can refuse a block made
    from labels (see :mod:`recsys.features.lineage`).

    Parameters
    ----------
    model : a fitted :class:`~recsys.models.RatingModel` (``RatingModel.load(DIR)``).
    source : the model directory, recorded in the provenance.

    Returns
    -------
    FeatureBlock named ``embedding``, one row per movie of the model's vocabulary:
    the movies rated in its training part and, for a model with side features, every
    movie that has at least one of its side-feature blocks. Columns ``e0 .. e{k-1}``
    and, for a ``bias`` model, ``bias``.

    Raises
    ------
    DataError
        If the model has no movie embeddings.

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> from recsys.models.rating_model import RatingModel
    >>> ratings = load_dataset().ratings
    >>> model = RatingModel("bias", factors=8, epochs=1).fit(ratings[ratings["user_id"] <= 50])
    >>> embedding_block(model).dim  # 8 factors and the bias
    9
    """
    try:
        table = model.movie_embeddings()
    except (AttributeError, ValueError) as error:
        raise DataError(
            f"the rating model has no movie embeddings ({error}); give a fitted "
            "RatingModel (e.g. RatingModel.load of a saved model folder).",
            parameter="model",
        ) from None
    values = table.to_numpy(dtype=np.float32)
    columns = [f"e{i}" for i in range(values.shape[1])]
    biases = model.movie_biases()
    if biases is not None:
        values = np.column_stack([values, biases.reindex(table.index).to_numpy(np.float32)])
        columns.append("bias")
    provenance = {
        **_model_provenance(model, source),
        "content": _content(
            model, "movie embeddings" + (" and movie bias" if biases is not None else "")
        ),
    }
    return FeatureBlock.from_arrays(
        "embedding", table.index.to_numpy(), values, provenance=provenance, columns=columns
    )


def pca_block(
    model: RatingModel, n_components: int = 16, *, source: str | os.PathLike[str] | None = None
) -> FeatureBlock:
    """The PCA factors of a rating model's movie embeddings.

    PCA (:func:`recsys.analysis.pca.fit_pca`) is fitted on the embeddings of every
    movie of the model (no labels are used by the PCA itself) and each movie is
    projected on the first ``n_components`` axes. The embeddings of a model fitted with
    side features include their projection; the provenance records them as for
    :func:`embedding_block`.

    Returns
    -------
    FeatureBlock named ``pca``, columns ``pc1 .. pc{n_components}``; the provenance
    holds the explained variance ratios.

    Raises
    ------
    DataError
        If ``n_components`` is not between 1 and the embedding size.

    Examples
    --------
    >>> from recsys.data import load_dataset
    >>> from recsys.models.rating_model import RatingModel
    >>> ratings = load_dataset().ratings
    >>> model = RatingModel("dot", factors=8, epochs=1).fit(ratings[ratings["user_id"] <= 50])
    >>> pca_block(model, 3).columns
    ('pc1', 'pc2', 'pc3')
    """
    from recsys.analysis.pca import fit_pca

    table = model.movie_embeddings()
    values = table.to_numpy(dtype=np.float64)
    limit = min(values.shape[1], len(values) - 1)
    if not 1 <= int(n_components) <= limit:
        raise InvalidParameterError(
            "n_components",
            f"n_components must be between 1 and {limit} (the embedding "
            f"size of the model), received {n_components}.",
        )
    result = fit_pca(values, int(n_components))
    provenance = {
        **_model_provenance(model, source),
        "content": _content(
            model,
            "PCA factors of the movie embeddings (fitted on every movie of the model, no labels)",
        ),
        "n_components": int(n_components),
        "explained_variance_ratio": [round(float(r), 6) for r in result.explained_variance_ratio_],
    }
    return FeatureBlock.from_arrays(
        "pca",
        table.index.to_numpy(),
        result.scores_.astype(np.float32),
        provenance=provenance,
        columns=[f"pc{i + 1}" for i in range(int(n_components))],
    )


def poster_block(
    movie_ids: ArrayLike,
    paths: Sequence[str | os.PathLike[str] | None],
    spec: CNNSpec,
    *,
    batch_size: int = 32,
    cache: bool = True,
    progress: bool = True,
    name: str = "poster",
) -> tuple[FeatureBlock, PosterReport]:
    """CNN features of each movie's poster (see :mod:`recsys.features.posters`).

    Parameters
    ----------
    movie_ids : shape (n,)
    paths : the poster file of each movie, ``None`` when it has none.
    spec : the network.

    Returns
    -------
    block : FeatureBlock (default name ``poster``) with one row per movie that has a
        poster path; missing and undecodable posters are masked.
    report : what was computed, cached and skipped.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> poster = Path(tempfile.mkdtemp()) / "1.jpg"
    >>> Image.new("RGB", (40, 60), (30, 30, 200)).save(poster)
    >>> spec = CNNSpec(weights="none", image_size=32)
    >>> block, report = poster_block([1, 2], [poster, None], spec, cache=False, progress=False)
    >>> block.name, block.dim == spec.dim, block.mask.tolist()
    ('poster', True, [True])
    """
    ids = np.asarray(movie_ids, dtype=np.int64).ravel()
    if len(ids) != len(paths):
        raise DataError(f"{len(paths)} poster paths for {len(ids)} movies.")
    has_path = np.array([p is not None and str(p) != "" for p in paths], dtype=bool)
    chosen = [paths[i] for i in np.flatnonzero(has_path).tolist()]
    values, mask, report = extract_poster_features(
        chosen, spec, batch_size=batch_size, cache=cache, progress=progress
    )
    report.failures = [(int(ids[has_path][i]), p, r) for i, p, r in report.failures]
    provenance = {
        "content": "CNN features of the poster",
        **spec.describe(),
        "preprocess": f"keras.applications.{spec.backbone}.preprocess_input",
        **{k: v for k, v in report.as_dict().items() if k != "seconds"},
    }
    provenance["failures"] = [
        {"movie_id": m, "path": p, "reason": r} for m, p, r in report.failures[:50]
    ]
    block = FeatureBlock.from_arrays(name, ids[has_path], values, mask=mask, provenance=provenance)
    return block, report


def overview_block(
    movie_ids: ArrayLike,
    overviews: Sequence[str | None],
    *,
    word_vectors: str | os.PathLike[str] | Literal["train"],
    binary: bool | None = None,
    extra_texts: Sequence[Sequence[str]] = (),
    vector_size: int = 100,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 20,
    seed: int = 0,
    limit: int | None = None,
    name: str = "overview_w2v",
) -> tuple[FeatureBlock, TextVectorReport]:
    """Mean word vector of each overview (stop words removed; see :mod:`.text`).

    Parameters
    ----------
    movie_ids : shape (n,)
    overviews : the overview of each movie (empty or ``None`` when it has none).
    word_vectors : a word2vec-format file, or ``"train"`` to train gensim ``Word2Vec``
        on the overviews (and ``extra_texts``) of these movies. Training uses every
        overview given (unsupervised, no labels: the usual transductive practice).
    binary : format of the file (``None``: guessed from the name).
    extra_texts : further token lists for the Word2Vec corpus (e.g. MovieLens tags).
    vector_size, window, min_count, epochs, seed : Word2Vec settings.
    limit : read only the first ``limit`` vectors of the file.

    Returns
    -------
    block : FeatureBlock (default name ``overview_w2v``), one row per movie; masked
        where the overview is empty or has no known token.
    report : out-of-vocabulary statistics.

    Raises
    ------
    FileNotFoundError, DataError
        From :func:`~recsys.features.text.load_word_vectors` or
        :func:`~recsys.features.text.train_word2vec`.

    Examples
    --------
    >>> block, report = overview_block([1, 2], ["Toys come alive.", ""],
    ...                                word_vectors="train", min_count=1, vector_size=4)
    >>> block.mask.tolist(), report.n_empty
    ([True, False], 1)
    """
    ids = np.asarray(movie_ids, dtype=np.int64).ravel()
    if len(ids) != len(overviews):
        raise DataError(f"{len(overviews)} overviews for {len(ids)} movies.")
    tokens = [tokenize(t if isinstance(t, str) else "") for t in overviews]
    settings: dict[str, Any]
    if str(word_vectors) == "train":
        corpus = tokens + [list(t) for t in extra_texts]
        vectors = train_word2vec(
            corpus,
            vector_size=vector_size,
            window=window,
            min_count=min_count,
            epochs=epochs,
            seed=seed,
        )
        settings = {
            "word_vectors": "trained",
            "algorithm": "gensim Word2Vec skip-gram",
            "corpus": f"{sum(1 for t in tokens if t)} overviews"
            + (f" + {len(extra_texts)} tag lists" if extra_texts else ""),
            "vector_size": vector_size,
            "window": window,
            "min_count": min_count,
            "epochs": epochs,
            "seed": seed,
            "workers": 1,
        }
    else:
        file = Path(word_vectors).expanduser()
        vectors = load_word_vectors(file, binary=binary, limit=limit)
        settings = {
            "word_vectors": str(file.resolve()),
            "binary": bool(
                binary if binary is not None else file.name.lower().endswith((".bin", ".bin.gz"))
            ),
            "limit": limit,
        }
    values, mask, report = mean_vectors(tokens, vectors)
    provenance = {
        "content": "mean word vector of the overview tokens",
        **settings,
        "tokenizer": "lower case, letters and digits, sklearn English stop words",
        "vocabulary_size": len(vectors),
        "dim": int(vectors.vector_size),
        **report.as_dict(),
    }
    block = FeatureBlock.from_arrays(name, ids, values, mask=mask, provenance=provenance)
    return block, report


def genres_block(movies: pd.DataFrame, *, source: str = "") -> FeatureBlock:
    """0/1 MovieLens genre labels of each movie (for rating models as side features).

    Parameters
    ----------
    movies : frame with ``movie_id`` and ``genres`` (tuples of names, as
        :func:`recsys.data.load_dataset` returns).
    source : where the movies came from, recorded in the provenance.

    Returns
    -------
    FeatureBlock named ``genres``, one column per genre (sorted names); movies without
    any genre are masked. The provenance says ``"genre_labels": True``: a genre model
    refuses this block and any block made from it.

    Examples
    --------
    >>> frame = pd.DataFrame({"movie_id": [1, 2], "genres": [("Comedy",), ()]})
    >>> block = genres_block(frame)
    >>> block.columns, block.values.tolist(), block.mask.tolist()
    (('Comedy',), [[1.0], [0.0]], [True, False])
    """
    if "movie_id" not in movies.columns or "genres" not in movies.columns:
        raise DataError("the movies frame needs movie_id and genres columns.")
    lists = [tuple(g) if isinstance(g, (tuple, list, np.ndarray)) else () for g in movies["genres"]]
    names = sorted({g for lst in lists for g in lst})
    if not names:
        raise DataError("no movie has a genre; the genres block would be empty.")
    column = {g: j for j, g in enumerate(names)}
    values = np.zeros((len(lists), len(names)), dtype=np.float32)
    for i, lst in enumerate(lists):
        for g in lst:
            values[i, column[g]] = 1.0
    mask = values.sum(axis=1) > 0
    provenance = {
        "content": "MovieLens genre labels (1 = the movie has the genre)",
        "genre_labels": True,
        "source": source,
        "n_genres": len(names),
    }
    return FeatureBlock.from_arrays(
        "genres",
        movies["movie_id"].to_numpy(),
        values,
        mask=mask,
        provenance=provenance,
        columns=names,
    )
