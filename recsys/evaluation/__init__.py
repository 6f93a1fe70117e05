"""Evaluation: rating accuracy (:mod:`.rating`) and top-N ranking quality (:mod:`.topn`).

* :mod:`recsys.evaluation.rating` -- RMSE and MAE of a rating model beside the
  global-mean and bias baselines (:func:`evaluate_model`).
* :mod:`recsys.evaluation.topn` -- vectorised top-k selection with ties broken by
  movie id, and precision, recall, NDCG, MAP, MRR, hit rate and coverage at k.
* :mod:`recsys.evaluation.protocol` -- the top-N protocol (:class:`TopNProtocol`):
  which users are evaluated, what is relevant, which movies are candidates.
* :mod:`recsys.evaluation.folds` -- K-fold splits (over ratings or within each user)
  and ml-100k's predefined folds.

Submodules that need the models (:mod:`.protocol` adapts a fitted
:class:`~recsys.models.rating_model.RatingModel`) import them lazily; the model layer
imports only :mod:`.rating` and :mod:`.topn` (numpy).
"""

from __future__ import annotations

from recsys.evaluation.rating import evaluate_model, mae, rmse

__all__ = ["evaluate_model", "mae", "rmse"]
