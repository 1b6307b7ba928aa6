"""Loading rules: every kind loads from its table; every refusal names the rule and the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from alerts.model import Severity
from alerts.rules import RuleError, load_rules

KINDS: dict[str, dict[str, Any]] = {
    "kpi": {"kpi": "utilization", "by": "practice", "below": 65},
    "exceptions": {"category": "rate_card_missing", "value_at_risk_above": 40000},
    "staleness": {"flows": ["billable"], "multiple": 3},
    "vendor": {"vendor": "xero", "metric": "error_rate", "above": 50, "window": "20m"},
    "slo": {"sli": "posted_within_1h"},
    "close_risk": {"days_before": 3, "unapproved_hours_above": 300, "by": "practice"},
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_loads_with_its_policy(kind: str) -> None:
    table = {"name": f"r-{kind}", "kind": kind, "severity": "page", "for": "10m", **KINDS[kind]}
    (rule,) = load_rules([table])
    assert rule.kind == kind
    assert rule.policy.name == f"r-{kind}"
    assert rule.policy.severity is Severity.PAGE
    assert rule.policy.hold_for == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("written", "seconds"), [("90s", 90), ("10m", 600), ("2h", 7200), ("3d", 259200), (45, 45)]
)
def test_durations(written: object, seconds: int) -> None:
    (rule,) = load_rules([{"name": "s", "kind": "staleness", "for": written}])
    assert rule.policy.hold_for == timedelta(seconds=seconds)


def test_group_by_and_summary_use_the_alerts_fields() -> None:
    (rule,) = load_rules(
        [
            {
                "name": "u",
                "kind": "kpi",
                "kpi": "utilization",
                "by": "practice",
                "below": 65,
                "labels": {"team": "finance"},
                "group_by": ["practice", "team"],
                "summary": "{practice} at {value}{unit} ({team})",
            }
        ]
    )
    assert rule.policy.group_by == ("practice", "team")


def test_empty_list_means_no_rules_and_none_the_defaults() -> None:
    assert len(load_rules([])) == 0
    defaults = load_rules(None)
    assert defaults.kinds() == set(KINDS)
    assert len({r.name for r in defaults}) == len(defaults)


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"kind": "kpy"}, "kind", "unknown kind 'kpy'"),
    ({"kind": "kpi", "kpi": "utilisation", "below": 65}, "kpi", "unknown KPI 'utilisation'"),
    ({"kind": "kpi", "kpi": "utilization", "below": 650}, "threshold", "percent"),
    ({"kind": "kpi", "kpi": "utilization"}, "above | below", "exactly one"),
    ({"kind": "kpi", "kpi": "dso_standard", "above": "many"}, "above", "number"),
    ({"kind": "kpi", "kpi": "utilization", "by": "country", "below": 6}, "by", "practice"),
    ({"kind": "kpi", "kpi": "utilization", "where": {"country": "x"}, "below": 6}, "where", ""),
    ({"kind": "kpi", "kpi": "wip", "bucket": "61-90", "above": 1}, "bucket", "61–90"),
    ({"kind": "exceptions", "flow": "bilable", "count_above": 1}, "flow", "unknown flow"),
    ({"kind": "exceptions", "category": "nope", "count_above": 1}, "category", "nope"),
    ({"kind": "exceptions", "count_above": -1}, "count_above", "greater than"),
    ({"kind": "staleness", "flows": ["bilable"]}, "flows", "unknown flow 'bilable'"),
    ({"kind": "vendor", "vendor": "sap", "metric": "error_rate", "above": 5}, "vendor", "sap"),
    ({"kind": "vendor", "metric": "error_rate", "above": 500}, "above", "percent"),
    ({"kind": "slo", "sli": "invoices_fast"}, "sli", "invoices_fast"),
    ({"kind": "slo", "sli": "posted_within_1h", "objective": 100}, "objective", "less than"),
    ({"kind": "close_risk", "unposted_invoices_above": 0, "by": "practice"}, "by", "firm"),
    ({"kind": "staleness", "summary": "{flw}"}, "summary", "{flw}"),
    ({"kind": "staleness", "summary": "{value:.1f}"}, "summary", "no format"),
    ({"kind": "staleness", "group_by": ["practice"]}, "group_by", "practice"),
    ({"kind": "staleness", "for": "10 years"}, "for", "duration"),
    ({"kind": "staleness", "severity": "urgent"}, "severity", "page"),
    ({"kind": "staleness", "colour": "red"}, "colour", "Extra"),
]


@pytest.mark.parametrize(
    ("table", "key", "words"), BAD, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD)]
)
def test_a_bad_rule_is_refused_naming_the_rule_and_the_key(
    table: dict[str, Any], key: str, words: str
) -> None:
    fine = {"name": "fine", "kind": "staleness"}
    with pytest.raises(RuleError) as refused:
        load_rules([fine, {"name": "the-bad-one", **table}])
    assert refused.value.rule == "[1] 'the-bad-one'"
    assert refused.value.key.startswith(key)
    assert words in refused.value.problem
    assert "the-bad-one" in str(refused.value) and key in str(refused.value)


def test_a_rule_without_a_name_is_named_by_its_position() -> None:
    with pytest.raises(RuleError, match=r"\[0\]: name"):
        load_rules([{"kind": "staleness"}])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(RuleError, match=r"\[1\] 'twice': name: duplicate"):
        load_rules([{"name": "twice", "kind": "staleness"}, {"name": "twice", "kind": "staleness"}])
