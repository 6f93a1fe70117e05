"""The shared movie representation: feature blocks aligned on movie id.

:mod:`~recsys.features.store` holds the blocks; :mod:`~recsys.features.blocks` builds the
well-known ones from a rating model (``embedding``, ``pca``), posters (``poster``, via
:mod:`~recsys.features.posters`), overviews (``overview_w2v``, via
:mod:`~recsys.features.text`) and MovieLens genres (``genres``). The builders import
TensorFlow and gensim only when called.
"""

from __future__ import annotations

from recsys.features.store import FORMAT, FeatureBlock, FeatureStore

__all__ = ["FORMAT", "FeatureBlock", "FeatureStore"]
