"""The shared movie representation: feature blocks aligned on movie id."""

from __future__ import annotations

from recsys.features.store import FORMAT, FeatureBlock, FeatureStore

__all__ = ["FORMAT", "FeatureBlock", "FeatureStore"]
