"""Inhibitions, silences and mute timings over the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.model import ChannelKind, Severity
from alerts.policy import MuteTiming, PipelineConfig, Route
from alerts.silences import SilenceError, silence_add, silence_expire, silence_list
from sync.access import Forbidden, Identity, Role
from sync.store import AuditRow
from tests.alerts.conftest import T0, Harness, alert, at, evaluation, policy, practices

OPERATOR = Identity("ana@firm.com", Role.OPERATOR, "oidc")
VIEWER = Identity("vic@firm.com", Role.VIEWER, "oidc")

VENDOR = policy("vendor-down", Severity.PAGE, group_by=("vendor",))
STALE = policy("flow-stale", Severity.PAGE, group_by=("flow",))
XERO_DOWN = alert("vendor-down", Severity.PAGE, kind="vendor", vendor="xero")
OUTBOX_STALE = alert("flow-stale", Severity.PAGE, kind="staleness", flow="outbox")
ROLLUPS_STALE = alert("flow-stale", Severity.PAGE, kind="staleness", flow="rollups")


def _with(harness: Harness, **overrides: object) -> None:
    harness.config = PipelineConfig(**(harness.config.__dict__ | overrides))


def test_a_vendor_down_mutes_the_staleness_of_the_flows_that_call_it(harness: Harness) -> None:
    evaluations = (evaluation(VENDOR, XERO_DOWN), evaluation(STALE, OUTBOX_STALE, ROLLUPS_STALE))
    harness.run(T0, *evaluations)
    report = harness.run(at(30), *evaluations)
    assert report.inhibited == [OUTBOX_STALE.fingerprint]
    heard = sorted(
        a.labels.get("flow") or a.labels["vendor"] for n in harness.email.sent for a in n.alerts
    )
    assert heard == ["rollups", "xero"]
    harness.run(at(60), evaluation(VENDOR), evaluation(STALE, OUTBOX_STALE, ROLLUPS_STALE))
    harness.run(at(5 * 60 + 30), evaluation(VENDOR), evaluation(STALE, OUTBOX_STALE, ROLLUPS_STALE))
    outbox = [n for n in harness.email.sent if n.group_labels == {"flow": "outbox"}]
    assert len(outbox) == 1  # once xero is back up, the stale outbox is heard of


def test_a_silence_keeps_its_alerts_quiet_until_it_is_expired(harness: Harness) -> None:
    rule = policy()
    audit, tax = alert(practice="audit"), alert(practice="tax")
    with Session(harness.store) as session, session.begin():
        made = silence_add(
            session,
            OPERATOR,
            ['practice=~"au.*"'],
            ends_at=at(hours=2),
            comment="restaffing",
            now=T0,
        )
    harness.run(T0, evaluation(rule, audit, tax))
    report = harness.run(at(30), evaluation(rule, audit, tax))
    assert report.silenced == {audit.fingerprint: made.id}
    assert [practices(n) for n in harness.email.sent] == [["tax"]]
    with Session(harness.store) as session, session.begin():
        silence_expire(session, OPERATOR, made.id, now=at(60), comment="done")
        assert silence_list(session, at(60)) == []
    harness.run(at(5 * 60 + 30), evaluation(rule, audit, tax))
    assert [practices(n) for n in harness.email.sent] == [["tax"], ["audit", "tax"]]
    with Session(harness.store) as session:
        actions = session.scalars(select(AuditRow.action).order_by(AuditRow.id)).all()
    assert actions == ["alerts.silence.add", "alerts.silence.expire"]


def test_a_silence_ends_on_its_own(harness: Harness) -> None:
    rule = policy()
    audit = alert(practice="audit")
    with Session(harness.store) as session, session.begin():
        silence_add(session, OPERATOR, ['practice="audit"'], ends_at=at(90), comment="x", now=T0)
    harness.run(T0, evaluation(rule, audit))
    harness.run(at(30), evaluation(rule, audit))
    assert harness.email.sent == []
    harness.run(at(90), evaluation(rule, audit))  # the group wakes, waits group_wait again
    harness.run(at(120), evaluation(rule, audit))
    assert [practices(n) for n in harness.email.sent] == [["audit"]]


def test_only_an_operator_may_silence_and_the_refusal_is_audited(harness: Harness) -> None:
    with Session(harness.store) as session, session.begin(), pytest.raises(Forbidden):
        silence_add(session, VIEWER, ['practice="audit"'], ends_at=at(60), comment="x", now=T0)
    with Session(harness.store) as session:
        assert session.scalars(select(AuditRow.action)).all() == ["refused.silence"]
        assert silence_list(session, T0, include_expired=True) == []


@pytest.mark.parametrize(
    ("matchers", "ends", "comment", "says"),
    [
        ([], at(60), "x", "at least one matcher"),
        (['practice=~".*"'], at(60), "x", "every alert"),
        (['practice="audit"'], T0, "x", "must end"),
        (['practice="audit"'], at(60), "  ", "comment"),
        (["practice"], at(60), "x", "not a matcher"),
    ],
)
def test_a_silence_that_cannot_work_is_refused_with_the_reason(
    harness: Harness, matchers: list[str], ends: datetime, comment: str, says: str
) -> None:
    with Session(harness.store) as session, pytest.raises(SilenceError, match=says):
        silence_add(session, OPERATOR, matchers, ends_at=ends, comment=comment, now=T0)


BUSINESS_HOURS = MuteTiming(
    "business-hours",
    severities=frozenset({Severity.TICKET, Severity.INFO}),
    start=time(9),
    end=time(17),
)


def test_a_muted_ticket_is_held_over_the_weekend_and_sent_when_business_hours_begin(
    harness: Harness,
) -> None:
    _with(
        harness,
        mute_timings=(BUSINESS_HOURS,),
        timezone=ZoneInfo("Europe/Paris"),
    )
    ticket, page = policy("wip-aged", Severity.TICKET), policy("slo-burn", Severity.PAGE)
    saturday = datetime(2026, 12, 5, 12, tzinfo=UTC)
    evaluations = (
        evaluation(ticket, alert("wip-aged", Severity.TICKET, practice="audit")),
        evaluation(page, alert("slo-burn", Severity.PAGE, practice="audit")),
    )
    harness.run(saturday, *evaluations)
    report = harness.run(saturday + timedelta(seconds=30), *evaluations)
    assert [n.rule for n in harness.email.sent] == ["slo-burn"]
    assert ("email", "wip-aged{}", "business-hours") in [(str(c), g, m) for c, g, m in report.held]
    monday_0759_utc = datetime(2026, 12, 7, 7, 59, tzinfo=UTC)  # 08:59 in Paris
    harness.run(monday_0759_utc, *evaluations)
    assert _rules(harness) == ["slo-burn", "slo-burn"]  # the page repeats; the ticket waits
    harness.run(datetime(2026, 12, 7, 8, 0, tzinfo=UTC), *evaluations)  # 09:00 in Paris
    assert _rules(harness) == ["slo-burn", "slo-burn", "wip-aged"]


def _rules(harness: Harness) -> list[str]:
    return [n.rule for n in harness.email.sent]


def test_a_muted_alert_that_clears_before_the_mute_ends_is_never_sent(harness: Harness) -> None:
    _with(harness, mute_timings=(BUSINESS_HOURS,))
    info = policy("new-exceptions", Severity.INFO)
    saturday = datetime(2026, 12, 5, 12, tzinfo=UTC)
    found = alert("new-exceptions", Severity.INFO, practice="tax")
    harness.run(saturday, evaluation(info, found))
    harness.run(saturday + timedelta(minutes=1), evaluation(info, found))
    harness.run(saturday + timedelta(hours=2), evaluation(info))
    harness.run(datetime(2026, 12, 7, 9, tzinfo=UTC), evaluation(info))
    harness.run(datetime(2026, 12, 7, 9, 10, tzinfo=UTC), evaluation(info))
    assert harness.email.sent == [] and harness.slack.sent == [] and harness.log() == []


def test_routes_send_each_severity_where_it_belongs(harness: Harness) -> None:
    _with(
        harness,
        routes=(
            Route((ChannelKind.SLACK,), severities=frozenset({Severity.PAGE})),
            Route((ChannelKind.EMAIL,), severities=frozenset({Severity.TICKET})),
        ),
    )
    evaluations = (
        evaluation(
            policy("slo-burn", Severity.PAGE), alert("slo-burn", Severity.PAGE, practice="a")
        ),
        evaluation(policy("wip", Severity.TICKET), alert("wip", Severity.TICKET, practice="a")),
        evaluation(policy("fyi", Severity.INFO), alert("fyi", Severity.INFO, practice="a")),
    )
    harness.run(T0, *evaluations)
    harness.run(at(30), *evaluations)
    assert sorted(n.rule for n in harness.slack.sent) == ["fyi", "slo-burn"]  # info: no route
    assert sorted(n.rule for n in harness.email.sent) == ["fyi", "wip"]
