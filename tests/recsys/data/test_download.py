"""Downloads from a real local HTTP server: checksums, truncation, unsafe archives, cache."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.data import download, load_dataset
from recsys.data.download import DatasetInfo, fetch_dataset, safe_extract
from recsys.errors import DataError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


class Archive(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    truncate: set[str] = set()
    hits: Counter[str] = Counter()

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        self.hits[name] += 1
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if name in self.truncate else body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Archive]]:
    Archive.files, Archive.truncate, Archive.hits = {}, set(), Counter()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Archive)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("RECSYS_MOVIELENS_URL", f"http://127.0.0.1:{httpd.server_port}/files/")
    yield Archive
    httpd.shutdown()


def archive_of(folder: Path, extra: dict[str, bytes] | None = None) -> bytes:
    """The bytes of a zip holding ``folder`` under its own name, plus ``extra`` members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, f"{folder.name}/{file.name}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, DatasetInfo]:
    table = dict(download.DATASETS)
    monkeypatch.setattr(download, "DATASETS", table)
    import recsys.data.dataset as dataset_module

    monkeypatch.setattr(dataset_module, "DATASETS", table)
    return table


def test_download_verify_extract_then_use_the_cache(server, registry, tmp_path) -> None:
    body = archive_of(FIXTURES / "ml-100k")
    server.files["ml-100k.zip"] = body
    registry["ml-100k"] = DatasetInfo("ml-100k.zip", hashlib.md5(body).hexdigest(), len(body))
    data = load_dataset("ml-100k")
    assert data.layout == "100k" and len(data.ratings) == 6
    load_dataset("ml-100k")
    assert server.hits["ml-100k.zip"] == 1  # the second load used the cache


def test_published_md5_file_is_used_when_none_is_pinned(server, registry, tmp_path) -> None:
    body = archive_of(FIXTURES / "ml-csv")
    server.files["ml-latest.zip"] = body
    digest = hashlib.md5(body).hexdigest()
    server.files["ml-latest.zip.md5"] = f"MD5 (ml-latest.zip) = {digest}\n".encode()
    assert fetch_dataset("ml-latest", root=tmp_path).joinpath("ml-csv", "ratings.csv").is_file()


def test_checksum_mismatch_leaves_nothing(server, registry, tmp_path) -> None:
    server.files["ml-1m.zip"] = archive_of(FIXTURES / "ml-1m")
    with pytest.raises(DataError, match="does not match the published"):
        fetch_dataset("ml-1m", root=tmp_path)  # the pinned real checksum cannot match
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_is_reported_and_not_kept(server, registry, tmp_path) -> None:
    body = archive_of(FIXTURES / "ml-1m")
    server.files["ml-1m.zip"] = body
    server.truncate.add("ml-1m.zip")
    registry["ml-1m"] = DatasetInfo("ml-1m.zip", hashlib.md5(body).hexdigest())
    with pytest.raises(DataError, match="closed after"):
        fetch_dataset("ml-1m", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_archive_members_outside_the_target_are_refused(server, registry, tmp_path) -> None:
    body = archive_of(FIXTURES / "ml-csv", {"../evil.txt": b"x"})
    server.files["ml-20m.zip"] = body
    registry["ml-20m"] = DatasetInfo("ml-20m.zip", hashlib.md5(body).hexdigest())
    with pytest.raises(DataError, match="outside the dataset folder"):
        fetch_dataset("ml-20m", root=tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists()
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("member", ["/etc/passwd-copy", "a/../../b", "..\\win.txt"])
def test_safe_extract_rejects(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(member, b"x")
    with pytest.raises(DataError, match="refusing"):
        safe_extract(archive, tmp_path / "out")


def test_http_errors_and_no_network(server, registry, tmp_path, monkeypatch) -> None:
    with pytest.raises(DataError, match="HTTP 404"):
        fetch_dataset("ml-10m", root=tmp_path)
    monkeypatch.setenv("RECSYS_MOVIELENS_URL", "http://127.0.0.1:9/")
    with pytest.raises(DataError, match="cannot download"):
        fetch_dataset("ml-10m", root=tmp_path)
