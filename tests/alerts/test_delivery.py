"""Delivery: retries with backoff, permanent failures, one channel never holding up another,
no secret in the log, and Slack's one message a second (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from alerts.model import DeliveryError
from alerts.pipeline import PassReport
from sync.store import DeliveryStatus
from tests.alerts.conftest import T0, Harness, alert, at, evaluation, policy, practices

RULE = policy()
A, B = alert(practice="audit"), alert(practice="tax")


def _fire(harness: Harness) -> None:
    harness.run(T0, evaluation(RULE, A, B))
    harness.run(at(30), evaluation(RULE, A, B))


def test_a_failing_channel_is_retried_with_backoff_and_nothing_is_lost(harness: Harness) -> None:
    harness.slack.failures += [DeliveryError("webhook answered 500", retryable=True)] * 2
    _fire(harness)  # attempt 1 fails: next in 30 s
    assert len(harness.email.sent) == 1 and harness.slack.sent == []
    (row,) = [r for r in harness.log() if r.channel == "slack"]
    assert row.delivery is DeliveryStatus.RETRYING and row.next_attempt_at == at(60)
    assert row.error == "webhook answered 500" and row.attempts == 1
    harness.run(at(45), evaluation(RULE, A, B))
    assert harness.slack.attempts == 1  # not yet due
    harness.run(at(60), evaluation(RULE, A, B))  # attempt 2 fails: next in 60 s
    harness.run(at(119), evaluation(RULE, A, B))
    assert harness.slack.attempts == 2
    harness.run(at(120), evaluation(RULE, A, B))
    assert [practices(n) for n in harness.slack.sent] == [["audit", "tax"]]
    (row,) = [r for r in harness.log() if r.channel == "slack"]
    assert row.delivery is DeliveryStatus.SENT and row.attempts == 3 and row.sent_at == at(120)
    assert len(harness.email.sent) == 1


def test_a_retry_waits_at_least_what_the_channel_asked(harness: Harness) -> None:
    harness.slack.failures.append(DeliveryError("429", retryable=True, retry_after=600))
    _fire(harness)
    (row,) = [r for r in harness.log() if r.channel == "slack"]
    assert row.next_attempt_at == at(30) + timedelta(seconds=600)


def test_a_permanent_failure_is_logged_and_the_other_channel_still_hears(harness: Harness) -> None:
    harness.slack.failures.append(DeliveryError("webhook answered 404", retryable=False))
    report = _fire_report(harness)
    assert [(str(d.channel), d.outcome) for d in report.deliveries] == [
        ("email", DeliveryStatus.SENT),
        ("slack", DeliveryStatus.FAILED),
    ]
    for minutes in (1, 10, 60):
        harness.run(at(minutes=minutes), evaluation(RULE, A, B))
    assert harness.slack.attempts == 1 and len(harness.email.sent) == 1
    failed = [r for r in harness.log() if r.channel == "slack"]
    assert [(r.delivery, r.error) for r in failed] == [
        (DeliveryStatus.FAILED, "webhook answered 404")
    ]
    assert failed[0].message == "[firing] utilization-low: audit, tax"


def _fire_report(harness: Harness) -> PassReport:
    harness.run(T0, evaluation(RULE, A, B))
    return harness.run(at(30), evaluation(RULE, A, B))


def test_a_channel_that_is_down_defers_its_other_notifications(harness: Harness) -> None:
    other = policy("dso-high")
    harness.slack.failures.append(DeliveryError("timed out", retryable=True))
    evaluations = (evaluation(RULE, A), evaluation(other, alert("dso-high", practice="tax")))
    harness.run(T0, *evaluations)
    report = harness.run(at(30), *evaluations)
    assert harness.slack.attempts == 1 and len(report.deferred) == 1
    assert len(harness.email.sent) == 2
    assert {r.next_attempt_at for r in harness.log() if r.channel == "slack"} == {at(60)}
    harness.run(at(60), *evaluations)
    assert sorted(n.rule for n in harness.slack.sent) == ["dso-high", "utilization-low"]


def test_an_unexpected_error_is_retried_and_its_text_kept_out_of_the_log(harness: Harness) -> None:
    secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    harness.slack.failures.append(RuntimeError(f"connection reset by {secret}"))
    _fire(harness)
    (row,) = [r for r in harness.log() if r.channel == "slack"]
    assert row.delivery is DeliveryStatus.RETRYING
    assert row.error is not None and "SECRET" not in row.error and "RuntimeError" in row.error


def test_attempts_run_out_and_the_notification_fails(harness: Harness) -> None:
    harness.slack.failures += [DeliveryError("500", retryable=True)] * 20
    _fire(harness)
    for hours in range(1, 12):
        harness.run(at(hours=hours), evaluation(RULE, A, B))
    (row,) = [
        r for r in harness.log() if r.channel == "slack" and r.group_key == "utilization-low{}"
    ][:1]
    assert (
        row.delivery is DeliveryStatus.FAILED
        and row.attempts == harness.config.delivery.max_attempts
    )


def test_two_messages_to_slack_in_one_pass_are_a_second_apart(harness: Harness) -> None:
    evaluations = (
        evaluation(RULE, A),
        evaluation(policy("dso-high"), alert("dso-high", practice="tax")),
        evaluation(policy("wip-aged"), alert("wip-aged", practice="tax")),
    )
    harness.run(T0, *evaluations)
    harness.run(at(30), *evaluations)
    assert len(harness.slack.sent) == 3 and len(harness.email.sent) == 3
    assert harness.sleeper.slept == [1.0, 1.0]  # email is not paced; slack waits between sends
