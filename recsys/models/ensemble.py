"""Several ``dot`` or ``bias`` networks averaged into one wider network of the same kind.

A ``dot`` or ``bias`` network scores ``u . m (+ b_u + b_m + mu)``. The mean of ``K``
such networks' scores is itself such a score:

    ``mean_k (u_k . m_k) = [u_1 .. u_K] / sqrt(K)  .  [m_1 .. m_K] / sqrt(K)``

so ``K`` members trained with different seeds are saved, scored, analysed and served
as one network with ``K * factors`` factors: the embedding tables (and, with side
features, the side projections' kernels and biases) side by side and divided by
``sqrt(K)``, the biases and the global offset averaged. A ``dot`` network with a
sigmoid output averages its members' raw scores before the sigmoid. ``mlp`` networks
are not linear in their embeddings and cannot be merged this way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from recsys.models.spec import NetworkSpec

__all__ = ["MERGEABLE_KINDS", "merge_networks", "merge_weights", "merged_spec"]

#: The kinds whose members merge into one network.
MERGEABLE_KINDS = ("dot", "bias")

#: Layers whose weights are the factor side of the score: placed side by side.
_SIDE_BY_SIDE = ("user_embedding", "movie_embedding", "side_factors")
#: Layers whose weights add to the score: averaged.
_AVERAGED = ("user_bias", "movie_bias", "side_bias", "global_mean")
#: Non-trainable tables every member holds the same values of: the first member's.
_SHARED = ("side_table", "movie_warm")


def merged_spec(spec: NetworkSpec, members: int) -> NetworkSpec:
    """The spec of the network that holds ``members`` networks of ``spec``.

    Examples
    --------
    >>> merged_spec(NetworkSpec("bias", n_users=3, n_movies=4, factors=8), 3).factors
    24
    """
    if spec.kind not in MERGEABLE_KINDS:
        raise ValueError(f"{spec.kind} networks cannot be merged; only {MERGEABLE_KINDS}")
    return dataclasses.replace(spec, factors=spec.factors * int(members))


def merge_weights(layer: str, members: Sequence[np.ndarray]) -> np.ndarray:
    """One weight of layer ``layer`` for the merged network, from the members' values.

    Parameters
    ----------
    layer : the layer's name (what it is decides how its weights merge).
    members : the members' values of this weight, each of the same shape.

    Returns
    -------
    ndarray: side by side along the last axis and divided by ``sqrt(K)`` for the factor
    layers (shape ``(..., K * factors)``), the mean for bias layers and the offset, and
    the first member's for the non-trainable side-feature tables (every member holds
    the same).

    Raises
    ------
    ValueError
        For a layer without a merge rule (a new layer must say how it merges, rather
        than silently keep one member's weights).

    Examples
    --------
    >>> merge_weights("user_embedding", [np.ones((2, 1)), np.zeros((2, 1))]).round(4).tolist()
    [[0.7071, 0.0], [0.7071, 0.0]]
    >>> merge_weights("user_bias", [np.ones((2, 1)), np.zeros((2, 1))]).ravel().tolist()
    [0.5, 0.5]
    """
    values = [np.asarray(v) for v in members]
    dtype = values[0].dtype
    if layer in _SIDE_BY_SIDE:
        return (np.concatenate(values, axis=-1) / math.sqrt(len(values))).astype(dtype)
    if layer in _AVERAGED:
        return np.mean(values, axis=0).astype(dtype)
    if layer in _SHARED:
        return values[0]
    raise ValueError(f"no rule to merge the weights of layer {layer!r}")


def merge_networks(networks: Sequence[Any], spec: NetworkSpec, precision: str = "float32") -> Any:
    """One Keras network whose scores are the mean of ``networks``' scores.

    Parameters
    ----------
    networks : K fitted networks built from the same ``spec`` (different seeds).
    spec : their spec (``factors`` of one member).
    precision : the dtype policy to build the merged network under.

    Returns
    -------
    keras.Model built from :func:`merged_spec` ``(spec, K)``.

    Raises
    ------
    ValueError
        If the kind cannot be merged or the networks do not have the same layers.
    """
    from recsys.models.precision import build_network_with_policy

    merged = build_network_with_policy(merged_spec(spec, len(networks)), precision)
    for layer in merged.layers:
        if not layer.weights:
            continue
        parts = [net.get_layer(layer.name).get_weights() for net in networks]
        layer.set_weights(
            [merge_weights(layer.name, [p[i] for p in parts]) for i in range(len(parts[0]))]
        )
    return merged
