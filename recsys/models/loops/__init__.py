"""The training loops of :func:`recsys.models.training.train_network`, one per backend.

Each module imports its backend only when it is loaded, and only
:func:`recsys.models.training.make_loop` loads them.
"""
