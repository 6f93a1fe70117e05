"""The numpy forward pass (``recsys.models.scoring``) against the Keras networks, and
queries on saved models without Keras."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.errors import ModelDirError
from recsys.models.networks import build_network, set_side_tables
from recsys.models.precision import build_network_with_policy
from recsys.models.rating_model import FALLBACK_USER, RatingModel
from recsys.models.scoring import NetworkTables
from recsys.models.spec import NetworkSpec
from tests.conftest import REPO

from .synthetic import planted_movies, planted_ratings

N_USERS, N_MOVIES, SIDE_DIM = 30, 40, 5
COMBINATIONS = list(itertools.product(("dot", "bias", "mlp"), ("linear", "sigmoid"), (0, SIDE_DIM)))
BACKENDS = ("keras", "tensorflow", "jax", "torch")


def random_network(kind: str, output: str, side_dim: int, policy: str = "float32", seed: int = 0):  # type: ignore[no-untyped-def]
    """A network of every layer it can have, with random weights (a cold movie in four
    when there is a side-feature path)."""
    spec = NetworkSpec(
        kind,
        N_USERS,
        N_MOVIES,
        factors=6,
        hidden=12,
        output=output,
        global_mean=3.5,
        rating_range=(0.25, 5.25),
        side_dim=side_dim,
        id_dropout=0.5 if side_dim else 0.0,
    )
    net = build_network_with_policy(spec, policy)
    rng = np.random.default_rng(seed)
    net.set_weights(
        [
            rng.normal(0, 0.3, w.shape).astype(np.float32) if w.ndim else np.float32(3.5)
            for w in net.get_weights()
        ]
    )
    if side_dim:
        set_side_tables(net, rng.normal(size=(N_MOVIES, side_dim)), np.arange(N_MOVIES) % 4 != 0)
    return net


def keras_scores(net, users: np.ndarray, movies: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(
        net({"user": users.astype("int32"), "movie": movies.astype("int32")}, training=False)
    )


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    users, movies = np.meshgrid(np.arange(N_USERS), np.arange(N_MOVIES), indexing="ij")
    return users.ravel(), movies.ravel()


@pytest.mark.parametrize(("kind", "output", "side_dim"), COMBINATIONS)
def test_numpy_scores_equal_the_network(
    kind: str, output: str, side_dim: int, pairs, tmp_path: Path
) -> None:
    net = random_network(kind, output, side_dim)
    users, movies = pairs
    expected = keras_scores(net, users, movies)
    tables = NetworkTables.from_network(net)
    assert (tables.kind, tables.output) == (kind, output)
    got = tables.score(users, movies)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # every movie for one user, every movie for many users: the same scores
    matrix = tables.score_users(np.arange(N_USERS))
    np.testing.assert_allclose(matrix.ravel(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        tables.score_user(7), expected[7 * N_MOVIES : 8 * N_MOVIES], rtol=1e-5, atol=1e-6
    )
    blocks = [block for _, block in tables.iter_user_scores(np.arange(N_USERS), block=7)]
    np.testing.assert_array_equal(np.concatenate(blocks), matrix)
    # the file round trip changes nothing
    tables.to_npz(tmp_path / "weights.npz")
    again = NetworkTables.from_npz(tmp_path / "weights.npz")
    np.testing.assert_array_equal(again.score(users, movies), got)


@pytest.mark.parametrize("kind", ["dot", "bias", "mlp"])
def test_the_movie_tables_are_what_the_network_uses(kind: str, pairs) -> None:
    """With side features: ``warm * E + side_factors(s)`` (and the same for the bias)."""
    net = random_network(kind, "linear", SIDE_DIM)
    tables = NetworkTables.from_network(net)
    warm = np.asarray(net.get_layer("movie_warm").embeddings)
    side = np.asarray(net.get_layer("side_table").embeddings)
    kernel, bias = net.get_layer("side_factors").get_weights()
    expected = np.asarray(net.get_layer("movie_embedding").embeddings) * warm + side @ kernel + bias
    np.testing.assert_allclose(tables.movie_factors(), expected, rtol=1e-5, atol=1e-6)
    cold = ~warm[:, 0].astype(bool)
    np.testing.assert_allclose(
        tables.movie_factors()[cold], (side @ kernel + bias)[cold], rtol=1e-5, atol=1e-6
    )
    if kind == "bias":
        kernel, bias = net.get_layer("side_bias").get_weights()
        expected = (
            np.asarray(net.get_layer("movie_bias").embeddings) * warm + side @ kernel + bias
        )[:, 0]
        np.testing.assert_allclose(tables.movie_biases(), expected, rtol=1e-5, atol=1e-6)
    else:
        assert tables.movie_biases() is None


@pytest.mark.parametrize(
    ("kind", "output"),
    [("dot", "sigmoid"), ("bias", "linear"), ("mlp", "linear"), ("mlp", "sigmoid")],
)
def test_mixed_precision_networks(kind: str, output: str, pairs) -> None:
    """A bfloat16 network is scored in float32: exactly as its float32 twin, and close to
    its own bfloat16 arithmetic."""
    mixed = random_network(kind, output, SIDE_DIM, policy="mixed_bfloat16")
    plain = random_network(kind, output, SIDE_DIM, seed=1)
    plain.set_weights(mixed.get_weights())
    users, movies = pairs
    got = NetworkTables.from_network(mixed).score(users, movies)
    np.testing.assert_allclose(got, keras_scores(plain, users, movies), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, keras_scores(mixed, users, movies), rtol=0.02, atol=0.05)


def test_tables_are_checked() -> None:
    net = random_network("bias", "sigmoid", 0)
    tables = NetworkTables.from_network(net)
    spec = NetworkSpec(
        "bias", N_USERS, N_MOVIES, factors=6, output="sigmoid", rating_range=(0.25, 5.25)
    )
    tables.check(spec)
    with pytest.raises(ValueError, match="expected dot with sigmoid"):
        tables.check(NetworkSpec("dot", N_USERS, N_MOVIES, factors=6, output="sigmoid"))
    with pytest.raises(
        ValueError,
        match=r"table 'user_factors' has shape \(30, 6\), "
        r"expected \(31, 6\)",
    ):
        tables.check(
            NetworkSpec(
                "bias",
                N_USERS + 1,
                N_MOVIES,
                factors=6,
                output="sigmoid",
                rating_range=(0.25, 5.25),
            )
        )
    with pytest.raises(ValueError, match="output range"):
        tables.check(NetworkSpec("bias", N_USERS, N_MOVIES, factors=6, output="sigmoid"))
    arrays = dict(tables.arrays)
    del arrays["offset"]
    with pytest.raises(ValueError, match="lack offset"):
        NetworkTables("bias", arrays, "sigmoid")
    with pytest.raises(ValueError, match="table 'movie_bias' has shape"):
        NetworkTables("bias", {**tables.arrays, "movie_bias": np.zeros(3)}, "sigmoid")
    with pytest.raises(ValueError, match="outside the table"):
        tables.score([0, N_USERS], [0, 0])


# ------------------------------------------------------------------ fitted models
@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RatingModel, Path]]:
    ratings = planted_ratings()
    movies = planted_movies(ratings)
    out = {}
    for kind in ("dot", "bias", "mlp"):
        model = RatingModel(  # the network's own scores, even where the baseline is better
            kind, factors=4, epochs=3, batch_size=256, seed=2, fallback="never"
        ).fit(ratings, movies=movies)
        directory = tmp_path_factory.mktemp("scoring") / kind
        model.save(directory)
        out[kind] = (model, directory)
    return out


def test_fitted_predictions_come_from_the_network(saved) -> None:
    for model, _ in saved.values():
        users = np.repeat(model.user_vocab_.ids[:10], 5)
        movies = np.tile(model.movie_vocab_.ids[:5], 10)
        u, m = model.user_vocab_.index(users), model.movie_vocab_.index(movies)
        expected = np.clip(keras_scores(model.network_, u, m), *model.rating_scale_)
        np.testing.assert_allclose(model.predict(users, movies), expected, rtol=1e-5)


def test_a_new_network_is_scored_with_its_own_tables(saved) -> None:
    loaded = RatingModel.load(saved["bias"][1])
    before = loaded.predict([1, 2], [100, 101])
    replacement = build_network(loaded.spec_)
    replacement.set_weights([w + 0.5 for w in replacement.get_weights()])
    loaded.network_ = replacement
    assert not np.allclose(loaded.predict([1, 2], [100, 101]), before)
    np.testing.assert_allclose(
        loaded.predict([1, 2], [100, 101]),
        np.clip(
            keras_scores(
                replacement, loaded.user_vocab_.index([1, 2]), loaded.movie_vocab_.index([100, 101])
            ),
            *loaded.rating_scale_,
        ),
        rtol=1e-5,
    )


@pytest.mark.slow
def test_load_reads_no_keras_and_answers_the_same(saved) -> None:
    """In a fresh interpreter: load, predict, recommend, similar, describe; no backend."""
    script = """
