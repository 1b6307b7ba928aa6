"""``[alerts]`` read into the pipeline's configuration, and label matchers (no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.matchers import Matcher, MatcherError
from alerts.model import ChannelKind, Severity
from alerts.policy import DEFAULT_INHIBIT, AlertsConfigError, DeliveryPolicy, PipelineConfig
from sync.settings_alerts import AlertsSettings

SLACK = {"webhook_url": "https://hooks.example/T/B/secret"}
EMAIL = {"host": "localhost", "from_addr": "p2c@firm.com", "to": ["ops@firm.com"]}


def _settings(**values: Any) -> AlertsSettings:
    return AlertsSettings.model_validate(values)


def test_no_routes_send_every_alert_to_every_configured_channel() -> None:
    config = PipelineConfig.from_settings(_settings(slack=SLACK, email=EMAIL), flow_vendors={})
    assert config.destinations({"rule": "x"}, Severity.INFO) == {
        ChannelKind.EMAIL: True,
        ChannelKind.SLACK: True,
    }
    assert config.inhibit == DEFAULT_INHIBIT
    assert config.group_wait == timedelta(seconds=30)


def test_the_flow_vendor_map_comes_from_sync_by_default() -> None:
    config = PipelineConfig.from_settings(_settings(slack=SLACK))
    assert "xero" in config.flow_vendors["outbox"]


def test_routes_match_labels_and_severities_in_order() -> None:
    routes = [
        {"matchers": ['vendor=~"xero|harvest"'], "channels": ["slack"], "continue": True},
        {"severities": ["page"], "channels": ["slack"], "send_resolved": False},
        {"severities": ["info"], "channels": []},
    ]
    config = PipelineConfig.from_settings(
        _settings(slack=SLACK, email=EMAIL, routes=routes), flow_vendors={}
    )
    assert config.destinations({"vendor": "xero"}, Severity.PAGE) == {ChannelKind.SLACK: False}
    assert config.destinations({"vendor": "xero"}, Severity.TICKET) == {ChannelKind.SLACK: True}
    assert config.destinations({}, Severity.TICKET) == {
        ChannelKind.EMAIL: True,
        ChannelKind.SLACK: True,
    }
    assert config.destinations({}, Severity.INFO) == {}


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (
            {"routes": [{"channels": ["email"]}]},
            r"alerts.routes\[0\].channels: email is not configured",
        ),
        ({"routes": [{"channels": ["pager"]}]}, r"alerts.routes\[0\].channels.0"),
        ({"routes": [{"channels": ["slack"], "matchers": ["vendor"]}]}, r"routes\[0\].matchers"),
        ({"routes": [{"channels": ["slack"], "colour": "red"}]}, r"routes\[0\].colour"),
        ({"inhibit": [{"source": ['a=~"("'], "target": ["b=1"]}]}, r"inhibit\[0\].source"),
        ({"mute_timings": [{"name": "m", "start": "17:00", "end": "09:00"}]}, "must come after"),
        ({"mute_timings": [{"name": "m", "weekdays": ["monday"]}]}, r"mute_timings\[0\].weekdays"),
        ({"timezone": "Mars/Olympus"}, "alerts.timezone"),
    ],
)
def test_a_setting_that_cannot_be_used_is_refused_naming_its_key(
    values: dict[str, Any], says: str
) -> None:
    with pytest.raises(AlertsConfigError, match=says):
        PipelineConfig.from_settings(_settings(slack=SLACK, **values), flow_vendors={})


def test_a_mute_timing_is_read_in_the_configured_time_zone() -> None:
    config = PipelineConfig.from_settings(
        _settings(
            slack=SLACK,
            timezone="America/New_York",
            mute_timings=[{"name": "office", "severities": ["ticket"]}],
        ),
        flow_vendors={},
    )
    (timing,) = config.mute_timings
    monday_noon_utc = datetime(2026, 12, 7, 12, tzinfo=UTC)  # 07:00 in New York
    local = monday_noon_utc.astimezone(config.timezone)
    assert timing.mutes({}, Severity.TICKET, local)
    assert not timing.mutes({}, Severity.PAGE, local)
    assert not timing.mutes(
        {}, Severity.TICKET, (monday_noon_utc + timedelta(hours=3)).astimezone(config.timezone)
    )


def test_backoff_doubles_up_to_its_cap_and_honours_retry_after() -> None:
    policy = DeliveryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=4))
    waits = [policy.backoff(n).total_seconds() for n in range(1, 6)]
    assert waits == [30, 60, 120, 240, 240]
    assert policy.backoff(1, retry_after=90) == timedelta(seconds=90)


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('vendor="xero"', {"vendor": "xero"}, True),
        ("vendor=xero", {"vendor": "harvest"}, False),
        ('vendor!="xero"', {}, True),
        ('team=""', {}, True),
        ('vendor=~"xe"', {"vendor": "xero"}, False),  # anchored
        ('vendor=~"xe.*"', {"vendor": "xero"}, True),
        ('severity!~"page|ticket"', {"severity": "info"}, True),
        ('severity!~"page|ticket"', {"severity": "page"}, False),
    ],
)
def test_matchers_read_like_alertmanagers(text: str, labels: dict[str, str], matches: bool) -> None:
    assert Matcher.parse(text).matches(labels) is matches


def test_a_matcher_that_cannot_be_read_says_so() -> None:
    with pytest.raises(MatcherError, match="not a matcher"):
        Matcher.parse("vendor")
    with pytest.raises(MatcherError, match="not a regular expression"):
        Matcher.parse('vendor=~"("')
