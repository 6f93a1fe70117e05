"""One worker of the two-process MultiWorkerMirroredStrategy test (run as a script).

``python multiworker_worker.py OUT.npz`` with ``TF_CONFIG`` set: trains a small bias model
on planted data under the strategy and writes the final weights, the validation RMSE of
the best epoch and the bias-only baseline's RMSE on the same validation part.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from recsys.models.distribute import make_strategy

strategy = make_strategy("multiworker")  # first: it configures the collective runtime

import numpy as np  # noqa: E402

from recsys.data import RandomSplit  # noqa: E402
from recsys.data.dataset import Dataset  # noqa: E402
from recsys.evaluation import rmse  # noqa: E402
from recsys.models.options import TrainingOptions  # noqa: E402
from recsys.models.rating_model import RatingModel  # noqa: E402
from tests.recsys.models.synthetic import planted_movies, planted_ratings  # noqa: E402


def main(out: str) -> None:
    ratings = planted_ratings(n_users=120, n_movies=90, density=0.4, seed=3)
    data = Dataset("planted", ratings, planted_movies(ratings), "planted")
    split = RandomSplit(0.15).split(data, seed=0)
    model = RatingModel(
        "bias", factors=8, epochs=8, batch_size=512, learning_rate=0.03, patience=8, seed=2
    ).fit(split.train, options=TrainingOptions(distribute="multiworker", strategy=strategy))
    test = split.test
    baseline = model.baseline_.predict(
        model.user_vocab_.index(test["user_id"], missing="negative"),
        model.movie_vocab_.index(test["movie_id"], missing="negative"),
    )
    np.savez(
        out,
        *model.network_.get_weights(),
        test_rmse=rmse(test["rating"], model.predict(test["user_id"], test["movie_id"])),
        baseline_rmse=rmse(test["rating"], np.clip(baseline, *model.rating_scale_)),
        replicas=strategy.num_replicas_in_sync,
        epochs=model.training_.epochs_run,
    )


if __name__ == "__main__":
    main(sys.argv[1])
