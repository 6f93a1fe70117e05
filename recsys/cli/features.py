"""``recsys features``: build and inspect the shared movie feature store.

Actions::

    recsys features build --blocks embedding,pca,poster,overview_w2v[,genres]
                          [--model DIR] [--metadata STORE] [--posters DIR]
                          [--word-vectors FILE|train] [--backend NAME]
                          [--out FEATURES_DIR]
    recsys features info FEATURES_DIR [--json]

Blocks need: ``embedding`` and ``pca`` a rating model (``--model``, from ``recsys
train``); ``poster`` posters (``--metadata`` store with posters, or ``--posters DIR`` of
``<movieId>.jpg``); ``overview_w2v`` overviews (``--metadata``) and word vectors
(``--word-vectors``: a word2vec-format file, or ``train``); ``genres`` the MovieLens
movies (``--dataset``/``--data``, default the bundled ml-latest-small). Blocks already
in the store and not named are kept; named blocks are replaced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from recsys.cli.framework import UsageError, add_backend_argument
from recsys.workflows.features import feature_defaults, overview_texts, poster_files, tag_corpus

__all__ = ["register", "run"]


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number, received {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a number >= {low}, received {value}")
        return value

    return parse


def register(subparsers: Any) -> None:
    """Add ``recsys features`` and its actions."""
    defaults = feature_defaults()
    parser = subparsers.add_parser(
        "features",
        help="build / inspect the shared movie feature store",
        description="The shared movie representation: named feature blocks (embedding, "
        "pca, poster, overview_w2v, genres) aligned on movie id, with masks and "
        "provenance, read by the genre models and the rating models.",
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")
    actions.required = True

    build = actions.add_parser(
        "build",
        help="compute feature blocks and add them to a feature store",
        description=__doc__.rsplit("\n\n", 1)[1].replace("``", "'"),
    )
    build.add_argument(
        "--blocks",
        required=True,
        metavar="LIST",
        help="comma-separated: embedding, pca, poster, overview_w2v, genres",
    )
    build.add_argument(
        "--out",
        default="runs/features",
        metavar="FEATURES_DIR",
        help="the feature store (default runs/features)",
    )
    build.add_argument(
        "--seed",
        type=int,
        default=defaults["seed"],
        help=f"seed of Word2Vec and of random CNN weights (default {defaults['seed']})",
    )
    build.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing but errors (Keras itself still says 'Downloading "
        "data from ...' when it fetches ImageNet weights the first time)",
    )
    add_backend_argument(build)  # the poster CNN and the rating model run on it

    model = build.add_argument_group("embedding, pca")
    model.add_argument("--model", metavar="DIR", help="rating model directory (recsys train)")
    model.add_argument(
        "--pca-components",
        type=_int_at_least(1),
        default=defaults["n_components"],
        metavar="N",
        help=f"PCA factors to keep (default {defaults['n_components']})",
    )

    meta = build.add_argument_group("poster, overview_w2v")
    meta.add_argument(
        "--metadata",
        metavar="STORE",
        help="metadata store (recsys metadata fetch/import) or metadata CSV",
    )
    meta.add_argument(
        "--posters",
        metavar="DIR",
        help="folder of <movieId>.jpg posters (default: the store's posters)",
    )
    meta.add_argument(
        "--cnn-weights",
        default=defaults["weights"],
        metavar="imagenet|PATH|none",
        help="CNN weights: imagenet (downloaded by Keras, needs internet), a "
        f"local weights file, or none (seeded random; default {defaults['weights']})",
    )
    meta.add_argument(
        "--backbone",
        choices=("vgg16", "resnet50", "inception_v3"),
        default=defaults["backbone"],
        help=f"CNN (default {defaults['backbone']}, include_top=False)",
    )
    meta.add_argument(
        "--pooling",
        choices=("avg", "flatten"),
        default=defaults["pooling"],
        help="avg: global average pooling (512 for VGG16); flatten: the last "
        f"feature map (25,088 for VGG16 at 224) (default {defaults['pooling']})",
    )
    meta.add_argument(
        "--image-size",
        type=_int_at_least(1),
        default=defaults["image_size"],
        metavar="PIXELS",
        help=f"resize posters to PIXELS x PIXELS (default {defaults['image_size']}; smaller "
        "is faster, e.g. 128)",
    )
    meta.add_argument(
        "--batch-size",
        type=_int_at_least(1),
        default=defaults["batch_size"],
        help=f"posters per CNN batch (default {defaults['batch_size']})",
    )
    meta.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the poster feature cache"
    )
    meta.add_argument(
        "--word-vectors",
        metavar="FILE|train",
        help="word2vec-format file (.bin = binary, e.g. GoogleNews-vectors-"
        "negative300.bin.gz; text otherwise, e.g. a GloVe file with a "
        "header line) or 'train' for Word2Vec on the overviews",
    )
    meta.add_argument(
        "--word-vectors-format",
        choices=("auto", "binary", "text"),
        default="auto",
        help="format of --word-vectors (default: by name)",
    )
    meta.add_argument(
        "--word-vectors-limit",
        type=_int_at_least(1),
        metavar="N",
        help="read only the first N vectors of the file (saves memory)",
    )
    meta.add_argument(
        "--w2v-dim",
        type=_int_at_least(1),
        default=defaults["vector_size"],
        help=f"trained Word2Vec: vector size (default {defaults['vector_size']})",
    )
    meta.add_argument(
        "--w2v-window",
        type=_int_at_least(1),
        default=defaults["window"],
        help=f"trained Word2Vec: context window (default {defaults['window']})",
    )
    meta.add_argument(
        "--w2v-min-count",
        type=_int_at_least(1),
        default=defaults["min_count"],
        help=f"trained Word2Vec: minimum word count (default {defaults['min_count']})",
    )
    meta.add_argument(
        "--w2v-epochs",
        type=_int_at_least(1),
        default=defaults["epochs"],
        help=f"trained Word2Vec: epochs (default {defaults['epochs']})",
    )
    meta.add_argument(
        "--w2v-tags",
        action="store_true",
        help="trained Word2Vec: add the MovieLens tags to the corpus",
    )

    data = build.add_argument_group("genres (and --w2v-tags)")
    which = data.add_mutually_exclusive_group()
    which.add_argument(
        "--dataset",
        metavar="NAME",
        help="MovieLens release name (default: bundled ml-latest-small)",
    )
    which.add_argument("--data", metavar="PATH", help="a MovieLens directory or .zip")
    build.set_defaults(
        func=run, parameter_flags={"weights": "--cnn-weights", "n_components": "--pca-components"}
    )

    info = actions.add_parser(
        "info",
        help="blocks of a feature store: size, coverage, provenance",
        description="Print each block's dimension, how many movies it covers and what made it.",
    )
    info.add_argument("store", metavar="FEATURES_DIR", help="a feature store directory")
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    return {"build": _build, "info": _info}[args.action](args)


def _parse_blocks(text: str) -> list[str]:
    from recsys.features.blocks import BLOCK_NAMES

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError(f"--blocks is empty; name at least one of {', '.join(BLOCK_NAMES)}.")
    unknown = [n for n in names if n not in BLOCK_NAMES]
    if unknown:
        raise UsageError(
            f"unknown block {unknown[0]!r} in --blocks; known blocks: {', '.join(BLOCK_NAMES)}."
        )
    return list(dict.fromkeys(names))


def _check_inputs(args: argparse.Namespace, names: list[str]) -> None:
    """Every input the blocks need is given and exists, before any work starts."""
    if {"embedding", "pca"} & set(names) and not args.model:
        raise UsageError(
            "the embedding and pca blocks need --model DIR (a rating model "
            "from `recsys train --out DIR`)."
        )
    if "poster" in names and not (args.metadata or args.posters):
        raise UsageError("the poster block needs --metadata STORE (with posters) or --posters DIR.")
    if "overview_w2v" in names:
        if not args.metadata:
            raise UsageError("the overview_w2v block needs --metadata STORE (overviews).")
        if not args.word_vectors:
            raise UsageError(
                "the overview_w2v block needs --word-vectors FILE or --word-vectors train."
            )
        if args.word_vectors != "train":
            vectors = Path(args.word_vectors).expanduser()
            if vectors.is_dir():
                raise UsageError(
                    f"--word-vectors {args.word_vectors!r} is a folder; give the "
                    "word-vector file itself (word2vec format), or 'train'."
                )
            if not vectors.is_file():
                raise UsageError(
                    f"--word-vectors {args.word_vectors!r}: no such file; give a "
                    "word2vec-format file, or 'train' to learn vectors from the "
                    "overviews."
                )
    for option, what in (
        ("metadata", "a metadata store or CSV"),
        ("model", "a rating model folder from `recsys train --out DIR`"),
    ):
        value = getattr(args, option)
        if value and not Path(value).expanduser().exists():
            raise UsageError(f"--{option} {value!r}: no such file or folder; give {what}.")
    if args.posters and not Path(args.posters).expanduser().is_dir():
        raise UsageError(f"--posters {args.posters!r} is not a folder of <movieId>.jpg files.")


def _say(args: argparse.Namespace, text: str) -> None:
    """Print an information line, unless --quiet (which leaves only errors)."""
    if not args.quiet:
        print(text, flush=True)


def _build(args: argparse.Namespace) -> int:
    from recsys.features.posters import CNNSpec
    from recsys.features.store import FeatureStore
    from recsys.fileio import check_replaceable, check_writable_dir

    names = _parse_blocks(args.blocks)
    _check_inputs(args, names)
    check_replaceable(
        args.out,
        what="feature store",
        marker="manifest.json",
        inputs=(args.model, args.metadata, args.posters, args.word_vectors),
    )
    out = check_writable_dir(args.out, what="feature store")
    if (out / "manifest.json").is_file():
        FeatureStore(out)  # blocks are added to an existing store: it must be one
    spec = None
    if "poster" in names:
        spec = CNNSpec(
            backbone=args.backbone,
            weights=args.cnn_weights,
            pooling=args.pooling,
            image_size=args.image_size,
            seed=args.seed,
        )
    model = _load_rating_model(args.model) if {"embedding", "pca"} & set(names) else None
    if model is not None:
        _warn_side_features(model, args.model, [n for n in names if n in ("embedding", "pca")])
    metadata = _load_metadata(args.metadata) if args.metadata else None

    blocks = []
    for name in names:
        if name == "embedding":
            from recsys.features.blocks import embedding_block

            assert model is not None  # loaded above for the embedding and pca blocks
            block = embedding_block(model, source=args.model)
            _say(
                args,
                f"embedding: {block.coverage} movies x {block.dim} ({block.provenance['content']})",
            )
        elif name == "pca":
            from recsys.features.blocks import pca_block

            assert model is not None  # loaded above for the embedding and pca blocks
            block = pca_block(model, args.pca_components, source=args.model)
            ratio = sum(block.provenance["explained_variance_ratio"])
            _say(
                args,
                f"pca: {block.coverage} movies x {block.dim} factors, "
                f"{ratio:.1%} of the embedding variance",
            )
        elif name == "poster":
            block = _poster(args, metadata, spec)
        elif name == "overview_w2v":
            block = _overview(args, metadata)
        else:
            block = _genres(args)
        blocks.append(block)
    store = FeatureStore.write(out, blocks)
    _say(args, f"wrote {', '.join(names)} to {store.path} (blocks: {', '.join(store.names)})")
    return 0


def _load_rating_model(path: str) -> Any:
    from recsys.backend import import_keras

    import_keras()
    from recsys.models.rating_model import RatingModel

    return RatingModel.load(path)


def _warn_side_features(model: Any, path: str, names: list[str]) -> None:
    """One stderr line when the model's embeddings include projected side features."""
    from recsys.features.blocks import side_feature_sources

    side = [s["name"] for s in side_feature_sources(model)]
    if side:
        print(
            f"recsys features build: warning: the model {path} was fitted with side "
            f"features ({', '.join(side)}); its {' and '.join(names)} "
            f"block{'s' if len(names) > 1 else ''} include their projection, so they "
            "carry that information (genre models refuse blocks made from genre labels).",
            file=sys.stderr,
            flush=True,
        )


