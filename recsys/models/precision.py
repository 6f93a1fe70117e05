"""Mixed precision for the rating networks (``--mixed-precision``).

=====================  ========================================================
choice                 policy
=====================  ========================================================
``auto``               ``mixed_float16`` when TensorFlow sees a GPU, else
                       ``mixed_bfloat16`` (JAX and PyTorch GPUs, CPUs)
``float16``            ``mixed_float16``: float16 maths, float32 variables, with
                       dynamic loss scaling (:class:`SparseLossScaleOptimizer`)
``bfloat16``           ``mixed_bfloat16``: bfloat16 maths, float32 variables (no
                       loss scaling: bfloat16 has float32's exponent range)
=====================  ========================================================

Variables (embedding tables, biases, the offset) stay float32 under every policy: an
embedding lookup gathers float32 rows and casts only those. The network's output and
the loss are float32 (a final float32 cast layer), so the squared error and the
validation RMSE are computed exactly as without mixed precision.

On a CPU neither policy is faster (CPUs without bfloat16 units emulate it); ``auto``
picks bfloat16 there so the option still runs, and ``recsys train`` says it is unlikely
to help. Use it on GPUs with tensor cores (compute capability 7.0 or higher).
"""

from __future__ import annotations

import keras

from recsys.errors import InvalidParameterError
from recsys.models.networks import NetworkSpec, build_network

__all__ = ["CHOICES", "build_network_with_policy", "resolve_policy"]

#: The values of ``--mixed-precision``.
CHOICES = ("auto", "float16", "bfloat16")


def resolve_policy(choice: str | None, *, has_gpu: bool, backend: str = "tensorflow") -> str:
    """The Keras dtype policy name for a ``--mixed-precision`` choice.

    ``auto`` is ``mixed_float16`` on a GPU under TensorFlow (its sparse loss scaling keeps
    the row-wise updates), ``mixed_bfloat16`` on a GPU under JAX and PyTorch (no loss
    scaling in the compiled step; bfloat16 has float32's range) and on a CPU.

    Raises
    ------
    InvalidParameterError
        On an unknown choice.

    Examples
    --------
    >>> resolve_policy(None, has_gpu=True), resolve_policy("auto", has_gpu=False)
    ('float32', 'mixed_bfloat16')
    """
    if choice is None or choice == "float32":
        return "float32"
    if choice == "auto":
        return "mixed_float16" if has_gpu and backend == "tensorflow" else "mixed_bfloat16"
    if choice in ("float16", "bfloat16"):
        return f"mixed_{choice}"
    if choice in ("mixed_float16", "mixed_bfloat16"):
        return choice
    raise InvalidParameterError(
        "precision", f"unknown precision {choice!r}; use one of {', '.join(CHOICES)}."
    )


def build_network_with_policy(spec: NetworkSpec, policy: str = "float32") -> keras.Model:
    """:func:`~recsys.models.networks.build_network` under a dtype policy.

    The policy applies to the layers built here only (the global Keras policy is set
    for the build and restored afterwards); a float32 cast layer ends the network so
    its output stays float32.

    Examples
    --------
    >>> net = build_network_with_policy(NetworkSpec("dot", 3, 4, factors=2),
    ...                                 "mixed_bfloat16")
    >>> net.get_layer("user_embedding").compute_dtype, net.output.dtype
    ('bfloat16', 'float32')
    """
    if policy == "float32":
        return build_network(spec)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        inner = build_network(spec)
        out = keras.layers.Activation("linear", dtype="float32", name="float32_output")(
            inner.output
        )
    finally:
        keras.config.set_dtype_policy(previous)
    return keras.Model(inner.input, out, name=inner.name)
