"""The tiny sandbox firm the engine tests use: deterministic, labelled faults, invoice truth."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal

from sandbox.firm import ROLES, build_firm
from sandbox.world.pricing import line_amount, priced
from tests.sandbox.conftest import TODAY


def test_same_seed_same_firm_and_different_seed_different_firm() -> None:
    first, again = build_firm(7, today=TODAY), build_firm(7, today=TODAY)
    assert_frame_equal(first.time_entries, again.time_entries)
    assert first.world.customers == again.world.customers and first.faults == again.faults
    assert not first.time_entries.equals(build_firm(8, today=TODAY).time_entries)


def test_people_customers_projects_and_assignments_are_plausible() -> None:
    world = build_firm(7, today=TODAY).world
    assert len(world.employees) == 8 and set(ROLES) <= {e.role for e in world.employees}
    assert len(world.customers) == 4 and len(world.legal_entities) == 1
    assert {c.currency for c in world.customers} == {world.legal_entities[0].currency}
    closed = [p for p in world.projects if p.status == "closed"]
    assert len(closed) == 1 and closed[0].end is not None and closed[0].end < TODAY
    assert all(p.start < world.history_start for p in world.projects)
    assert all(c.billing_model == "time-and-materials" for c in world.contracts)
    per_person = Counter(a.employee_id for a in world.assignments)
    assert set(per_person.values()) <= {1, 2}
    assert world.go_live == world.history_start and world.invoices == []


def test_faults_are_labelled_and_true() -> None:
    firm = build_firm(7, today=TODAY)
    world = firm.world
    assert sorted(firm.faults.values()) == sorted(
        ["closed_project", "negative_hours", "over_24h", "no_assignment", "unknown_project"]
    )
    rows = world.time_entries.filter(pl.col("id").is_in(list(firm.faults)))
    by_label = {firm.faults[r["id"]]: r for r in rows.iter_rows(named=True)}
    assert by_label["negative_hours"]["hours"] < 0
    assert by_label["over_24h"]["hours"] > 24
    projects = {p.id: p for p in world.projects}
    closed = projects[by_label["closed_project"]["project_id"]]
    assert closed.status == "closed" and closed.end is not None
    assert by_label["closed_project"]["spent_date"] > closed.end
    stranger = by_label["no_assignment"]
    assigned = {(a.employee_id, a.project_id) for a in world.assignments}
    assert (stranger["employee_id"], stranger["project_id"]) not in assigned
    assert by_label["unknown_project"]["project_id"] not in projects
    assert all(r["status"] == "approved" and r["billable"] for r in by_label.values())


def test_timestamps_are_ordered_and_in_the_past() -> None:
    world = build_firm(7, today=TODAY).world
    entries = world.time_entries
    midnight = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    assert entries["spent_date"].max() < TODAY  # type: ignore[operator]
    assert entries["updated_at"].max() < midnight  # type: ignore[operator]
    assert (entries["created_at"].dt.date() >= entries["spent_date"]).all()
    assert (entries["updated_at"] >= entries["created_at"]).all()
    approved = entries.filter(pl.col("status") == "approved")
    assert (approved["approved_at"] > approved["submitted_at"]).all()
    assert set(entries["status"]) <= {"draft", "submitted", "approved", "rejected"}
    assert entries.filter(pl.col("status") != "approved").height > 0
    regular = entries.filter(~pl.col("id").is_in(list(build_firm(7, today=TODAY).faults)))
    assert (regular["spent_date"].dt.weekday() <= 5).all()


def test_expected_invoices_cover_ended_months_and_valid_billable_approved_time() -> None:
    firm = build_firm(7, today=TODAY)
    world = firm.world
    invoices = firm.expected_invoices()
    assert {i["period_start"] for i in invoices} == {
        TODAY.replace(month=1, day=1),
        TODAY.replace(month=2, day=1),
    }
    codes = {p.code for p in world.projects}
    for invoice in invoices:
        assert invoice["project_code"] in codes
        assert invoice["total"] == invoice["total"].quantize(Decimal("0.01"))
    row = invoices[0]
    project = next(p for p in world.projects if p.code == row["project_code"])
    entries = world.time_entries.filter(
        (pl.col("project_id") == project.id)
        & ~pl.col("id").is_in(list(firm.faults))
        & pl.col("billable")
        & (pl.col("status") == "approved")
        & (pl.col("spent_date").dt.truncate("1mo") == row["period_start"])
    )
    worth = priced(entries, world.projects, world.contracts, world.assignments, world.rate_cards)
    lines = worth.group_by("employee_id", "rate").agg(pl.col("hours").sum())
    assert row["hours"] == sum(Decimal(h) for h in entries["hours"])
    assert row["total"] == sum(line_amount(Decimal(h), Decimal(r)) for _, r, h in lines.iter_rows())


def test_extra_entries_are_fast_valid_and_approved() -> None:
    started = time.perf_counter()
    firm = build_firm(7, today=TODAY, extra_entries=100_000)
    assert time.perf_counter() - started < 3.0
    base = build_firm(7, today=TODAY).time_entries.height
    entries = firm.time_entries
    assert entries.height == base + 100_000
    assert entries["id"].n_unique() == entries.height
    extra = entries.filter(pl.col("id") > base - 5).filter(~pl.col("id").is_in(list(firm.faults)))
    assert extra.height == 100_000
    assert (extra["status"] == "approved").all() and extra["billable"].all()
    assert ((extra["hours"] > 0) & (extra["hours"] <= 8)).all()
    assigned = {(a.employee_id, a.project_id) for a in firm.world.assignments}
    assert all(
        pair in assigned for pair in extra.select("employee_id", "project_id").unique().iter_rows()
    )
    assert len(firm.faults) == 5
