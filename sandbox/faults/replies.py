"""The replies an injected status fault sends, in each vendor's own error shape.

Bodies follow ``shared/vendors/README.md``: Harvest ``{code, message}``, Xero's problem object,
Salesforce's list of ``{message, errorCode}``, Kantata ``{errors: [...]}``, Dynamics 365 OData
``{error: {code, message}}``, Oracle Fusion's ``{title, status, o:errorDetails}``, NetSuite
``o:errorDetails``, BambooHR an empty body
with ``X-BambooHR-Error-Message``. A 502 comes from the load balancer in front, so it is HTML.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

import orjson

from sandbox.faults.kinds import FaultKind

DAILY_LIMIT_BODY = [
    {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
]
BAD_GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)
_STATUS: dict[FaultKind, tuple[int, str]] = {
    FaultKind.RATE_LIMIT: (429, "Too Many Requests"),
    FaultKind.RATE_LIMIT_DATE: (429, "Too Many Requests"),
    FaultKind.SERVER_ERROR: (500, "Internal Server Error"),
    FaultKind.BAD_GATEWAY: (502, "Bad Gateway"),
    FaultKind.UNAVAILABLE: (503, "Service Unavailable"),
    FaultKind.THROTTLE_503: (503, "Service Unavailable"),
    FaultKind.DAILY_LIMIT: (403, "Forbidden"),
    FaultKind.OUTAGE: (503, "Service Unavailable"),
}
_SALESFORCE_CODES = {
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "UNKNOWN_EXCEPTION",
    503: "SERVER_UNAVAILABLE",
}
Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Reply:
    """A complete response to send in place of the app's."""

    status: int
    headers: Headers
    body: bytes


def status_reply(vendor: str, kind: FaultKind, *, retry_after: float, now: datetime) -> Reply:
    """The reply for a status fault; ``retry_after`` is already scaled, in seconds."""
    status, title = _STATUS[kind]
    extra: dict[str, str] = {}
    if kind in (FaultKind.RATE_LIMIT, FaultKind.THROTTLE_503):
        extra["Retry-After"] = str(math.ceil(retry_after))
    elif kind is FaultKind.RATE_LIMIT_DATE:
        extra["Retry-After"] = http_date(now + timedelta(seconds=retry_after))
    if kind is FaultKind.BAD_GATEWAY:
        return _reply(status, BAD_GATEWAY_HTML, "text/html", extra)
    if kind is FaultKind.DAILY_LIMIT:
        return _reply(status, orjson.dumps(DAILY_LIMIT_BODY), "application/json", extra)
    if status == 429 and vendor == "xero":
        extra["X-Rate-Limit-Problem"] = "minute"
    if vendor == "bamboohr":
        extra["X-BambooHR-Error-Message"] = title
        return _reply(status, b"", "application/json", extra)
    shape = _BODIES.get(vendor, _generic)
    return _reply(status, orjson.dumps(shape(status, title)), "application/json", extra)


def http_date(when: datetime) -> str:
    """An IMF-fixdate, rounded up to the next whole second so it is never early."""
    if when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return format_datetime(when, usegmt=True)


def _reply(status: int, body: bytes, media_type: str, extra: dict[str, str]) -> Reply:
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in extra.items()]
    return Reply(status, headers, body)


def _generic(status: int, title: str) -> Any:
    return {"message": title}


def _harvest(status: int, title: str) -> Any:
    return {"code": status, "message": title}


def _xero(status: int, title: str) -> Any:
    detail = "Rate limit exceeded" if status == 429 else title
    return {"Type": None, "Title": title, "Status": status, "Detail": detail, "Extensions": {}}


def _salesforce(status: int, title: str) -> Any:
    return [{"message": title, "errorCode": _SALESFORCE_CODES.get(status, "UNKNOWN_EXCEPTION")}]


def _netsuite(status: int, title: str) -> Any:
    code = "CONCURRENCY_LIMIT_EXCEEDED" if status == 429 else "UNEXPECTED_ERROR"
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html",
        "title": title,
        "status": status,
        "o:errorDetails": [{"detail": title, "o:errorCode": code}],
    }


def _kantata(status: int, title: str) -> Any:
    return {"errors": [{"type": "system", "message": title}]}


def _dynamics365(status: int, title: str) -> Any:
    return {"error": {"code": "", "message": title}}


def _oracle_fusion(status: int, title: str) -> Any:
    return {"title": title, "status": str(status), "o:errorDetails": [{"detail": title}]}


_BODIES: dict[str, Callable[[int, str], Any]] = {
    "harvest": _harvest,
    "xero": _xero,
    "salesforce": _salesforce,
    "kantata": _kantata,
    "dynamics365": _dynamics365,
    "oracle_fusion": _oracle_fusion,
    "netsuite": _netsuite,
}
