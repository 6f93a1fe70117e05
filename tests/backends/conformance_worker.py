"""One backend's half of the backend conformance suite (run in its own process).

``python -m tests.backends.conformance_worker BACKEND OUT``: for each model (rating
``dot``/``bias``/``mlp``, with and without movie side features), fit on a tiny planted
set, predict, save to ``OUT/<name>``, load back and predict again, predict unknown ids;
refit two of them with the same seed (same result?).

``python -m tests.backends.conformance_worker BACKEND OUT --load DIR ...``: load every
model folder saved under another backend in each ``DIR`` and write both the numpy-table
predictions and the Keras network's outputs (``model.keras`` loaded under this backend)
for the same test pairs.

``python -m tests.backends.conformance_worker BACKEND OUT --checkpoint``: train 5 epochs
straight, then the same run stopped after epoch 3 (an exception in the epoch callback,
after epoch 2's checkpoint) and resumed; report both runs' weights and histories.

Everything it measured goes to ``OUT/report.json``; the pytest side asserts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from recsys.backend import import_keras, select_backend

MODELS = [(kind, side) for kind in ("dot", "bias", "mlp") for side in (False, True)]
FAST = {
    "factors": 4,
    "batch_size": 64,
    "learning_rate": 0.02,
    "epochs": 3,
    "patience": 3,
    "validation_fraction": 0.1,
    "seed": 3,
    "fallback": "never",  # the networks are compared here, never the bias-only baseline
}
UNKNOWN = 987_654


def tiny_data() -> tuple:
    from tests.recsys.models.synthetic import planted_side

    planted = planted_side()
    ratings = planted.ratings
    rng = np.random.default_rng(0)
    test = np.zeros(len(ratings), dtype=bool)
    test[rng.permutation(len(ratings))[:100]] = True
    return planted, ratings[~test], ratings[test]


def pairs(test) -> tuple[np.ndarray, np.ndarray]:
    users = np.concatenate([test["user_id"].to_numpy(), [UNKNOWN, 1]])
    movies = np.concatenate([test["movie_id"].to_numpy(), [100, UNKNOWN]])
    return users, movies


def network_outputs(model, users, movies) -> list[float]:
    """The Keras network's raw outputs for the known pairs (this backend's Keras)."""
    from recsys.models.training import predict_network

    u = model.user_vocab_.index(users, missing="negative")
    m = model.movie_vocab_.index(movies, missing="negative")
    known = (u >= 0) & (m >= 0)
    return predict_network(model.network_, u[known], m[known]).tolist()


def main(backend: str, out: Path, others: list[Path]) -> None:
    """Fit and save (no ``others``), or load what other backends saved."""
    select_backend(backend)
    keras = import_keras()
    from recsys.models.rating_model import RatingModel

    planted, train, test = tiny_data()
    users, movies = pairs(test)
    blocks = [planted.features, planted.genres]
    from recsys.backend import device_info

    report: dict = {
        "backend": keras.backend.backend(),
        "device": device_info().kind,
        "models": {},
        "loaded": {},
    }
    for kind, side in MODELS if not others else []:
        name = f"{kind}{'-side' if side else ''}"
        fit_args = {"side_features": blocks} if side else {}
        model = RatingModel(kind, **FAST).fit(train, **fit_args)
        again = (
            RatingModel(kind, **FAST).fit(train, **fit_args)
            if name in ("bias", "mlp-side")
            else model
        )
        model.save(out / name)
        loaded = RatingModel.load(out / name)
        frame = model.predict_frame(users, movies)
        report["models"][name] = {
            "predict": frame["prediction"].tolist(),
            "fallback": frame["fallback"].tolist(),
            "again": again.predict(users, movies).tolist(),
            "loaded": loaded.predict(users, movies).tolist(),
            "network": network_outputs(model, users, movies),
            "scale": list(model.rating_scale_),
            "loss": [h.loss for h in model.training_.history],
        }
    if not others:
        report["steps"] = same_start_steps()
    for folder in others:
        for path in sorted(p for p in folder.iterdir() if p.is_dir()):
            model = RatingModel.load(path)
            report["loaded"][f"{folder.name}/{path.name}"] = {
                "predict": model.predict(users, movies).tolist(),
                "network": network_outputs(model, users, movies),
            }
    (out / "report.json").write_text(json.dumps(report))


def same_start_steps() -> dict[str, list]:
    """Each kind (no dropout) from the same numpy-drawn weights, trained 5 epochs with one
    batch per epoch (so the shuffle order cannot matter): the final weights."""
    from recsys.models.networks import NetworkSpec, build_network
    from recsys.models.optimizers import LazyAdam
    from recsys.models.training import train_network

    rng = np.random.default_rng(0)
    arrays = (
        rng.integers(0, 30, 500).astype(np.int32),
        rng.integers(0, 20, 500).astype(np.int32),
        rng.uniform(1, 5, 500).astype(np.float32),
    )
    out = {}
    for kind in ("dot", "bias", "mlp"):
        spec = NetworkSpec(
            kind,
            n_users=30,
            n_movies=20,
            factors=3,
            hidden=8,
            dropout=(0.0, 0.0),
            global_mean=3.0,
            l2=0.01,
            bias_l2=0.01,
        )
        network = build_network(spec)
        start = np.random.default_rng(1)
        network.set_weights(
            [start.normal(0, 0.3, w.shape).astype(np.float32) for w in network.get_weights()]
        )
        train_network(network, LazyAdam(0.05), arrays, epochs=5, batch_size=1 << 20, seed=0)
        out[kind] = [np.asarray(w).ravel().tolist() for w in network.get_weights()]
    return out


class _Stop(Exception):
    pass


def checkpoint_run(backend: str, out: Path) -> None:
    """Uninterrupted vs stopped-and-resumed training with per-epoch checkpoints."""
    select_backend(backend)
    import_keras()
    from recsys.models.networks import NetworkSpec, build_network
    from recsys.models.optimizers import LazyAdam
    from recsys.models.options import TrainingOptions
    from recsys.models.training import train_network

    spec = NetworkSpec("bias", n_users=30, n_movies=20, factors=3, seed=1)
    rng = np.random.default_rng(0)
    arrays = (
        rng.integers(0, 30, 400).astype(np.int32),
        rng.integers(0, 20, 400).astype(np.int32),
        rng.uniform(1, 5, 400).astype(np.float32),
    )
    val = tuple(a[:40] for a in arrays)

    def run(directory: Path, stop_at: int | None = None) -> tuple:
        network = build_network(spec)

        def on_epoch(log) -> None:
            if stop_at is not None and log.epoch == stop_at:
                raise _Stop

        result = train_network(
            network,
            LazyAdam(0.02),
            arrays,
            val,
            epochs=5,
            batch_size=64,
            patience=10,
            seed=4,
            on_epoch=on_epoch,
            options=TrainingOptions(checkpoint_dir=directory),
            run_id={"run": "a"},
        )
        return [np.asarray(w).tolist() for w in network.get_weights()], [
            h.val_rmse for h in result.history
        ]

    straight = run(out / "ck-straight")
    try:
        run(out / "ck-part", stop_at=3)
    except _Stop:
        pass
    resumed = run(out / "ck-part")
    (out / "report.json").write_text(json.dumps({"straight": straight, "resumed": resumed}))


if __name__ == "__main__":
    if sys.argv[3:] == ["--checkpoint"]:
        checkpoint_run(sys.argv[1], Path(sys.argv[2]))
        raise SystemExit(0)
    rest = sys.argv[3:]
    main(sys.argv[1], Path(sys.argv[2]), [Path(p) for p in rest[1:]] if rest else [])