import json, sys
import numpy as np
from recsys.models.rating_model import RatingModel
out = {}
for kind, directory in json.loads(sys.argv[1]).items():
    model = RatingModel.load(directory)
    users = model.user_vocab_.ids[:20].repeat(3)
    movies = np.resize(model.movie_vocab_.ids, 60)
    out[kind] = {"predict": model.predict(users, movies).tolist(),
                 "recommend": model.recommend(int(users[0]), 5).to_json(),
                 "similar": model.similar_movies(int(movies[0]), 3).to_json(),
                 "factors": model.movie_factors().tolist(),
                 "describe": model.describe()}
out["modules"] = [name for name in BACKENDS if name in sys.modules]
print(json.dumps(out))
""".replace("BACKENDS", repr(BACKENDS))
    dirs = {kind: str(directory) for kind, (_, directory) in saved.items()}
    result = _run_python(script, json.dumps(dirs))
    assert result["modules"] == []
    for kind, (model, _) in saved.items():
        users = model.user_vocab_.ids[:20].repeat(3)
        movies = np.resize(model.movie_vocab_.ids, 60)
        np.testing.assert_array_equal(
            np.float32(result[kind]["predict"]), model.predict(users, movies)
        )
        assert result[kind]["recommend"] == model.recommend(int(users[0]), 5).to_json()
        assert result[kind]["similar"] == model.similar_movies(int(movies[0]), 3).to_json()
        np.testing.assert_array_equal(np.float32(result[kind]["factors"]), model.movie_factors())
        assert result[kind]["describe"] == json.loads(json.dumps(model.describe()))


@pytest.mark.slow  # a subprocess of several seconds; CI runs it
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_model_saved_under_tensorflow_loads_under_another_backend(backend: str, saved) -> None:
    pytest.importorskip(backend)
    script = """
