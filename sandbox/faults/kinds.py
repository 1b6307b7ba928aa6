"""The fault kinds the sandbox can inject, and when in a call each one strikes.

Every call gets at most one fault from each of two groups, drawn independently:

- ``BEFORE_APP``: decided before the emulator sees the request (a throttle, a 5xx, a hang, a
  reset, or a slow start that still lets the call through);
- ``AFTER_APP``: applied to what the emulator answered (a reply body cut short or malformed, a
  page that repeats or skips a record, drifted records on reads; a lost reply on writes).

``OUTAGE`` is not drawn: it comes from a plan's outage window.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class FaultKind(StrEnum):
    """One injectable misbehaviour; the value is the name scenarios and records use."""

    RATE_LIMIT = "rate_limit"  # 429, Retry-After in seconds
    RATE_LIMIT_DATE = "rate_limit_date"  # 429, Retry-After as an HTTP-date
    SERVER_ERROR = "server_error"  # 500
    BAD_GATEWAY = "bad_gateway"  # 502
    UNAVAILABLE = "unavailable"  # 503 without Retry-After
    THROTTLE_503 = "throttle_503"  # 503 with Retry-After (BambooHR's throttle)
    DAILY_LIMIT = "daily_limit"  # 403 REQUEST_LIMIT_EXCEEDED (Salesforce)
    SLOW = "slow"  # answered, after a delay
    HANG = "hang"  # no answer until the client times out
    RESET = "reset"  # connection dropped before the request reached the app
    CUT_BODY = "cut_body"  # headers promise the whole body, half arrives, connection drops
    INVALID_JSON = "invalid_json"  # a complete reply whose JSON is truncated
    REPEAT_RECORD = "repeat_record"  # the page repeats the previous page's last record
    SKIP_RECORD = "skip_record"  # the page leaves one record out
    DRIFT_RENAME = "drift_rename"  # one field of every record is renamed
    DRIFT_ENUM = "drift_enum"  # one enum-like field of every record takes a new value
    DRIFT_NULL = "drift_null"  # one field of every record becomes null
    LOST_WRITE = "lost_write"  # the write is applied, then its reply is lost
    OUTAGE = "outage"  # the vendor is down for a window of (simulated) time


BEFORE_APP: frozenset[FaultKind] = frozenset(
    {
        FaultKind.RATE_LIMIT,
        FaultKind.RATE_LIMIT_DATE,
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.UNAVAILABLE,
        FaultKind.THROTTLE_503,
        FaultKind.DAILY_LIMIT,
        FaultKind.SLOW,
        FaultKind.HANG,
        FaultKind.RESET,
    }
)
ON_READS: frozenset[FaultKind] = frozenset(
    {
        FaultKind.CUT_BODY,
        FaultKind.INVALID_JSON,
        FaultKind.REPEAT_RECORD,
        FaultKind.SKIP_RECORD,
        FaultKind.DRIFT_RENAME,
        FaultKind.DRIFT_ENUM,
        FaultKind.DRIFT_NULL,
    }
)
ON_WRITES: frozenset[FaultKind] = frozenset({FaultKind.LOST_WRITE})
AFTER_APP: frozenset[FaultKind] = ON_READS | ON_WRITES
DRIFT: frozenset[FaultKind] = frozenset(
    {FaultKind.DRIFT_RENAME, FaultKind.DRIFT_ENUM, FaultKind.DRIFT_NULL}
)
# Kinds a client experiences as a failed call (slow calls and drifted records still succeed).
FAILING: frozenset[FaultKind] = (BEFORE_APP - {FaultKind.SLOW}) | {
    FaultKind.CUT_BODY,
    FaultKind.INVALID_JSON,
    FaultKind.LOST_WRITE,
    FaultKind.OUTAGE,
}
READ_METHODS: frozenset[str] = frozenset({"GET"})
WRITE_METHODS: frozenset[str] = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Injection(NamedTuple):
    """One fault that was injected: compare with plain ``(method, path, kind)`` tuples."""

    method: str
    path: str
    kind: FaultKind
