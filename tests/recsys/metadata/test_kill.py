"""SIGKILL in the middle of ``recsys metadata fetch``, then resume: nothing lost or redone."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.recsys.metadata.conftest import API_KEY, write_links
from tests.recsys.metadata.fake_tmdb import FakeTMDB, make_jpeg, make_movie

REPO = Path(__file__).resolve().parents[3]
# The real command-line entry point, limited to the metadata command so this test does
# not depend on the other sub-commands being present.
RUNNER = (
    "import sys; from recsys.cli.framework import run_cli; "
    "sys.exit(run_cli('recsys', 'metadata', ['recsys.cli.metadata'], sys.argv[1:]))"
)
TMDB_IDS = list(range(1001, 1031))  # 1030 is unknown to the server: a 404
NO_POSTER = {1007, 1019}

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")


def ok_state(store: Path) -> tuple[set[int], set[int]]:
    """(tmdb ids stored ok, tmdb ids whose poster file is recorded), read-only."""
    if not store.exists():
        return set(), set()
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute("SELECT tmdb_id, poster_file FROM movies WHERE status = 'ok'")
            rows = rows.fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return set(), set()
    return {r[0] for r in rows}, {r[0] for r in rows if r[1]}


def start_and_kill(
    argv: list[str], env: dict[str, str], store: Path, stop_at: int, fake: FakeTMDB
) -> tuple[set[int], set[int], dict[str, int], bytes]:
    """Run the fetch, SIGKILL it once ``stop_at`` movies are stored; return what was done."""
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(ok_state(store)[0]) < stop_at and proc.poll() is None:
        assert time.monotonic() < deadline, "the fetch made no progress"
        time.sleep(0.02)
    assert proc.poll() is None, "the fetch finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done, with_poster = ok_state(store)
    assert len(done) >= stop_at
    return done, with_poster, fake.counts(), out + err


@pytest.mark.slow
def test_killed_fetch_resumes_without_loss_duplicates_or_refetching(tmp_path):
    movies = [make_movie(t, poster=t not in NO_POSTER) for t in TMDB_IDS[:-1]]
    links = write_links(tmp_path / "links.csv", [(i + 1, t) for i, t in enumerate(TMDB_IDS)])
    store, posters = tmp_path / "meta.sqlite", tmp_path / "posters"
    env = {
        **os.environ,
        "TMDB_API_KEY": API_KEY,
        "PYTHONPATH": str(REPO),
        "RECSYS_DATA": str(tmp_path / "cache"),
    }
    with FakeTMDB(API_KEY, movies, delay=0.04, image_delay=0.03) as fake:
        argv = [
            sys.executable,
            "-c",
            RUNNER,
            "metadata",
            "fetch",
            "--links",
            str(links),
            "--store",
            str(store),
            "--posters",
            str(posters),
            "--api-base",
            fake.api_base,
            "--image-base",
            fake.image_base,
            "--rate",
            "1000",
            "--backoff",
            "0.01",
        ]
        kills = [
            start_and_kill(argv, env, store, 5, fake),
            start_and_kill(argv, env, store, 14, fake),
        ]
        final = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, timeout=120)
        assert final.returncode == 0, final.stderr.decode()
        counts = fake.counts()

    # Nothing stored before a kill was requested again afterwards.
    for done, with_poster, before, _ in kills:
        for tmdb_id in done:
            assert counts[f"/3/movie/{tmdb_id}"] == before[f"/3/movie/{tmdb_id}"]
        for tmdb_id in with_poster:
            path = f"/t/p/w185/poster{tmdb_id}.jpg"
            assert counts[path] == before[path]
    # At most one movie was in flight per kill, so at most one extra request per kill.
    extra = sum(counts[f"/3/movie/{t}"] - 1 for t in TMDB_IDS)
    assert 0 <= extra <= len(kills)

    # Complete, no duplicates, the 404 recorded.
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT movie_id, tmdb_id, status, poster_file, poster_sha256 FROM movies"
        ).fetchall()
    assert sorted(r[0] for r in rows) == list(range(1, len(TMDB_IDS) + 1))
    by_tmdb = {r[1]: r for r in rows}
    assert {t for t, r in by_tmdb.items() if r[2] == "ok"} == set(TMDB_IDS[:-1])
    assert by_tmdb[1030][2] == "missing"
    # Every poster is whole and matches its checksum; no temporary file is left.
    expected = {f"{t}_w185.jpg" for t in TMDB_IDS[:-1] if t not in NO_POSTER}
    assert {p.name for p in posters.iterdir()} == expected
    for tmdb_id, (_, _, _, file, sha) in by_tmdb.items():
        if tmdb_id in NO_POSTER or tmdb_id == 1030:
            assert file is None
            continue
        data = Path(file).read_bytes()
        assert data == make_jpeg(tmdb_id) and hashlib.sha256(data).hexdigest() == sha
        with Image.open(file) as image:
            image.load()
    # The key was in the environment only: not in any output.
    outputs = [k[3] for k in kills] + [final.stdout, final.stderr]
    assert all(API_KEY.encode() not in out for out in outputs)
