"""A polite, key-safe TMDB client built on tmdbsimple.

tmdbsimple makes the API calls (``Movies(id).info()``, ``Movies().popular(page=)``,
``Genres().movie_list()``, ``Search().movie(query=)``); this module adds what a long
crawl needs around them:

- a :class:`~recsys.metadata.ratelimit.RateLimiter` shared by every request;
- retries with exponential backoff on timeouts, connection errors, 429 (honouring
  ``Retry-After``) and 5xx; an immediate :class:`TMDBAuthError` on 401 and a
  :class:`TMDBNotFound` on 404, neither retried;
- another endpoint (``api_base``/``image_base``: a proxy, a mirror, a test server);
- the API key scrubbed from every error message. tmdbsimple sends it as the
  ``api_key`` query parameter, and requests quotes request URLs in its errors, so the
  original exceptions are never re-raised or chained: only a scrubbed message leaves
  this module.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import tmdbsimple

from recsys.errors import DataError, InvalidParameterError, RecsysError
from recsys.metadata.genres import merge_genre_list
from recsys.metadata.ratelimit import RateLimiter, RetryPolicy, parse_retry_after
from recsys.metadata.redact import install_log_filter, remove_log_filter, scrub

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_API_BASE",
    "DEFAULT_IMAGE_BASE",
    "POSTER_SIZES",
    "MissingAPIKeyError",
    "TMDBAuthError",
    "TMDBClient",
    "TMDBError",
    "TMDBNotFound",
    "TMDBRequestFailed",
    "read_api_key",
]

#: The environment variable holding the TMDB API key (v3 "API Key").
API_KEY_ENV = "TMDB_API_KEY"
#: TMDB's API root, including the version (what tmdbsimple builds its URLs on).
DEFAULT_API_BASE = "https://api.themoviedb.org/3"
#: TMDB's image root: an image is ``{image_base}/{size}{poster_path}``.
DEFAULT_IMAGE_BASE = "https://image.tmdb.org/t/p"
#: Poster sizes TMDB serves (``/configuration`` ``images.poster_sizes``).
POSTER_SIZES = ("w92", "w154", "w185", "w342", "w500", "w780", "original")

T = TypeVar("T")
_TMDB_GLOBALS = threading.Lock()


class TMDBError(RecsysError):
    """A TMDB request failed. The message never contains the API key.

    Attributes
    ----------
    status : the HTTP status code, or ``None`` for a network failure.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TMDBAuthError(TMDBError):
    """TMDB rejected the API key (HTTP 401). Fatal: nothing else will work."""


class TMDBNotFound(TMDBError):
    """TMDB has no such resource (HTTP 404). Not worth retrying."""


class TMDBRequestFailed(TMDBError):
    """A request still failed after its retries, or failed in a way retrying cannot fix."""


class MissingAPIKeyError(RecsysError):
    """No TMDB API key was given."""


