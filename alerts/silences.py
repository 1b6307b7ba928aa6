"""Silences: a person's decision to hear nothing, for a while, about the alerts some label
matchers select. Silences stop notifications, not evaluation: a silenced alert still fires and
still shows on the Alerts page.

Silences change who hears about money at risk, so adding and expiring one needs the operator
role (``sync.access``) and is written to the audit log with who and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.matchers import Matcher, MatcherError, parse_matchers
from sync.access import Action, Identity, require
from sync.store import SilenceRow, alerting, audit


class SilenceError(ValueError):
    """A silence that cannot be made or expired as asked; the message says why."""


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    expired_at: datetime | None = None
    expired_by: str | None = None

    def active(self, at: datetime) -> bool:
        return self.expired_at is None and self.starts_at <= at < self.ends_at

    def silences(self, labels: Mapping[str, str], at: datetime) -> bool:
        return self.active(at) and all(m.matches(labels) for m in self.matchers)

    @classmethod
    def of(cls, row: SilenceRow) -> Silence:
        return cls(
            id=row.id,
            matchers=parse_matchers([str(m) for m in row.matchers]),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            created_by=row.created_by,
            comment=row.comment,
            created_at=row.created_at,
            expired_at=row.expired_at,
            expired_by=row.expired_by,
        )


def silence_add(
    session: Session,
    identity: Identity,
    matchers: Sequence[str | Matcher],
    *,
    ends_at: datetime,
    comment: str,
    now: datetime,
    starts_at: datetime | None = None,
) -> Silence:
    """A new silence from ``starts_at`` (now when not given) to ``ends_at``, by ``identity``,
    for the reason ``comment``; refused (:class:`SilenceError`) without a reason, without a
    matcher, ending before it starts, or matching every alert."""
    try:
        parsed = parse_matchers(matchers)
    except MatcherError as exc:
        raise SilenceError(str(exc)) from None
    starts = starts_at or now
    _check(parsed, starts, ends_at, comment, now)
    target = ", ".join(str(m) for m in parsed)
    require(session, identity, Action.SILENCE, f"silence {target}")
    row = alerting.add_silence(
        session,
        id=uuid.uuid4().hex,
        matchers=[str(m) for m in parsed],
        starts_at=starts,
        ends_at=ends_at,
        created_at=now,
        created_by=identity.subject,
        comment=comment.strip(),
    )
    audit(
        session,
        identity.subject,
        "alerts.silence.add",
        f"silence:{row.id}",
        matchers=row.matchers,
        starts_at=starts.isoformat(),
        ends_at=ends_at.isoformat(),
        comment=row.comment,
        via=identity.via,
    )
    return Silence.of(row)


def _check(
    matchers: Sequence[Matcher], starts: datetime, ends: datetime, comment: str, now: datetime
) -> None:
    if not matchers:
        raise SilenceError("a silence needs at least one matcher")
    if all(m.matches({}) for m in matchers):
        raise SilenceError("these matchers select every alert; name a label value to silence")
    if ends <= starts or ends <= now:
        raise SilenceError(f"a silence must end after it starts and in the future (ends {ends})")
    if not comment.strip():
        raise SilenceError("say why: a silence needs a comment")


def silence_list(
    session: Session, now: datetime, *, include_expired: bool = False
) -> list[Silence]:
    """The silences in force or still to come at ``now`` (every one with ``include_expired``)."""
    rows = alerting.silences(session, at=None if include_expired else now)
    return [Silence.of(r) for r in rows]


def silence_expire(
    session: Session, identity: Identity, silence_id: str, *, now: datetime, comment: str = ""
) -> Silence:
    """End a silence now; :class:`SilenceError` when there is no such silence or it is over."""
    row = alerting.silence(session, silence_id)
    if row is None:
        raise SilenceError(f"no silence {silence_id!r}")
    if row.expired_at is not None or row.ends_at <= now:
        raise SilenceError(f"silence {silence_id} is already over")
    require(session, identity, Action.SILENCE, f"silence:{silence_id}")
    row.expired_at, row.expired_by = now, identity.subject
    audit(
        session,
        identity.subject,
        "alerts.silence.expire",
        f"silence:{silence_id}",
        matchers=row.matchers,
        comment=comment,
        via=identity.via,
    )
    return Silence.of(row)


def active_silences(session: Session, now: datetime) -> list[Silence]:
    return [Silence.of(r) for r in alerting.silences(session, at=now, active_only=True)]
