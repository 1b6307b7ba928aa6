"""Secrets taken out of anything that leaves the process or lands in the store.

One set of rules serves the store (exception payloads and reasons, audit details, run errors),
span attributes and logs:

- **by key name**, at any depth of nested mappings and sequences: a key that names a credential
  (``password``, ``secret``, ``token``, ``api_key``, ``authorization``, ``cookie``,
  ``signature``, ``credential``, ``private_key``, and ``sig`` as a whole name),
  compared case-insensitively with ``-``, ``.`` and spaces read as ``_`` — ``X-Api-Key``,
  ``refresh_token``, ``ClientSecret`` — has its value replaced by ``***`` whatever it holds;
- **by value**, in every string: bearer tokens and HTTP Basic credentials, the user and password
  of a URL (``https://user:pass@host``), and ``name=value`` / ``"name": "value"`` pairs whose name
  is a credential's (a query string, a form body, JSON or a Python repr inside an error text).

``RedactingFilter`` applies the same rules to log records (their rendered message and traceback).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import httpx

MASK = "***"

_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "cookie",
    "signature",
    "credential",
    "private_key",
)
_EXACT = frozenset({"sig"})
_NAME = (
    r"[\w.-]*(?:password|passwd|secret|token|api[-_.]?key|authorization|cookie|signature"
    r"|credential|private[-_.]?key)[\w.-]*|sig"
)
# a string that matches none of these holds nothing the rules below would change
_SUSPECT = re.compile(
    r"(?i)password|passwd|secret|token|api[-_.]?key|authorization|cookie|signature|credential"
    r"|private[-_.]?key|\bsig\b|bearer|basic|@"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")
_BASIC = re.compile(r"(?i)\b(basic)\s+([A-Za-z0-9+/]{4,}={0,2})")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
_URL_PARAM = re.compile(rf"(?i)([?&](?:{_NAME}|key)=)[^&#]*")
# "name": "value" | 'name': 'value' | name="value" | name=value | name: value
_QUOTED_PAIR = re.compile(rf"""(?i)(?<![\w.-])(["']?)({_NAME})\1(\s*[:=]\s*)(["'])(.*?)(?<!\\)\4""")
_PAIR = re.compile(rf"""(?i)(?<![\w.-])({_NAME})(["']?\s*[=:]\s*)(?![\s"'*])([^\s&,;'"}}\])]+)""")


@lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a mapping key names a credential (``X-Api-Key``, ``refresh_token``, ...)."""
    folded = re.sub(r"[-.\s]", "_", name.casefold())
    return folded in _EXACT or any(word in folded for word in _WORDS)


def redact_text(text: str) -> str:
    """``text`` with bearer and basic credentials, URL passwords and secret-named values masked."""
    if not _SUSPECT.search(text):
        return text
    text = _BEARER.sub(rf"\1 {MASK}", text)
    text = _BASIC.sub(_basic, text)
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    text = _QUOTED_PAIR.sub(rf"\1\2\1\3\4{MASK}\4", text)
    return _PAIR.sub(rf"\1\2{MASK}", text)


def _basic(match: re.Match[str]) -> str:
    """Basic credentials are base64 of ``user:password``; any other word after "basic" stays."""
    try:
        decoded = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return f"{match.group(1)} {MASK}" if b":" in decoded else match.group(0)


def redact(value: Any) -> Any:
    """``value`` with secrets masked at any depth: a copy for mappings and sequences (the input is
    never changed), strings through ``redact_text``, everything else as it is."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: MASK if isinstance(k, str) and is_secret_key(k) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    return value


def redact_url(url: httpx.URL | str) -> str:
    """The URL with its user and password removed and secret-named query values masked (a bare
    ``key`` parameter too: in a URL it is usually an API key)."""
    parsed = httpx.URL(str(url))
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    return _URL_PARAM.sub(rf"\1{MASK}", str(parsed))


class RedactingFilter(logging.Filter):
    """A log filter that masks secrets in a record's rendered message and traceback.

    The message is rendered once (``getMessage``) and its arguments dropped, so that a mapping or
    an object whose text holds a credential is masked like a literal string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add a ``RedactingFilter`` to every handler of ``logger`` (the root logger by default),
    once each: records from every logger pass through those handlers."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


__all__ = [
    "MASK",
    "RedactingFilter",
    "install_log_redaction",
    "is_secret_key",
    "redact",
    "redact_text",
    "redact_url",
]