import json, sys
import numpy as np
from recsys.models.rating_model import RatingModel
out = {}
for kind, directory in json.loads(sys.argv[1]).items():
    model = RatingModel.load(directory)
    users, movies = model.user_vocab_.ids[:10].repeat(4), np.resize(model.movie_vocab_.ids, 40)
    numpy_first = model.predict(users, movies).tolist()
    net = model.network_  # the Keras network, read on this backend
    u, m = model.user_vocab_.index(users), model.movie_vocab_.index(movies)
    import keras
    raw = keras.ops.convert_to_numpy(net({"user": u, "movie": m}, training=False))
    out[kind] = {"numpy": numpy_first, "keras": np.clip(raw, *model.rating_scale_).tolist()}
out["backend"] = keras.backend.backend()
print(json.dumps(out))
"""
    dirs = {kind: str(directory) for kind, (_, directory) in saved.items()}
    result = _run_python(script, json.dumps(dirs), env={"KERAS_BACKEND": backend})
    assert result["backend"] == backend
    for kind, (model, _) in saved.items():
        users, movies = model.user_vocab_.ids[:10].repeat(4), np.resize(model.movie_vocab_.ids, 40)
        np.testing.assert_array_equal(
            np.float32(result[kind]["numpy"]), model.predict(users, movies)
        )
        np.testing.assert_allclose(result[kind]["keras"], result[kind]["numpy"], rtol=1e-5)


def test_query_commands_import_no_backend(saved, tmp_path: Path) -> None:
    """``recsys predict / recommend / similar`` in-process: no Keras, no backend (and no
    pandas for ``predict``)."""
    directory = str(saved["bias"][1])
    users = tmp_path / "users.txt"
    users.write_text("1\n2\n\n999999\n")
    script = """
import json, sys
from recsys.cli import main
directory, users = sys.argv[1], sys.argv[2]
seen = {}
for name, argv in [("predict", ["predict", "--model", directory, "--user", "1", "--movie",
                                "100", "101", "5"]),
                   ("recommend", ["recommend", "--model", directory, "--user", "1"]),
                   ("similar", ["similar", "--model", directory, "--movie", "100"]),
                   ("batch", ["recommend", "--model", directory, "--users", users, "-k", "3"])]:
    code = main(argv)
    assert code == 0, name
    seen[name] = [m for m in BACKENDS + ("pandas",) if m in sys.modules]
