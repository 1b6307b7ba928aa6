"""Xero's date formats: MS-JSON ``/Date(1539993600000+0000)/`` on the wire, ISO in ``*String``.

Inbound dates may be ``YYYY-MM-DD``, an ISO date-time or MS-JSON; ``If-Modified-Since`` may be
ISO 8601 (what the SDKs send) or an HTTP date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime

from sandbox.clock import utc_text

_MS = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ms_date(day: date) -> str:
    """A calendar date as MS-JSON at midnight UTC: ``/Date(1539993600000+0000)/``."""
    return f"/Date({_millis(datetime.combine(day, time(), tzinfo=UTC))}+0000)/"


def ms_datetime(moment: datetime) -> str:
    """A timestamp as MS-JSON with offset (record fields like ``UpdatedDateUTC``)."""
    return f"/Date({_millis(moment)}+0000)/"


def ms_envelope(moment: datetime) -> str:
    """The envelope's ``DateTimeUTC``: MS-JSON without offset, ``/Date(1552326816230)/``."""
    return f"/Date({_millis(moment)})/"


def date_string(day: date) -> str:
    """``DateString`` / ``DueDateString``: ``2018-10-20T00:00:00``."""
    return f"{day.isoformat()}T00:00:00"


def utc_string(moment: datetime) -> str:
    """``UpdatedDateUTCString``: ``2019-11-14T18:10:38Z``."""
    return utc_text(moment)


def parse_date(value: object) -> date:
    """An inbound ``Date``/``DueDate``; raises ``ValueError`` when unreadable."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    match = _MS.fullmatch(value)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    return datetime.fromisoformat(value[:19] if "T" in value else value).date()


def parse_since(header: str) -> datetime:
    """``If-Modified-Since`` as an aware UTC datetime (naive ISO values are UTC)."""
    text = header.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ValueError(f"If-Modified-Since is not a date: {header!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
