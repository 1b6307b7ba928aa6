"""The pipeline over the store (SQLite and PostgreSQL): for, dedup, grouping and its timers,
repeat, resolve, and a restart in the middle of a group wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.model import AlertStatus, ChannelKind, Evaluation
from alerts.policy import PipelineConfig, Route
from sync.store import AlertRow, AlertState, DeliveryStatus
from tests.alerts.conftest import T0, Harness, alert, at, evaluation, policy, practices, statuses

RULE = policy()
A, B, C = (alert(practice=p) for p in ("audit", "tax", "advisory"))


def test_a_new_group_waits_group_wait_then_sends_its_alerts_in_one_message(
    harness: Harness,
) -> None:
    first = harness.run(T0, evaluation(RULE, A))
    assert first.fired == [A.fingerprint] and first.logged == []
    harness.run(at(10), evaluation(RULE, A, B))
    assert harness.email.sent == [] and harness.slack.sent == []
    report = harness.run(at(30), evaluation(RULE, A, B))
    assert [practices(n) for n in harness.email.sent] == [["audit", "tax"]]
    assert [practices(n) for n in harness.slack.sent] == [["audit", "tax"]]
    assert {d.outcome for d in report.deliveries} == {DeliveryStatus.SENT}


def test_the_same_alert_seen_again_is_one_alert_and_one_notification(harness: Harness) -> None:
    for seconds in (0, 30, 60, 90, 120):
        harness.run(at(seconds), evaluation(RULE, A, A))  # twice in one evaluation, every pass
    assert len(harness.email.sent) == 1 and len(harness.email.sent[0].alerts) == 1
    assert len(harness.log()) == 2  # one per channel


def test_an_alert_joining_a_notified_group_goes_out_after_group_interval(harness: Harness) -> None:
    harness.run(T0, evaluation(RULE, A))
    harness.run(at(30), evaluation(RULE, A))
    harness.run(at(60), evaluation(RULE, A, C))
    harness.run(at(5 * 60 + 29), evaluation(RULE, A, C))
    assert [practices(n) for n in harness.email.sent] == [["audit"]]
    harness.run(at(5 * 60 + 30), evaluation(RULE, A, C))
    assert [practices(n) for n in harness.email.sent] == [["audit"], ["advisory", "audit"]]


def test_groups_follow_group_by_labels(harness: Harness) -> None:
    by_region = policy(group_by=("region",))
    east, west = alert(practice="audit", region="east"), alert(practice="tax", region="west")
    harness.run(T0, evaluation(by_region, east, west))
    harness.run(at(30), evaluation(by_region, east, west))
    assert sorted(n.group_key for n in harness.email.sent) == [
        'utilization-low{region="east"}',
        'utilization-low{region="west"}',
    ]


def test_a_group_still_firing_is_sent_again_after_repeat_interval(harness: Harness) -> None:
    harness.run(T0, evaluation(RULE, A))
    harness.run(at(30), evaluation(RULE, A))
    for minutes in range(5, 4 * 60, 5):  # a pass every five minutes
        harness.run(at(minutes=minutes), evaluation(RULE, A))
    assert len(harness.email.sent) == 1
    harness.run(at(30, hours=4), evaluation(RULE, A))
    assert len(harness.email.sent) == 2


def test_a_cleared_condition_sends_a_resolved_notice_once(harness: Harness) -> None:
    harness.run(T0, evaluation(RULE, A, B))
    harness.run(at(30), evaluation(RULE, A, B))
    report = harness.run(at(60), evaluation(RULE, B))  # A cleared
    assert report.resolved == [A.fingerprint]
    harness.run(at(5 * 60 + 30), evaluation(RULE, B))
    latest = harness.email.sent[-1]
    assert latest.status is AlertStatus.FIRING and practices(latest) == ["audit", "tax"]
    assert [a.labels["practice"] for a in latest.resolved] == ["audit"]
    harness.run(at(6 * 60), evaluation(RULE))  # B cleared too
    harness.run(at(10 * 60 + 30), evaluation(RULE))
    harness.run(at(20 * 60 + 30), evaluation(RULE))
    assert statuses(harness.email.sent) == ["firing", "firing", "resolved"]
    assert [a.labels["practice"] for a in harness.email.sent[-1].resolved] == ["tax"]


def test_without_send_resolved_the_channel_hears_no_resolved_notice(harness: Harness) -> None:
    harness.config = PipelineConfig(
        **{**harness.config.__dict__, "routes": (Route((ChannelKind.EMAIL,), send_resolved=False),)}
    )
    harness.run(T0, evaluation(RULE, A))
    harness.run(at(30), evaluation(RULE, A))
    harness.run(at(60), evaluation(RULE))
    harness.run(at(6 * 60), evaluation(RULE))
    assert statuses(harness.email.sent) == ["firing"] and harness.slack.sent == []
    harness.run(at(7 * 60), evaluation(RULE, A))  # fires again: a new notification after the wait
    harness.run(at(7 * 60 + 30), evaluation(RULE, A))
    assert statuses(harness.email.sent) == ["firing", "firing"]


def test_an_alert_fires_only_once_held_for_its_rules_for(harness: Harness) -> None:
    held = policy(hold_for=timedelta(minutes=5))
    assert harness.run(T0, evaluation(held, A)).pending == [A.fingerprint]
    harness.run(at(minutes=4), evaluation(held, A))
    assert harness.run(at(minutes=5), evaluation(held, A)).fired == [A.fingerprint]
    harness.run(at(minutes=5, seconds=30), evaluation(held, A))
    assert len(harness.email.sent) == 1


def test_a_pending_alert_that_clears_is_forgotten_unheard(harness: Harness) -> None:
    held = policy(hold_for=timedelta(minutes=5))
    harness.run(T0, evaluation(held, A))
    report = harness.run(at(minutes=1), evaluation(held))
    assert report.resolved == [] and report.fired == []
    for minutes in (2, 10, 20):
        harness.run(at(minutes=minutes), evaluation(held))
    assert harness.log() == [] and _states(harness) == {}


def test_a_rule_that_could_not_be_evaluated_keeps_its_alerts_firing(harness: Harness) -> None:
    harness.run(T0, evaluation(RULE, A))
    harness.run(at(30), evaluation(RULE, A))
    failed = Evaluation(RULE, at(60), (), error="utilization: no capacity data")
    report = harness.run(at(60), failed)
    assert report.resolved == [] and report.kept == ["utilization-low"]
    assert _states(harness) == {A.fingerprint: AlertState.FIRING}


def test_a_restart_in_the_middle_of_a_group_wait_sends_each_notification_once(
    harness: Harness,
) -> None:
    harness.run(T0, evaluation(RULE, A))
    harness.store.dispose()  # the process ends: nothing but the store remains
    restarted = Harness(harness.store)
    restarted.run(at(20), evaluation(RULE, A, B))
    restarted.run(at(30), evaluation(RULE, A, B))
    restarted.run(at(40), evaluation(RULE, A, B))
    assert [practices(n) for n in restarted.email.sent] == [["audit", "tax"]]
    assert len(restarted.slack.sent) == 1 and harness.email.sent == []


def test_a_pass_stopped_between_deciding_and_sending_sends_on_the_next_pass_once(
    harness: Harness,
) -> None:
    harness.run(T0, evaluation(RULE, A))
    harness.email.failures.append(SystemExit(1))  # the process is stopped mid-send
    with pytest.raises(SystemExit):
        harness.run(at(30), evaluation(RULE, A))
    restarted = Harness(harness.store)
    restarted.run(at(40), evaluation(RULE, A))
    restarted.run(at(50), evaluation(RULE, A))
    assert len(restarted.email.sent) == 1 and len(harness.slack.sent + restarted.slack.sent) == 1
    assert [r.delivery for r in restarted.log()] == [DeliveryStatus.SENT] * 2


def _states(harness: Harness) -> dict[str, AlertState]:
    with Session(harness.store) as session:
        return {r.fingerprint: r.state for r in session.scalars(select(AlertRow))}


def test_a_full_pass_resolves_the_alerts_of_a_rule_no_longer_in_force(harness: Harness) -> None:
    other = policy("dso-high", hold_for=timedelta(minutes=10))
    late = alert("dso-high", currency="USD")
    harness.run(T0, evaluation(RULE, A), evaluation(other, late))
    harness.run(at(30), evaluation(RULE, A), evaluation(other, late))
    assert practices(harness.email.sent[-1]) == ["audit"]
    # the configuration drops utilization-low: a full pass names only the rules in force
    report = harness.run(at(60), evaluation(other, late), in_force=["dso-high"])
    assert report.resolved == [A.fingerprint]
    with Session(harness.store) as session:
        states = {r.rule: r.state for r in session.scalars(select(AlertRow))}
    assert states == {"utilization-low": AlertState.RESOLVED, "dso-high": AlertState.PENDING}
    harness.run(at(5 * 60 + 30), evaluation(other, late), in_force=["dso-high"])
    resolved = harness.email.sent[-1]
    assert resolved.status is AlertStatus.RESOLVED and practices(resolved) == ["audit"]


def test_a_partial_pass_leaves_the_alerts_of_rules_it_did_not_evaluate(harness: Harness) -> None:
    harness.run(T0, evaluation(RULE, A))
    report = harness.run(at(60))  # nothing evaluated, no rules named: nothing changes
    assert report.resolved == []
    with Session(harness.store) as session:
        assert [r.state for r in session.scalars(select(AlertRow))] == [AlertState.FIRING]


def test_a_full_pass_forgets_the_pending_alerts_of_a_rule_no_longer_in_force(
    harness: Harness,
) -> None:
    harness.run(T0, evaluation(policy(hold_for=timedelta(minutes=10)), A))
    report = harness.run(at(90), in_force=[])
    assert report.resolved == [] and report.fired == []
    with Session(harness.store) as session:
        assert list(session.scalars(select(AlertRow))) == []
    assert harness.email.sent == []