def _load_metadata(path: str) -> Any:
    from recsys.metadata import load_metadata

    return load_metadata(path)


def _poster(args: argparse.Namespace, metadata: Any, spec: Any) -> Any:
    from recsys.errors import DataError
    from recsys.features.blocks import poster_block

    ids, paths = poster_files(metadata, args.posters, source=args.metadata or "")
    _say(
        args,
        f"poster: {spec.backbone} include_top=False, weights {spec.weights_id}, "
        f"{spec.pooling} pooling, {spec.image_size}x{spec.image_size}, "
        f"{sum(p is not None for p in paths)} posters",
    )
    block, report = poster_block(
        ids,
        paths,
        spec,
        batch_size=args.batch_size,
        cache=not args.no_cache,
        progress=not args.quiet,
    )
    _say(args, f"poster: {report.summary()}")
    for movie_id, path, reason in report.failures[:10]:
        _say(args, f"  skipped movie {movie_id}: {reason} ({path})")
    if report.n_failed > 10:
        _say(args, f"  ... and {report.n_failed - 10} more (listed in the block's provenance)")
    if block.coverage == 0:
        raise DataError("no poster could be read; every poster is missing or damaged.")
    return block


def _overview(args: argparse.Namespace, metadata: Any) -> Any:
    from recsys.errors import DataError
    from recsys.features.blocks import overview_block

    overviews = overview_texts(metadata, args.metadata)
    extra: list[list[str]] = []
    if args.w2v_tags:
        if args.word_vectors != "train":
            raise UsageError("--w2v-tags applies to --word-vectors train only.")
        extra = tag_corpus(args.dataset or args.data)
    binary = {"auto": None, "binary": True, "text": False}[args.word_vectors_format]
    source = (
        "Word2Vec trained on the overviews" if args.word_vectors == "train" else (args.word_vectors)
    )
    _say(args, f"overview_w2v: word vectors from {source}")
    block, report = overview_block(
        metadata["movie_id"].to_numpy(),
        overviews,
        word_vectors=args.word_vectors,
        binary=binary,
        extra_texts=extra,
        vector_size=args.w2v_dim,
        window=args.w2v_window,
        min_count=args.w2v_min_count,
        epochs=args.w2v_epochs,
        seed=args.seed,
        limit=args.word_vectors_limit,
    )
    _say(args, f"overview_w2v: {block.dim}-d; {report.summary()}")
    if block.coverage == 0:
        raise DataError(
            "no overview has a known word; the word vectors do not fit the "
            "overviews (another language?)."
        )
    return block


