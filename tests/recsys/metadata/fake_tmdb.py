"""A small TMDB look-alike over real HTTP on 127.0.0.1, with programmable faults.

It serves what the product calls: ``/3/movie/{id}``, ``/3/movie/popular``,
``/3/genre/movie/list`` (without 10769, as TMDB does), ``/3/search/movie`` and poster
images ``/t/p/{size}/{file}`` (real JPEGs made with Pillow). API calls must carry the
right ``api_key`` (else 401, like TMDB). Faults are queued per path and used up one
request at a time:

``Fault.status(429, retry_after=1)``  an error status (JSON body, optional Retry-After)
``Fault.sleep(s)``                    answer normally after ``s`` seconds (slow/timeout)
``Fault.cut()``                       promise the full body, send half, hang up
``Fault.corrupt()``                   a complete response holding a truncated image

Every request is logged on arrival (path without the key, status, time).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

GENRES = [
    {"id": 28, "name": "Action"},
    {"id": 12, "name": "Adventure"},
    {"id": 16, "name": "Animation"},
    {"id": 35, "name": "Comedy"},
    {"id": 80, "name": "Crime"},
    {"id": 18, "name": "Drama"},
    {"id": 10751, "name": "Family"},
    {"id": 14, "name": "Fantasy"},
    {"id": 878, "name": "Science Fiction"},
    {"id": 53, "name": "Thriller"},
]


@dataclass
class Fault:
    kind: str
    status: int = 500
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def status_code(status: int, retry_after: float | str | None = None) -> Fault:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return Fault("status", status=status, headers=headers)

    @staticmethod
    def sleep(seconds: float) -> Fault:
        return Fault("sleep", seconds=seconds)

    @staticmethod
    def cut() -> Fault:
        return Fault("cut")

    @staticmethod
    def corrupt() -> Fault:
        return Fault("corrupt")


def make_jpeg(seed: int, size: tuple[int, int] = (46, 68)) -> bytes:
    """A small, real, decodable JPEG with a pattern that depends on ``seed``."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    for x in range(0, size[0], 4):
        for y in range(0, size[1], 4):
            image.putpixel((x, y), ((x * seed) % 256, (y * 7) % 256, 128))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def make_movie(
    tmdb_id: int,
    *,
    genres: tuple[int, ...] = (18,),
    poster: bool = True,
    title: str | None = None,
    year: int = 1995,
) -> dict[str, Any]:
    """A TMDB-shaped movie detail record."""
    names = {g["id"]: g["name"] for g in GENRES} | {10769: "Foreign"}
    return {
        "id": tmdb_id,
        "imdb_id": f"tt{tmdb_id:07d}",
        "title": title or f"Movie {tmdb_id}",
        "original_title": f"Original {tmdb_id}",
        "overview": f"Overview of movie {tmdb_id}: a story.",
        "tagline": f"Tagline {tmdb_id}",
        "genres": [{"id": g, "name": names[g]} for g in genres],
        "release_date": f"{year}-0{1 + tmdb_id % 9}-1{tmdb_id % 10}",
        "original_language": "en",
        "runtime": 80 + tmdb_id % 50,
        "popularity": 10.5 + tmdb_id,
        "vote_average": 6.5,
        "vote_count": 100 + tmdb_id,
        "poster_path": f"/poster{tmdb_id}.jpg" if poster else None,
    }