print(json.dumps(seen), file=sys.stderr)
""".replace("BACKENDS", repr(BACKENDS))
    completed = subprocess.run(
        [sys.executable, "-c", script, directory, str(users)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stderr.strip().splitlines()[-1])
    assert seen == {
        "predict": [],
        "recommend": ["pandas"],
        "similar": ["pandas"],
        "batch": ["pandas"],
    }
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("user 1 -> Movie 100 (1990) (movie 100): ")
    assert lines[2] == (
        "user 1 -> movie 5: "
        + lines[2].split(": ")[1].split("  ")[0]
        + "  [unknown movie: user baseline (mean + user bias)]"
    )
    assert "user_id,rank,movie_id,score" in lines


def test_an_old_directory_without_tables_still_loads(saved, tmp_path: Path) -> None:
    import shutil

    model, directory = saved["mlp"]
    old = shutil.copytree(directory, tmp_path / "old")
    (old / "weights.npz").unlink()
    (old / "titles.json").unlink()
    loaded = RatingModel.load(old)
    assert loaded._network_state()[0] is not None  # the network was read to derive them
    users, movies = np.array([1, 2, 3, 424242]), np.array([100, 101, 5, 100])
    pd.testing.assert_frame_equal(
        loaded.predict_frame(users, movies), model.predict_frame(users, movies)
    )
    # saving it again writes the tables
    loaded.save(tmp_path / "again")
    assert (tmp_path / "again" / "weights.npz").is_file()
    np.testing.assert_array_equal(
        RatingModel.load(tmp_path / "again").predict(users, movies), model.predict(users, movies)
    )


def test_predict_output_is_the_same_for_both_layouts(
    saved, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from recsys.cli import main

    _, directory = saved["dot"]
    old = shutil.copytree(directory, tmp_path / "old")
    (old / "weights.npz").unlink()
    (old / "titles.json").unlink()
    printed = []
    for path in (directory, old):
        for extra in ([], ["--json"]):
            assert (
                main(
                    ["predict", "--model", str(path), "--user", "1", "--movie", "100", "5", *extra]
                )
                == 0
            )
            printed.append(capsys.readouterr().out)
    assert printed[0] == printed[2] and printed[1] == printed[3]
    assert "Movie 100 (1990)" in printed[0] and '"title": null' in printed[1]


def test_resaving_a_loaded_model_needs_no_keras(saved, tmp_path: Path) -> None:
    script = """
import sys
from recsys.models.rating_model import RatingModel
RatingModel.load(sys.argv[1]).save(sys.argv[2])
print([m for m in BACKENDS if m in sys.modules])
""".replace("BACKENDS", repr(BACKENDS))
    _, directory = saved["bias"]
    completed = subprocess.run(
        [sys.executable, "-c", script, str(directory), str(tmp_path / "copy")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
    for name in ("model.keras", "weights.npz"):
        assert (tmp_path / "copy" / name).read_bytes() == (directory / name).read_bytes()


def test_a_damaged_model_file_is_reported_only_when_the_network_is_needed(
    saved, tmp_path: Path
) -> None:
    import shutil

    _, directory = saved["dot"]
    copy = shutil.copytree(directory, tmp_path / "m")
    (copy / "model.keras").write_bytes(b"damaged")
    model = RatingModel.load(copy)
    assert model.predict([1], [100]).shape == (1,)
    with pytest.raises(ModelDirError, match=r"model\.keras' is damaged"):
        _ = model.network_


def test_recommend_all_is_recommend_for_each_user(saved) -> None:
    for model, _ in saved.values():
        users = [*model.user_vocab_.ids[:25].tolist(), 424242]
        for min_ratings in (0, 30):
            rows = list(model.recommend_all(users, 4, min_ratings=min_ratings, block=8))
            assert [row[0] for row in rows] == users
            for user, movies, scores, fallback in rows:
                frame = model.recommend(user, 4, min_ratings=min_ratings)
                np.testing.assert_array_equal(movies, frame["movie_id"].to_numpy())
                np.testing.assert_allclose(scores, frame["score"].to_numpy(), rtol=1e-6)
                assert fallback == (FALLBACK_USER if user == 424242 else "")


def test_recommend_all_users_command(saved, capsys: pytest.CaptureFixture[str]) -> None:
    from recsys.cli import main

    model, directory = saved["mlp"]
    assert main(["recommend", "--model", str(directory), "--all-users", "-k", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "user_id,rank,movie_id,score"
    assert len(out) == 1 + 3 * len(model.user_vocab_)
    # the command keeps to the model's data-chosen rating floor by default
    first = model.recommend(int(model.user_vocab_.ids[0]), 3, min_ratings=model.rating_floor())
    assert [int(line.split(",")[2]) for line in out[1:4]] == first["movie_id"].tolist()
    assert main(["recommend", "--model", str(directory), "--all-users", "-k", "2", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["user_id"] for r in records] == model.user_vocab_.ids.tolist()
    assert records[0]["movie_ids"] == first["movie_id"].tolist()[:2]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def _run_python(script: str, *args: str, env: dict[str, str] | None = None) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(env),
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_a_bad_users_file_is_one_line(
    saved, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recsys.cli import main
    from tests.recsys.cli.helpers import assert_one_line_error, invoke

    users = tmp_path / "users.txt"
    users.write_text("1\n\nuser seven\n")
    code, out, err = invoke(
        main, ["recommend", "--model", str(saved["dot"][1]), "--users", str(users)], capsys
    )
    assert_one_line_error(code, err, "users.txt line 3: 'user seven' is not a user id")
    assert out == ""