def _genres(args: argparse.Namespace) -> Any:
    from recsys.data import load_dataset
    from recsys.features.blocks import genres_block

    dataset = load_dataset(args.dataset or args.data)
    block = genres_block(dataset.movies, source=dataset.name)
    _say(
        args,
        f"genres: {block.coverage}/{len(block.movie_ids)} movies with a genre, {block.dim} genres",
    )
    return block


def _info(args: argparse.Namespace) -> int:
    from recsys.features.store import FeatureStore

    store = FeatureStore(args.store)
    manifest = store.describe()
    if args.json:
        print(json.dumps({"path": str(store.path), **manifest}, indent=2))
        return 0
    print(f"feature store {store.path} ({manifest['format']})")
    print(f"  {'block':<16}{'dim':>7}{'movies':>9}{'present':>9}  made by")
    for name, info in manifest["blocks"].items():
        print(
            f"  {name:<16}{info['dim']:>7}{info['n_movies']:>9}{info['n_present']:>9}  "
            f"{_made_by(info.get('provenance', {}))}"
        )
    return 0


def _made_by(p: dict[str, Any]) -> str:
    if "backbone" in p:
        return (
            f"{p['backbone']} ({p.get('weights_id')}), {p.get('pooling')} pooling, "
            f"{p.get('image_size')}px; {p.get('n_failed', 0)} posters skipped"
        )
    if "word_vectors" in p:
        source = p["word_vectors"]
        source = (
            f"Word2Vec trained on {p.get('corpus')}" if source == "trained" else Path(source).name
        )
        return (
            f"{source}; token OOV {p.get('token_oov_rate', 0):.1%}, "
            f"{p.get('n_no_known_token', 0)} without a known token"
        )
    if p.get("model") == "RatingModel":
        where = Path(p["model_dir"]).name if p.get("model_dir") else "a rating model"
        what = (
            "PCA of embeddings" if "n_components" in p else str(p.get("content", "")).split(";")[0]
        )
        side = [str(s.get("name")) for s in p.get("side_features") or []]
        return f"{what} of the {p.get('kind')} model {where}" + (
            f" with side features {', '.join(side)}" if side else ""
        )
    return str(p.get("content") or p.get("source") or "")
