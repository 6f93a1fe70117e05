"""Keep the TMDB API key out of messages, logs and files.

tmdbsimple sends the key as the ``api_key`` query parameter, so it is part of every
request URL, and requests/urllib3 put URLs into exception messages and debug logs.
:func:`scrub` removes the key (and any ``api_key=...`` value) from a text;
:class:`KeyScrubFilter` does the same for log records of the HTTP libraries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["REDACTED", "KeyScrubFilter", "install_log_filter", "remove_log_filter", "scrub"]

REDACTED = "***"

_API_KEY_PARAM = re.compile(r"(api_key=)[^&\s'\"<>]*", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[^\s'\"]+", re.IGNORECASE)


def scrub(text: object, secrets: Iterable[str] = ()) -> str:
    """``str(text)`` with every secret and every ``api_key=`` value replaced by ``***``.

    Examples
    --------
    >>> scrub("GET /3/movie/1?api_key=abc123&page=2 failed", ["abc123"])
    'GET /3/movie/1?api_key=***&page=2 failed'
    """
    out = str(text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, REDACTED)
    out = _API_KEY_PARAM.sub(r"\1" + REDACTED, out)
    return _BEARER.sub(r"\1" + REDACTED, out)


class KeyScrubFilter(logging.Filter):
    """A logging filter that scrubs secrets from a record's message and arguments."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


#: Loggers that write request URLs (urllib3 logs ``"GET /3/movie/1?api_key=..."``).
_HTTP_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3", "requests")


def install_log_filter(secrets: Iterable[str]) -> KeyScrubFilter:
    """Attach a :class:`KeyScrubFilter` to the HTTP libraries' loggers; return it.

    Detach it again with :func:`remove_log_filter`.
    """
    flt = KeyScrubFilter(secrets)
    for name in _HTTP_LOGGERS:
        logging.getLogger(name).addFilter(flt)
    return flt


def remove_log_filter(flt: KeyScrubFilter) -> None:
    """Detach a filter added by :func:`install_log_filter`."""
    for name in _HTTP_LOGGERS:
        logging.getLogger(name).removeFilter(flt)