class FakeTMDB:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        api_key: str,
        movies: list[dict[str, Any]] | None = None,
        *,
        missing_images: tuple[str, ...] = (),
        delay: float = 0.0,
        image_delay: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.movies = {int(m["id"]): m for m in (movies or [])}
        self.images: dict[str, bytes] = {}
        for movie in self.movies.values():
            path = movie.get("poster_path")
            if path and path not in missing_images:
                self.images[path.lstrip("/")] = make_jpeg(int(movie["id"]))
        self.delay = delay
        self.image_delay = image_delay
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.log: list[tuple[str, int, float]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------
    def add_faults(self, path: str, *faults: Fault) -> None:
        with self._lock:
            self.faults[path].extend(faults)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _, _ in self.log if p == path)

    def times(self, path: str) -> list[float]:
        with self._lock:
            return [t for p, _, t in self.log if p == path]

    def counts(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = defaultdict(int)
            for path, _, _ in self.log:
                out[path] += 1
            return dict(out)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/3"

    @property
    def image_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/t/p"

    def start(self) -> FakeTMDB:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTMDB:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routing ---------------------------------------------------------------------
    def next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.popleft() if queue else None

    def arrive(self, path: str) -> int:
        """Log a request as it arrives (before any fault delays it); return its index."""
        with self._lock:
            self.log.append((path, 0, time.monotonic()))
            return len(self.log) - 1

    def record(self, index: int, status: int) -> None:
        with self._lock:
            path, _, stamp = self.log[index]
            self.log[index] = (path, status, stamp)

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, str]:
        """(status, body, content type) of a normal answer."""
        if path.startswith("/t/p/"):
            parts = path.split("/")
            name = parts[-1] if len(parts) == 5 else ""
            if name in self.images:
                return 200, self.images[name], "image/jpeg"
            return 404, b"Not Found", "text/plain"
        if not path.startswith("/3/"):
            return 404, _error(34, "The resource you requested could not be found."), ""
        if query.get("api_key", [None])[0] != self.api_key:
            return 401, _error(7, "Invalid API key: You must be granted a valid key."), ""
        if path == "/3/genre/movie/list":
            return 200, {"genres": GENRES}, ""
        if path == "/3/movie/popular":
            page = int(query.get("page", ["1"])[0])
            ranked = sorted(self.movies.values(), key=lambda m: -m["popularity"])
            chunk = ranked[(page - 1) * 20 : page * 20]
            results = [
                {
                    k: m[k]
                    for k in (
                        "id",
                        "title",
                        "original_title",
                        "overview",
                        "release_date",
                        "original_language",
                        "popularity",
                        "vote_average",
                        "vote_count",
                        "poster_path",
                    )
                }
                | {"genre_ids": [g["id"] for g in m["genres"]]}
                for m in chunk
            ]
            total = max(1, (len(ranked) + 19) // 20)
            return (
                200,
                {
                    "page": page,
                    "results": results,
                    "total_pages": total,
                    "total_results": len(ranked),
                },
                "",
            )
        if path == "/3/search/movie":
            text = query.get("query", [""])[0].lower()
            year = query.get("year", [None])[0]
            results = [
                {"id": m["id"], "title": m["title"], "release_date": m["release_date"]}
                for m in self.movies.values()
                if text
                and text in m["title"].lower()
                and (year is None or m["release_date"].startswith(year))
            ]
            return 200, {"page": 1, "results": results, "total_results": len(results)}, ""
        if path.startswith("/3/movie/"):
            tail = path[len("/3/movie/") :]
            if tail.isdigit() and int(tail) in self.movies:
                return 200, self.movies[int(tail)], ""
        return 404, _error(34, "The resource you requested could not be found."), ""


def _error(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "status_code": code, "status_message": message}


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeTMDB
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # silent: URLs hold the key
        pass

    def do_GET(self) -> None:
        fake = self.server_state
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        index = fake.arrive(path)
        fault = fake.next_fault(path)
        is_image = path.startswith("/t/p/")
        pause = fake.image_delay if is_image else fake.delay
        if pause:
            time.sleep(pause)
        if fault is not None and fault.kind == "status":
            fake.record(index, fault.status)
            body = _error(25 if fault.status == 429 else 11, f"fault {fault.status}")
            self._send(fault.status, body, "", fault.headers)
            return
        if fault is not None and fault.kind == "sleep":
            time.sleep(fault.seconds)
        status, body, ctype = fake.route(path, query)
        fake.record(index, status)
        if fault is not None and fault.kind in ("cut", "corrupt") and status == 200:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            half = data[: len(data) // 2]
            if fault.kind == "corrupt":
                self._send(status, half, ctype)
                return
            self.close_connection = True
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                return
            self._write(half)
            return
        self._send(status, body, ctype)

    def _send(
        self, status: int, body: Any, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype or "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            return
        self._write(data)

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout fault)
