"""Import Keras (and its backend) without the native start-up chatter on stderr.

Kept for the modules that called it before the backend choice existed: it now imports
whichever backend :mod:`recsys.backend` selects (TensorFlow by default).
"""

from __future__ import annotations

__all__ = ["quiet_import"]


def quiet_import() -> None:
    """Import Keras on the selected backend with stderr silenced, once."""
    from recsys.backend import import_keras

    import_keras()
