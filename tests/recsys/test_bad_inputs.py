"""The bad inputs of issue 15, one regression test each: one line, exit code 2, no
traceback (or accepted, where accepting is right).

Numbers in the test names are the issue's. Further bad inputs tried beyond its list
are at the end (``test_more_*``).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genre.cli import main as genre_main
from recsys.cli import main
from recsys.cli.framework import permission_advice
from recsys.data import load_dataset
from recsys.errors import MAX_SEED, DataError, InvalidParameterError, check_seed
from recsys.features import FeatureBlock, FeatureStore
from recsys.fileio import atomic_write
from tests.genre.conftest import write_metadata_csv
from tests.recsys.cli.helpers import assert_one_line_error, invoke

REPO = Path(__file__).resolve().parents[2]
CSV = REPO / "tests" / "fixtures" / "ml-csv"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return invoke(main, args, capsys)


def as_other_user(action: Callable[[], object]) -> object:
    """Run ``action`` in a child process without root's right to ignore permissions.

    As root (containers, CI images) every permission check passes, so the child drops
    to ``nobody`` after the imports are done; as any other user it just runs. Returns
    what ``action`` returned, or the exception it raised, as ``(kind, text)``.
    """
    if os.geteuid() != 0:
        try:
            return ("ok", repr(action()))
        except BaseException as error:  # what the test asserts on
            return (type(error).__name__, str(error))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = ("ok", repr(action()))
        except BaseException as error:
            result = (type(error).__name__, str(error))
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        text = handle.read()
    os.waitpid(pid, 0)
    return tuple(json.loads(text))


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A folder another user can reach (pytest's own are private to their owner)."""
    folder = Path(tempfile.mkdtemp(prefix="recsys-perm-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.rglob("*"):
        path.chmod(0o700)
    shutil.rmtree(folder)


@pytest.fixture
def ratings_with(tmp_path: Path) -> Callable[[str], Path]:
    def write(line: str) -> Path:
        path = tmp_path / "r.csv"
        path.write_text("user,item,rating,timestamp\n1,1,4,5\n2,1,3,6\n" + line + "\n")
        return path

    return write


# ----------------------------------------------------------------- 3. seeds
@pytest.mark.parametrize("seed", ["-1", "99999999999999999999999", str(MAX_SEED + 1)])
def test_3_train_seed_out_of_range(seed: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["train", "--data", str(CSV), "--seed", seed, "--epochs", "1"], capsys)
    assert_one_line_error(code, err, f"seed={seed} is out of range")
    assert "(set by --seed)" in err


def test_3_synth_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["synth", "--users", "10", "--movies", "10", "--ratings", "20", "--seed", "-1"]
    code, _, err = run([*argv, "--out", str(tmp_path / "s")], capsys)
    assert_one_line_error(code, err, "seed=-1 is out of range")
    assert not (tmp_path / "s").exists()


def test_3_genre_dataset_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_metadata_csv(tmp_path / "m.csv", load_dataset(), n=60)
    code, _, err = invoke(
        genre_main,
        ["dataset", "--metadata", str(csv), "--seed", "-1", "--out", str(tmp_path / "g")],
        capsys,
    )
    assert_one_line_error(code, err, "seed=-1 is out of range")
    assert not (tmp_path / "g").exists()


def test_3_the_seed_check() -> None:
    assert check_seed(0) == 0 and check_seed(np.int64(MAX_SEED)) == MAX_SEED
    for bad in (-1, MAX_SEED + 1, 1.5, True, "3"):
        with pytest.raises(InvalidParameterError) as caught:
            check_seed(bad, "random_state")
        assert caught.value.parameter == "random_state"


# ----------------------------------------------------- 4. a timestamp of 2**70
def test_4_huge_timestamp_in_a_ratings_file(
    ratings_with: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    file = ratings_with(f"3,2,5,{2**70}")
    code, _, err = run(["train", "--ratings", str(file), "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "line 4: timestamp value")
    assert "does not fit a 64-bit integer" in err


def test_4_huge_timestamp_in_a_movielens_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "movies.csv").write_bytes((CSV / "movies.csv").read_bytes())
    lines = (CSV / "ratings.csv").read_text().splitlines()
    user, movie, rating, _ = lines[1].split(",")
    lines[1] = f"{user},{movie},{rating},{2**70}"
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    code, _, err = run(["train", "--data", str(folder), "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "does not fit a 64-bit integer")


# ---------------------------------------------------------------- 5. --sep '\x'
@pytest.mark.parametrize("sep", ["\\x", "\\x4", "\\u12", "\\"])
def test_5_malformed_separator_escape(
    sep: str, ratings_with: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    file = ratings_with("3,2,5,7")
    code, _, err = run(["train", "--ratings", str(file), "--sep", sep], capsys)
    assert_one_line_error(code, err, "has a malformed escape")
    assert "(set by --sep)" in err


def test_5_good_escapes_still_work(tmp_path: Path) -> None:
    from recsys.data.generic import read_ratings_file

    path = tmp_path / "r.tsv"
    path.write_text("1\t1\t4\t5\n2\t1\t3\t6\n")
    frame = read_ratings_file(path, sep="\\t", columns="user,item,rating,timestamp")
    assert frame["rating"].tolist() == [4.0, 3.0]
    path.write_text("1\x1f1\x1f4\n")
    assert len(read_ratings_file(path, sep="\\x1f", columns="user,item,rating")) == 1


# ------------------------------------------------------- 6. a latin-1 movies.csv
def test_6_latin1_movies_csv_is_decoded(tmp_path: Path) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_bytes((CSV / "ratings.csv").read_bytes())
    movies = pd.read_csv(CSV / "movies.csv")
    movies.loc[0, "title"] = "Amélie (2001)"
    (folder / "movies.csv").write_bytes(movies.to_csv(index=False).encode("latin-1"))
    data = load_dataset(folder)
    assert data.movies["title"].iloc[0] == "Amélie (2001)"
    # the same file in UTF-8 with a byte-order mark reads the same
    (folder / "movies.csv").write_bytes(b"\xef\xbb\xbf" + movies.to_csv(index=False).encode())
    assert load_dataset(folder).movies["title"].iloc[0] == "Amélie (2001)"


# ------------------------------------------------ 7. a truncated block .npz
@pytest.fixture
def truncated_store(tmp_path: Path) -> Path:
    data = load_dataset(CSV)
    ids = data.movies["movie_id"].to_numpy()
    block = FeatureBlock.from_arrays(
        "genres", ids, np.eye(len(ids), 3, dtype=np.float32), columns=["a", "b", "c"]
    )
    store = FeatureStore.write(tmp_path / "fs", [block])
    file = store.path / store.manifest["blocks"]["genres"]["file"]
    file.write_bytes(file.read_bytes()[:100])
    return store.path


def test_7_truncated_block_to_recsys_train(
    truncated_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        [
            *("train", "--data", str(CSV), "--features", str(truncated_store)),
            *("--blocks", "genres", "--epochs", "1", "--out", str(tmp_path / "m")),
        ],
        capsys,
    )
    assert_one_line_error(code, err, "block 'genres' does not match its manifest")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow  # builds a labelled set and imports the genre stack; CI runs it
def test_7_truncated_block_to_genre_train(
    truncated_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = write_metadata_csv(tmp_path / "m.csv", load_dataset(), n=60)
    code, _, err = invoke(
        genre_main, ["dataset", "--metadata", str(csv), "--out", str(tmp_path / "g")], capsys
    )
    assert code == 0, err
    code, _, err = invoke(
        genre_main,
        [
            *("train", "--dataset", str(tmp_path / "g"), "--model", "mlp"),
            *("--features", str(truncated_store), "--out", str(tmp_path / "gm")),
        ],
        capsys,
    )
    assert_one_line_error(code, err, "block 'genres' does not match its manifest")


# ----------------------------------------------------------- 8. --api-base
@pytest.mark.parametrize(
    ("base", "fragment"),
    [
        ("http://[::1/3", "is not a valid URL"),
        ("http://127.0.0.1:99999/3", "has port 99999, outside 1..65535"),
        ("http://local host/3", "has an invalid host 'local host'"),
        ("http://127.0.0.1:0/3", "has port 0"),
        ("http://127.0.0.1:http/3", "is not a valid URL"),
        ("http://exa mple.org:80/3", "invalid host"),
    ],
)
def test_8_bad_api_base_is_bad_input_not_an_outage(
    base: str,
    fragment: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TMDB_API_KEY", "0123456789abcdef0123456789abcdef")
    code, _, err = run(
        ["metadata", "fetch", "--api-base", base, "--store", str(tmp_path / "s.sqlite")], capsys
    )
    assert_one_line_error(code, err, fragment)
    assert "(set by --api-base)" in err


# ------------------------------------------------------------ 9. --noise nan
@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--noise", "nan", "noise=nan must be a finite number"),
        ("--noise", "inf", "noise=inf must be a finite number"),
        ("--noise", "-1", "noise=-1.0 must be a finite number >= 0"),
        ("--factors", "0", "factors must be a positive integer"),
    ],
)
def test_9_bad_synth_parameters(
    flag: str, value: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["synth", "--users", "10", "--movies", "10", "--ratings", "20", flag, value]
    code, _, err = run([*argv, "--out", str(tmp_path / "s")], capsys)
    assert_one_line_error(code, err, fragment)
    assert f"(set by {flag})" in err
    assert not (tmp_path / "s").exists()


def test_9_sizes_name_their_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["synth", "--users", "0", "--movies", "10", "--ratings", "20"]
    code, _, err = run([*argv, "--out", str(tmp_path / "s")], capsys)
    assert_one_line_error(code, err, "n_users must be a positive integer")
    assert "(set by --users)" in err


# --------------------------------------------- 10. an edited rating_scale
@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad-inputs") / "model"
    argv = ["train", "--data", str(CSV), "--epochs", "1", "--batch-size", "8"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.slow  # trains a model (a few seconds with the Keras import); CI runs it
@pytest.mark.parametrize("scale", [[5, "x"], [5, 1], [1], None, [1, float("inf")], "1,5"])
def test_10_edited_rating_scale(
    scale: object, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "edited"
    edited.mkdir()
    for file in model.iterdir():
        (edited / file.name).write_bytes(file.read_bytes())
    meta = json.loads((edited / "recsys_model.json").read_text())
    meta["rating_scale"] = scale
    (edited / "recsys_model.json").write_text(json.dumps(meta))
    code, _, err = run(["predict", "--model", str(edited), "--user", "1", "--movie", "1"], capsys)
    assert_one_line_error(code, err, "rating_scale is")
    assert "expected two finite numbers" in err


@pytest.mark.slow  # uses the trained model above
def test_11_truncated_model_keras(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recsys.errors import ModelDirError
    from recsys.models.model_dir import _open, _spec, load_network

    edited = tmp_path / "edited"
    edited.mkdir()
    for file in model.iterdir():
        (edited / file.name).write_bytes(file.read_bytes())
    data = (edited / "model.keras").read_bytes()
    (edited / "model.keras").write_bytes(data[: len(data) // 2])
    path, meta = _open(edited)
    with pytest.raises(ModelDirError, match=r"is damaged \(not a complete .keras zip"):
        load_network(path / "model.keras", _spec(meta))
    os.chmod(edited / "model.keras", 0)
    kind, text = as_other_user(lambda: load_network(path / "model.keras", _spec(meta)))
    assert kind == "ModelDirError" and "cannot be read (Permission denied)" in text


# ------------------------------------------------ 11. misleading messages
def test_11_permission_messages_say_read_or_write(open_tmp: Path) -> None:
    tmp_path = open_tmp
    assert "cannot create" in permission_advice(str(tmp_path / "new" / "x"))
    secret = tmp_path / "secret.csv"
    secret.write_text("x")
    os.chmod(secret, 0)
    kind, text = as_other_user(lambda: permission_advice(str(secret)))
    assert kind == "ok" and "cannot read" in text and "you can write" not in text


def test_11_unreadable_data_folder(open_tmp: Path) -> None:
    tmp_path = open_tmp
    from recsys.data.source import DataSource

    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4,5\n")
    os.chmod(folder, 0)
    try:
        kind, text = as_other_user(lambda: DataSource(folder))
    finally:
        os.chmod(folder, 0o755)
    assert kind == "DataError" and "cannot read the dataset folder" in text
    assert "no files" not in text


def test_11_read_only_posters_folder_names_the_poster(open_tmp: Path) -> None:
    tmp_path = open_tmp
    from PIL import Image

    from recsys.metadata.posters import write_poster

    image = tmp_path / "p.jpg"
    Image.new("RGB", (4, 6)).save(image)
    folder = tmp_path / "posters"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        kind, text = as_other_user(lambda: write_poster(image.read_bytes(), folder / "1.jpg"))
    finally:
        os.chmod(folder, 0o755)
    assert kind == "PermissionError" and "1.jpg" in text and ".part" not in text


# ----------------------------------------- 12. a store in a read-only folder
def test_12_read_only_metadata_store_can_be_read(open_tmp: Path) -> None:
    tmp_path = open_tmp
    from recsys.metadata.store import MetadataStore

    folder = tmp_path / "ro"
    folder.mkdir()
    with MetadataStore(folder / "m.sqlite") as store:
        store.upsert_movie(1, tmdb_id=862, title="Toy Story", status="ok")
    os.chmod(folder, 0o555)

    def read() -> int:
        with MetadataStore(folder / "m.sqlite", readonly=True) as store:
            return store.coverage()["ok"]

    try:
        assert as_other_user(read) == ("ok", "1")
    finally:
        os.chmod(folder, 0o755)


# ---------------------------------- 13. import leftovers and poster modes
def test_13_import_cleans_parts_and_posters_get_the_umask(tmp_path: Path) -> None:
    from PIL import Image

    from recsys.metadata.importer import import_metadata
    from recsys.metadata.store import MetadataStore

    (tmp_path / "m.csv").write_text("movieId,title,genres\n1,Toy Story,Comedy\n")
    (tmp_path / "in").mkdir()
    Image.new("RGB", (4, 6)).save(tmp_path / "in" / "1.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".1.jpg.abcd1234.part").write_bytes(b"half a poster")  # a killed run's
    (out / "1.0123456789abcdef.jpg").write_bytes(b"staged by a killed import")
    old = os.umask(0o022)
    try:
        with MetadataStore(tmp_path / "s.sqlite") as store:
            report = import_metadata(
                store, tmp_path / "m.csv", posters_dir=tmp_path / "in", copy_posters_to=out
            )
    finally:
        os.umask(old)
    assert report.posters == 1
    assert sorted(p.name for p in out.iterdir()) == ["1.jpg"]
    assert stat.S_IMODE((out / "1.jpg").stat().st_mode) == 0o644


# ------------------------------------- further bad inputs beyond the list
@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (f"3,2,5,{-(2**70)}", "does not fit a 64-bit integer"),
        (f"{2**64},2,5,7", "does not fit a 64-bit integer"),
        ("3,2,5,1e30", "does not fit a 64-bit integer"),
        ("3,2,nan,7", "rating"),
        ("3,2,inf,7", "rating"),
        ("3,2.5,4,7", "movie value '2.5' is not an integer"),
    ],
)
def test_more_bad_rows(
    line: str,
    fragment: str,
    ratings_with: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(["train", "--ratings", str(ratings_with(line)), "--epochs", "1"], capsys)
    assert_one_line_error(code, err, fragment)


@pytest.mark.parametrize("seed", ["1.5", "abc", ""])
def test_more_non_integer_seeds_are_argparse_errors(
    seed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["train", "--data", str(CSV), "--seed", seed], capsys)
    assert_one_line_error(code, err, "--seed")


def test_more_feature_store_attacks(tmp_path: Path) -> None:
    block = FeatureBlock.from_arrays("genres", [1, 2], [[1.0], [0.0]])
    store = FeatureStore.write(tmp_path / "fs", [block])
    manifest_file = store.path / "manifest.json"
    entry = store.manifest["blocks"]["genres"]
    file = store.path / entry["file"]
    data = bytearray(file.read_bytes())
    data[-30] ^= 0xFF  # same size, other bytes
    file.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"block 'genres' does not match its manifest: the SHA"):
        FeatureStore(store.path)
    file.unlink()
    with pytest.raises(DataError, match="block 'genres' is missing its file"):
        FeatureStore(store.path)
    manifest = json.loads(manifest_file.read_text())
    manifest["blocks"]["genres"]["file"] = "../../etc/passwd"
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="outside the store"):
        FeatureStore(store.path)
    manifest["blocks"]["genres"] = {"file": "x.npz"}
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="lacks its file, bytes or sha256"):
        FeatureStore(store.path)
    manifest_file.write_bytes(b"\xff\xfe not json")
    with pytest.raises(DataError, match="is damaged"):
        FeatureStore(store.path)
    manifest_file.write_text(json.dumps({"format": "recsys-features/1", "blocks": {}}))
    with pytest.raises(DataError, match="build the store again"):
        FeatureStore(store.path)


def test_more_block_names_that_are_not_file_names(tmp_path: Path) -> None:
    for name in ("../x", ".hidden", ""):
        block = FeatureBlock.from_arrays(name, [1], [[1.0]])
        with pytest.raises(DataError, match="cannot name a file"):
            FeatureStore.write(tmp_path / "fs", [block])


@pytest.mark.parametrize(
    "base",
    ["ftp://example.org/3", "http:///3", "http://example.org/3#x", "http://example.org/3 "],
)
def test_more_api_bases(base: str) -> None:
    from recsys.metadata.client import _check_base

    with pytest.raises(InvalidParameterError):
        _check_base(base, "api_base", "https://api.themoviedb.org/3")


def test_more_written_files_keep_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    (tmp_path / ".a.json.partial.tmp").write_text("a killed run's")  # taken over
    with atomic_write(target) as handle:
        handle.write("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_more_sizes_beyond_memory_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["synth", "--users", "10", "--movies", "10", "--ratings", "20"]
    code, _, err = run([*argv, "--factors", "99999999999999", "--out", str(tmp_path / "s")], capsys)
    assert_one_line_error(code, err, "not enough memory (Unable to allocate")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("header", "row", "fragment"),
    [
        ("movieId,name", "1,A", "has no title column"),
        ("movieId,title,genres", "x,A,Drama", "movies.csv could not be read"),
        ("", "", "movies.csv is empty"),
    ],
)
def test_more_bad_movies_csv(
    header: str, row: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_bytes((CSV / "ratings.csv").read_bytes())
    (folder / "movies.csv").write_text(f"{header}\n{row}\n" if header else "")
    code, _, err = run(["train", "--data", str(folder), "--epochs", "1"], capsys)
    assert_one_line_error(code, err, fragment)


def test_more_movies_csv_without_genres_is_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_bytes((CSV / "ratings.csv").read_bytes())
    (folder / "movies.csv").write_text("movieId,title\n1,A\n")
    movies = load_dataset(folder).movies
    assert movies.loc[movies["movie_id"] == 1, "title"].tolist() == ["A"]
    assert set(movies["genres"]) == {()}


def test_more_feature_store_in_a_read_only_parent_can_take_blocks(open_tmp: Path) -> None:
    """The store is changed in place: its parent need not be writable (no lock file
    can be made there, and none is needed)."""
    store = open_tmp / "parent" / "fs"
    FeatureStore.write(store, [FeatureBlock.from_arrays("a", [1], [[1.0]])])
    os.chmod(store, 0o777)
    os.chmod(store.parent, 0o555)

    def add() -> list[str]:
        return FeatureStore.write(store, [FeatureBlock.from_arrays("b", [1], [[2.0]])]).names

    try:
        assert as_other_user(add) == ("ok", "['a', 'b']")
    finally:
        os.chmod(store.parent, 0o755)
