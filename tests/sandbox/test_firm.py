"""The sandbox firm: deterministic by seed, with labelled faults and invoice ground truth."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from sandbox.firm import ROLES, build_firm
from sandbox.timesheets import LOCKED_REASON
from tests.sandbox.conftest import TODAY


def test_same_seed_same_firm_and_different_seed_different_firm() -> None:
    first, again = build_firm(7, today=TODAY), build_firm(7, today=TODAY)
    assert first.time_entries == again.time_entries
    assert first.clients == again.clients and first.faults == again.faults
    assert build_firm(8, today=TODAY).time_entries != first.time_entries


def test_people_clients_projects_and_assignments_are_plausible() -> None:
    firm = build_firm(7, today=TODAY)
    assert len(firm.consultants) == 8 and set(ROLES) <= {c.role for c in firm.consultants}
    assert all(c.weekly_capacity_hours == 40 for c in firm.consultants)
    currencies = Counter(c.currency for c in firm.clients)
    assert currencies["USD"] == len(firm.clients) - 1
    assert set(currencies) - {"USD"} <= {"GBP", "EUR"}
    closed = [p for p in firm.projects if not p.is_active]
    assert len(closed) == 1 and closed[0].ends_on is not None and closed[0].ends_on < TODAY
    assert all(p.starts_on < firm.window_start for p in firm.projects)
    for link in firm.assignments:
        person = firm.consultant_by_id[link.user_id]
        client = firm.client_by_id[firm.project_by_id[link.project_id].client_id]
        assert link.hourly_rate == client.rate_card[person.role]
    per_person = Counter(a.user_id for a in firm.assignments)
    assert set(per_person.values()) <= {1, 2}


def test_faults_are_labelled_and_true() -> None:
    firm = build_firm(7, today=TODAY)
    assert sorted(firm.faults.values()) == sorted(
        ["closed_project", "negative_hours", "over_24h", "no_assignment", "unknown_project"]
    )
    by_label = {
        label: next(e for e in firm.time_entries if e["id"] == entry_id)
        for entry_id, label in firm.faults.items()
    }
    assert by_label["negative_hours"]["hours"] < 0
    assert by_label["over_24h"]["hours"] > 24
    closed = firm.project_by_id[by_label["closed_project"]["project_id"]]
    assert not closed.is_active and closed.ends_on is not None
    assert by_label["closed_project"]["spent_date"] > closed.ends_on
    stranger = by_label["no_assignment"]
    assert (stranger["user_id"], stranger["project_id"]) not in firm.assignment_by_pair
    assert by_label["unknown_project"]["project_id"] not in firm.project_by_id
    assert all(e["is_closed"] and e["billable"] for e in by_label.values())


def test_approval_follows_the_week_and_timestamps_are_ordered() -> None:
    firm = build_firm(7, today=TODAY)
    for entry in firm.time_entries:
        assert entry["spent_date"] < TODAY
        assert entry["created_at"].date() >= entry["spent_date"]
        assert entry["updated_at"] >= entry["created_at"]
        if entry["spent_date"] <= TODAY - timedelta(days=7):
            assert entry["is_closed"] and entry["is_locked"]
            assert entry["locked_reason"] == LOCKED_REASON
            assert entry["updated_at"] > entry["created_at"]
            assert entry["updated_at"].date() < TODAY
        else:
            assert not entry["is_closed"] and entry["locked_reason"] is None
    assert any(not e["is_closed"] for e in firm.time_entries)
    assert all(
        e["spent_date"].weekday() < 5 for e in firm.time_entries if e["id"] not in firm.faults
    )


def test_expected_invoices_cover_ended_months_and_valid_billable_approved_time() -> None:
    firm = build_firm(7, today=TODAY)
    invoices = firm.expected_invoices()
    assert {i["period_start"] for i in invoices} == {
        TODAY.replace(month=1, day=1),
        TODAY.replace(month=2, day=1),
    }
    codes = {p.code for p in firm.projects}
    for invoice in invoices:
        assert invoice["project_code"] in codes
        assert invoice["total"] == invoice["total"].quantize(Decimal("0.01"))
    row = invoices[0]
    project = next(p for p in firm.projects if p.code == row["project_code"])
    entries = [
        e
        for e in firm.time_entries
        if e["project_id"] == project.id
        and e["id"] not in firm.faults
        and e["billable"]
        and e["is_closed"]
        and e["spent_date"].replace(day=1) == row["period_start"]
    ]
    total = sum(
        Decimal(e["hours"]) * firm.assignment_by_pair[(e["user_id"], project.id)].hourly_rate
        for e in entries
    )
    assert row["hours"] == sum(Decimal(e["hours"]) for e in entries)
    assert row["total"] == total


def test_extra_entries_are_fast_valid_and_approved() -> None:
    started = time.perf_counter()
    firm = build_firm(7, today=TODAY, extra_entries=100_000)
    assert time.perf_counter() - started < 3.0
    base = len(build_firm(7, today=TODAY).time_entries)
    assert len(firm.time_entries) == base + 100_000
    assert len({e["id"] for e in firm.time_entries}) == len(firm.time_entries)
    extra = firm.time_entries[-100_005:-5]
    assert all(e["is_closed"] and 0 < e["hours"] <= 8 for e in extra)
    assert all((e["user_id"], e["project_id"]) in firm.assignment_by_pair for e in extra)
    assert len(firm.faults) == 5
