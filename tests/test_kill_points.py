"""Kill a command after each of its output steps: the output is the complete old one or
the complete new one, never missing, never a mix; the next run leaves no leftovers.

Uses the harness of ``tests/kill_points.py``. Each test replaces an existing output
(made from data A) by one made from other data (B), killing the run after step 1,
2, ... until a run finishes. The outcome of each kill is classified against the old
output and the complete new one (the final run): ``old``, ``new``, anything else fails.
Slow (subprocesses, each importing the stack): CI runs them in its slow step.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from recsys.data.synth import SynthSpec, write_synthetic
from recsys.features import FeatureStore
from recsys.fileio import readable_dir
from tests.kill_points import KillRun, fingerprint, kill_at_every_point, leftovers, run_command

pytestmark = pytest.mark.slow


def classify(now: dict[str, str], old: dict[str, str], final: dict[str, str]) -> str:
    """``"old"``, ``"new"`` or a description of what is wrong (a mix, missing files).

    New means: the same files as the complete new output, and exactly the files that
    differ between the old and the complete new output differ from the old (content
    that depends on the run, such as timings, may differ from the final run's).
    """
    if now == old:
        return "old"
    changed_now = {f for f in now if now[f] != old.get(f)}
    changed_final = {f for f in final if final[f] != old.get(f)}
    if set(now) == set(final) and changed_now == changed_final:
        return "new"
    if not now:
        return "missing"
    return f"a mix (changed {sorted(changed_now)}, expected {sorted(changed_final)})"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kill")
    write_synthetic(SynthSpec(n_users=60, n_movies=40, n_ratings=800, seed=1), root / "A")
    write_synthetic(SynthSpec(n_users=70, n_movies=45, n_ratings=900, seed=2), root / "B")
    return root


def _folder_output(
    work: Path,
    name: str,
    first: list[str],
    second: list[str],
    env: dict[str, str] | None = None,
) -> tuple[list[KillRun], list[str]]:
    """Kill-test a command that replaces the folder ``name`` in ``work``."""
    target = work / name
    env = {"RECSYS_DATA": str(work / "cache"), **(env or {})}
    done, _ = run_command(first, cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    snapshot = work / f"{name}-old"
    shutil.copytree(target, snapshot)
    old = fingerprint(snapshot)
    seen: list[dict[str, str]] = []

    def restore() -> None:  # the old output again; leftovers of the last kill stay
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(snapshot, target)

    def check(run: KillRun) -> str:
        seen.append(fingerprint(readable_dir(target)))
        return "pending"

    report = kill_at_every_point(
        " ".join(second[:2]), second, cwd=work, env=env, before_each=restore, check=check
    )
    final = seen[-1]
    assert final != old, "the new run wrote the same output as the old one"
    for run, now in zip(report.runs, seen, strict=True):
        run.outcome = classify(now, old, final)
        assert run.outcome in ("old", "new"), f"killed after step {run.n}: {run.outcome}"
    assert leftovers(target) == [], "the complete run left temporaries or locks behind"
    print(report.line())
    return report.runs, sorted(final)


def test_train(work: Path) -> None:
    argv = ["recsys", "train", "--epochs", "1", "--batch-size", "64", "--quiet"]
    runs, files = _folder_output(
        work,
        "M",
        [*argv, "--data", "A", "--out", "M"],
        [*argv, "--data", "B", "--out", "M", "--overwrite"],  # other data: other settings
    )
    assert [r.steps[-1].split("\t")[1] for r in runs][-1] == "exchange"
    assert {r.outcome for r in runs if r.killed} <= {"old", "new"}
    assert {"model.keras", "recsys_model.json", "arrays.npz", "weights.npz"} <= set(files)
    from recsys.models.model_dir import load_scorer

    assert len(load_scorer(work / "M").user_ids) == 70  # data B's users


def test_analyze(work: Path) -> None:
    for data, out, made in (("A", "MA", "M-old"), ("B", "MB", "M")):
        if (work / made / "recsys_model.json").is_file():  # test_train's models
            shutil.copytree(work / made, work / out)
            continue
        done, _ = run_command(
            ["recsys", "train", "--epochs", "1", "--data", data, "--out", out, "--quiet"],
            cwd=work,
            env={"RECSYS_DATA": str(work / "cache")},
        )
        assert done.returncode == 0, done.stderr
    argv = ["recsys", "analyze", "--top-movies", "30", "--out", "R"]
    runs, files = _folder_output(work, "R", [*argv, "--model", "MA"], [*argv, "--model", "MB"])
    assert "report.html" in files and any(r.killed for r in runs)


def test_synth_without_the_atomic_exchange(work: Path) -> None:
    """The path for systems without ``RENAME_EXCHANGE`` (train and analyze above take
    the exchange; tests/recsys/test_fileio.py kills both paths in miniature): a reader
    finds the new folder (``.S.*.new``) in the moment between the renames."""
    exchange = False
    name = "S2"
    argv = ["recsys", "synth", "--users", "30", "--movies", "20", "--quiet", "--out", name]
    env = {"RECSYS_TEST_NO_EXCHANGE": "1"}
    runs, _ = _folder_output(
        work, name, [*argv, "--ratings", "100"], [*argv, "--ratings", "150"], env=env
    )
    kinds = [s.split("\t")[1] for s in runs[-1].steps]
    assert kinds[-1] == ("exchange" if exchange else "rename")
    assert len(runs) - 1 == len(kinds)  # killed once after each step, then complete


def test_features_build(work: Path) -> None:
    env = {"RECSYS_DATA": str(work / "cache")}
    argv = ["recsys", "features", "build", "--blocks", "genres", "--out", "FS", "--quiet"]
    done, _ = run_command([*argv, "--data", "A"], cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    snapshot = work / "FS-old"
    shutil.copytree(work / "FS", snapshot)
    old_manifest = (snapshot / "manifest.json").read_text()

    def restore() -> None:  # the old manifest and blocks; files a killed run added stay
        for file in snapshot.iterdir():
            shutil.copy2(file, work / "FS" / file.name)

    def check(run: KillRun) -> str:
        store = FeatureStore(work / "FS")  # verifies every block against the manifest
        n_movies = store["genres"].movie_ids.size
        if (work / "FS" / "manifest.json").read_text() == old_manifest:
            assert n_movies == 40
            return "old"
        assert n_movies == 45, f"killed after step {run.n}: {n_movies} movies"
        return "new"

    report = kill_at_every_point(
        "features build",
        [*argv, "--data", "B"],
        cwd=work,
        env=env,
        before_each=restore,
        check=check,
    )
    assert {r.outcome for r in report.runs} == {"old", "new"}
    listed = {e["file"] for e in FeatureStore(work / "FS").manifest["blocks"].values()}
    assert sorted(p.name for p in (work / "FS").iterdir()) == sorted({"manifest.json", *listed})
    assert leftovers(work / "FS") == []
    print(report.line())


def test_metadata_import(work: Path) -> None:
    """The store is old or new at every kill point (one transaction), and every copied
    poster a row names has the bytes its ``poster_sha256`` says, although the posters
    change: a new copy is staged under a content name until the rows naming it are
    committed."""
    root = work / "meta"
    for version, titles in ((1, ("Toy Story", "Heat")), (2, ("Toy Story 2", "Heat 2"))):
        folder = root / f"p{version}"
        folder.mkdir(parents=True)
        for movie, shade in ((1, 10 * version), (2, 20 * version)):
            Image.new("RGB", (4, 6), (shade, 0, 0)).save(folder / f"{movie}.jpg")
        (root / f"m{version}.csv").write_text(
            "movieId,title,genres\n" + "".join(f"{i},{t},Drama\n" for i, t in enumerate(titles, 1))
        )
    env = {"RECSYS_DATA": str(work / "cache")}

    def argv(version: int) -> list[str]:
        return [
            *("recsys", "metadata", "import", "--csv", f"meta/m{version}.csv"),
            *("--posters-dir", f"meta/p{version}", "--copy-posters", "meta/copies"),
            *("--store", "meta/s.sqlite", "--quiet"),
        ]

    done, _ = run_command(argv(1), cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    shutil.copytree(root / "copies", root / "copies-old")
    shutil.copy2(root / "s.sqlite", root / "s-old.sqlite")

    def restore() -> None:
        shutil.copy2(root / "s-old.sqlite", root / "s.sqlite")
        for extra in ("s.sqlite-wal", "s.sqlite-shm"):
            (root / extra).unlink(missing_ok=True)
        # the old copies only, so each run takes every step of a clean run (a staged
        # copy left by the last kill would be reused, skipping its step)
        shutil.rmtree(root / "copies")
        shutil.copytree(root / "copies-old", root / "copies")

    stale: list[int] = []

    def check(run: KillRun) -> str:
        # closed at once: a connection left open would keep this process's map of
        # the -shm file that restore() deletes, and later reads would use it
        with contextlib.closing(sqlite3.connect(root / "s.sqlite")) as db:
            rows = db.execute(
                "SELECT movie_id, title, poster_file, poster_sha256 FROM movies ORDER BY 1"
            ).fetchall()
        titles = [r[1] for r in rows]
        for _, _, file, digest in rows:
            if file and fingerprint(Path(file).parent).get(Path(file).name) != digest:
                stale.append(run.n)
                break
        if titles == ["Toy Story", "Heat"]:
            return "old"
        assert titles == ["Toy Story 2", "Heat 2"], f"after step {run.n}: {titles}"
        return "new"

    report = kill_at_every_point(
        "metadata import", argv(2), cwd=work, env=env, before_each=restore, check=check
    )
    assert {r.outcome for r in report.runs} == {"old", "new"}
    assert not list((root / "copies").glob(".*.part"))
    assert stale == [], f"a row names a poster copy with other bytes after kills {stale}"
    assert sorted(p.name for p in (root / "copies").iterdir()) == ["1.jpg", "2.jpg"]
    print(report.line())
