"""Whether a feature block is the same input a fused model learned from.

A block is only the same input if it was made the same way: a 50-d Word2Vec trained
on the overviews is not the 50-d GloVe the model learned from, though it has the
width. :meth:`genre.fusion.model.FusionClassifier.scores` compares each block's
provenance in the store with the one recorded at training time
(:func:`provenance_differences`) and refuses a block that differs. Ignored in the
comparison: the build's statistics, which depend on which movies the store happened to
cover and on its cache, not on what a vector means (:data:`VOLATILE_PROVENANCE_KEYS`:
counts of texts, tokens, images, failures, seconds); and the folder part of paths
(:data:`PATH_PROVENANCE_KEYS`: the word vector file and the rating-model directory are
compared by their file/folder name, so a store rebuilt from the same files moved
elsewhere is accepted). Everything else counts: model, weights, corpus, settings,
seeds, dimensions, side features.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PATH_PROVENANCE_KEYS",
    "VOLATILE_PROVENANCE_KEYS",
    "describe_differences",
    "library_versions",
    "provenance_differences",
]

#: Provenance keys that describe one build run (coverage counts, cache use, timing),
#: not what the block's vectors mean; left out when provenances are compared.
VOLATILE_PROVENANCE_KEYS = frozenset(
    {
        "seconds",
        "n_cached",
        "n_computed",
        "n_images",
        "n_failed",
        "failures",
        "n_texts",
        "n_empty",
        "n_no_known_token",
        "n_present",
        "n_tokens",
        "n_oov_tokens",
        "token_oov_rate",
    }
)
#: Provenance keys holding a file or folder path: compared by its last part only.
PATH_PROVENANCE_KEYS = frozenset({"word_vectors", "model_dir"})


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                Path(str(v)).name
                if k in PATH_PROVENANCE_KEYS and isinstance(v, str)
                else _comparable(v)
            )
            for k, v in value.items()
            if k not in VOLATILE_PROVENANCE_KEYS
        }
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def provenance_differences(
    trained: dict[str, Any] | None, current: dict[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """The provenance keys on which two versions of a block differ.

    Statistics of the build (:data:`VOLATILE_PROVENANCE_KEYS`) are ignored at every
    level, and paths (:data:`PATH_PROVENANCE_KEYS`) are compared by their last part.

    Returns
    -------
    dict of key -> ``(value at training time, value now)``; a missing key is ``None``.

    Examples
    --------
    >>> glove = {"word_vectors": "/data/glove.6B.50d.txt", "dim": 50, "n_texts": 9}
    >>> provenance_differences(glove, {**glove, "word_vectors": "/elsewhere/glove.6B.50d.txt",
    ...                                "n_texts": 4})
    {}
    >>> provenance_differences(glove, {"word_vectors": "trained", "dim": 50, "epochs": 20})
    {'epochs': (None, 20), 'word_vectors': ('glove.6B.50d.txt', 'trained')}
    """
    old, new = _comparable(dict(trained or {})), _comparable(dict(current or {}))
    return {
        k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }


def _short(value: Any, limit: int = 40) -> str:
    text = "(absent)" if value is None else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def library_versions() -> dict[str, str]:
    """Keras, the backend it runs on and that backend's version, numpy (imports Keras).

    >>> sorted(library_versions())[:2]
    ['backend', 'keras']
    """
    from recsys.backend import backend_versions

    return {**backend_versions(), "numpy": np.__version__}


def describe_differences(diff: dict[str, tuple[Any, Any]]) -> str:
    """The keys of :func:`provenance_differences` and the first two changes, in words.

    >>> describe_differences({"dim": (50, 100)})
    'provenance differs in dim; dim: trained on 50, received 100'
    """
    # Keys both versions have first: a changed value says more than a new key.
    keys = sorted(diff, key=lambda k: (None in diff[k], k))
    detail = "; ".join(
        f"{k}: trained on {_short(diff[k][0])}, received {_short(diff[k][1])}" for k in keys[:2]
    )
    return f"provenance differs in {', '.join(keys)}; {detail}"