def read_api_key(
    key_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The TMDB API key from ``key_file`` (first non-empty line) or ``$TMDB_API_KEY``.

    Raises
    ------
    MissingAPIKeyError
        If neither gives a key.
    DataError
        If ``key_file`` cannot be read or is empty.

    Examples
    --------
    >>> read_api_key(environ={"TMDB_API_KEY": " abc123 "})
    'abc123'
    """
    if key_file is not None:
        path = Path(key_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise DataError(
                f"cannot read the API key file {str(path)!r} "
                f"({type(error).__name__}); give a readable text file holding "
                "the key on its first line."
            ) from None
        for line in text.splitlines():
            if line.strip():
                return line.strip()
        raise DataError(
            f"the API key file {str(path)!r} is empty; put the TMDB API key on its first line."
        )
    env = os.environ if environ is None else environ
    key = env.get(API_KEY_ENV, "").strip()
    if not key:
        raise MissingAPIKeyError(
            f"no TMDB API key: set {API_KEY_ENV} or give key_file, a file holding the key "
            "(get a free key at https://www.themoviedb.org/settings/api).",
            parameter="key_file",
        )
    return key


def _check_base(url: str, parameter: str, example: str) -> str:
    """``url`` without its trailing ``/``, once it is a usable http(s) base URL.

    Raises
    ------
    InvalidParameterError
        If it is not one: another scheme, a query or fragment, no host, a host that is
        not a valid name or address (a space, an unclosed ``[``), or a port outside
        1..65535. These are mistakes in the value, never an outage to retry.

    Examples
    --------
    >>> _check_base("http://[::1]:8080/3/", "api_base", "x")
    'http://[::1]:8080/3'
    >>> _check_base("http://example.org:99999/3", "api_base", "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.errors.InvalidParameterError: api_base must be an http(s) URL ... port 99999, ...
    """
    text = str(url)

    def bad(why: str | None = None) -> InvalidParameterError:
        return InvalidParameterError(
            parameter,
            f"{parameter} must be an http(s) URL without a query, like {example}; "
            f"received {text!r}" + (f", which {why}." if why else "."),
        )

    try:
        parts = urlsplit(text)
        port = parts.port  # parses the port: ValueError when out of range or not a number
        host = parts.hostname
    except ValueError as error:
        if "out of range" in str(error):
            number = text.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[-1]
            raise bad(f"has port {number}, outside 1..65535") from None
        raise bad(f"is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise bad()
    if not host or not _valid_host(host):
        raise bad(f"has an invalid host {host or ''!r}")
    if port is not None and not 1 <= port <= 65535:
        raise bad(f"has port {port}, outside 1..65535")
    if any(c.isspace() for c in text):
        raise bad("contains white space")
    return text.rstrip("/")


def _valid_host(host: str) -> bool:
    """Whether ``host`` is an IP address or a DNS name (IDNA labels allowed)."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(
        re.fullmatch(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", label) for label in labels
    )


@dataclass
class _Failure:
    message: str
    retryable: bool
    status: int | None = None
    retry_after: float | None = None
    kind: type[TMDBError] = TMDBRequestFailed


class TMDBClient:
    """Call TMDB through tmdbsimple with rate limiting, retries and key scrubbing.

    Parameters
    ----------
    api_key : the TMDB v3 API key (see :func:`read_api_key`).
    api_base : API root including the version; default TMDB's.
    image_base : image root; default TMDB's.
    rate : requests per second (all requests, API and images).
    retry : retry policy; default 5 retries, backoff 1 s doubling up to 60 s.
    timeout : seconds to wait for a connection and for each read.
    session : a ``requests.Session`` to use (one is created otherwise).
    sleep : sleep function used between retries and by the rate limiter.

    Raises
    ------
    DataError
        On an empty key, a bad base URL or a bad rate/timeout.

    Examples
    --------
    >>> with TMDBClient("my-key", rate=20) as tmdb:  # doctest: +SKIP
    ...     tmdb.movie(862)["title"]
    'Toy Story'
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        image_base: str = DEFAULT_IMAGE_BASE,
        rate: float = 20.0,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key or not str(api_key).strip():
            raise MissingAPIKeyError(
                f"no TMDB API key: api_key is empty; read one with read_api_key (from "
                f"${API_KEY_ENV} or a key file).",
                parameter="api_key",
            )
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise DataError(f"timeout must be a positive number of seconds; received {timeout!r}.")
        self._key = str(api_key).strip()
        self.api_base = _check_base(api_base, "api_base", DEFAULT_API_BASE)
        self.image_base = _check_base(image_base, "image_base", DEFAULT_IMAGE_BASE)
        self.retry = retry or RetryPolicy()
        self.timeout = (min(10.0, float(timeout)), float(timeout))
        self.limiter = RateLimiter(rate, sleep=sleep)
        self._sleep = sleep
        self._own_session = session is None
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "recsys-metadata (tmdbsimple)")
        self.requests_made = 0
        self._log_filter = install_log_filter([self._key])

    def __repr__(self) -> str:  # never show the key
        return f"TMDBClient(api_base={self.api_base!r}, rate={self.limiter.rate})"

    def __enter__(self) -> TMDBClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (if this client made it) and the log filter."""
        if self._own_session:
            self.session.close()
        remove_log_filter(self._log_filter)

    def scrub(self, text: object) -> str:
        """``text`` with this client's key removed."""
        return scrub(text, [self._key])

    # -- API calls -----------------------------------------------------------------
    def movie(self, tmdb_id: int, **params: Any) -> dict[str, Any]:
        """Details of one movie (``GET /movie/{id}``).

        Raises
        ------
        TMDBNotFound
            If TMDB has no movie with this id.
        TMDBAuthError
            If the key is rejected.
        TMDBRequestFailed
            If the request failed after its retries.
        """
        tmdb_id = int(tmdb_id)
        return self._api(
            f"GET /movie/{tmdb_id}", lambda: tmdbsimple.Movies(tmdb_id), "info", params
        )

    def popular(self, page: int = 1) -> dict[str, Any]:
        """One page (1..500) of popular movies (``GET /movie/popular``)."""
        return self._api(
            f"GET /movie/popular page {int(page)}",
            tmdbsimple.Movies,
            "popular",
            {"page": int(page)},
        )

    def genre_list(self) -> dict[int, str]:
        """Genre id -> name (``GET /genre/movie/list``), with 10769 "Foreign" added."""
        return merge_genre_list(
            self._api("GET /genre/movie/list", tmdbsimple.Genres, "movie_list", {})
        )

    def search_movie(self, query: str, year: int | None = None) -> list[dict[str, Any]]:
        """Movies matching a title (``GET /search/movie``), best match first."""
        params: dict[str, Any] = {"query": str(query)}
        if year is not None:
            params["year"] = int(year)
        result = self._api("GET /search/movie", tmdbsimple.Search, "movie", params)
        return list(result.get("results") or [])

    def image(self, file_path: str, size: str = "w185") -> bytes:
        """The bytes of an image such as a poster (``{image_base}/{size}{file_path}``).

        Raises
        ------
        DataError
            If ``size`` or ``file_path`` is not a TMDB image size / file path.
        TMDBNotFound, TMDBRequestFailed
            As for API calls.
        """
        if size not in POSTER_SIZES:
            raise DataError(f"unknown poster size {size!r}; use one of {', '.join(POSTER_SIZES)}.")
        name = str(file_path).lstrip("/")
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise DataError(f"not a TMDB image path: {file_path!r}; expected e.g. '/abc.jpg'.")
        url = f"{self.image_base}/{size}/{name}"

        def get() -> bytes:
            response = self.session.get(url, timeout=self.timeout)
            response.raise_for_status()
            return response.content

        try:
            return self._retrying(f"GET image {size}/{name}", get)
        except TMDBAuthError as error:  # images need no key: not a reason to stop everything
            status = error.status
        raise TMDBRequestFailed(
            f"TMDB GET image {size}/{name} failed: HTTP {status} (the "
            "image server refused the request)",
            status,
        )

    # -- machinery -----------------------------------------------------------------
    def _api(
        self, what: str, factory: Callable[[], Any], method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            with self._tmdbsimple_key():
                endpoint = factory()
                endpoint.base_uri = self.api_base
                endpoint.session = self.session
                endpoint.timeout = self.timeout
                result = getattr(endpoint, method)(**dict(params))
            if not isinstance(result, dict):
                raise ValueError(f"expected a JSON object, received {type(result).__name__}")
            return result

        return self._retrying(what, call)

    @contextlib.contextmanager
    def _tmdbsimple_key(self) -> Iterator[None]:
        # tmdbsimple reads its module-level API_KEY when it builds the query; set it only
        # for the duration of our call and put back what was there.
        with _TMDB_GLOBALS:
            previous = tmdbsimple.API_KEY
            tmdbsimple.API_KEY = self._key
            try:
                yield
            finally:
                tmdbsimple.API_KEY = previous

    def _retrying(self, what: str, fn: Callable[[], T]) -> T:
        attempt = 0
        while True:
            self.limiter.acquire()
            self.requests_made += 1
            failure = self._attempt(what, fn)
            if not isinstance(failure, _Failure):
                return failure
            # Raised outside any ``except`` block, so no exception (and no URL with the
            # key in it) is chained to the error.
            if not failure.retryable or attempt >= self.retry.retries:
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise failure.kind(f"TMDB {what} failed{tries}: {failure.message}", failure.status)
            self._sleep(self.retry.delay(attempt, failure.retry_after))
            attempt += 1

    def _attempt(self, what: str, fn: Callable[[], T]) -> T | _Failure:
        try:
            return fn()
        except requests.HTTPError as error:
            return self._http_failure(error.response)
        except requests.Timeout:
            return _Failure(f"timed out (no answer within {self.timeout[1]:g} s)", True)
        except requests.exceptions.ChunkedEncodingError as error:
            return _Failure(f"the response was cut short ({self.scrub(error)})", True)
        except requests.ConnectionError as error:
            return _Failure(f"connection failed ({self.scrub(error)})", True)
        except (requests.RequestException, ValueError) as error:
            # Includes a JSON body that does not parse (a proxy's HTML error page).
            return _Failure(f"{type(error).__name__}: {self.scrub(error)}", True)
        except tmdbsimple.APIKeyError:
            return _Failure("tmdbsimple has no API key", False, kind=TMDBAuthError)

    def _http_failure(self, response: requests.Response | None) -> _Failure:
        if response is None:
            return _Failure("HTTP error without a response", True)
        status = response.status_code
        detail = self._status_message(response)
        text = f"HTTP {status} {response.reason or ''}".strip() + (f" ({detail})" if detail else "")
        if status == 401:
            return _Failure(
                f"{text}. TMDB refused the API key: check ${API_KEY_ENV} or the "
                "key file it was read from",
                False,
                status,
                kind=TMDBAuthError,
            )
        if status == 404:
            return _Failure(text, False, status, kind=TMDBNotFound)
        if status in (408, 425, 429) or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return _Failure(text, True, status, retry_after)
        return _Failure(text, False, status)

    def _status_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        message = body.get("status_message") if isinstance(body, dict) else None
        return self.scrub(message)[:200] if message else ""
