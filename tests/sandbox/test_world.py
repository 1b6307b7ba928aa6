"""The world generator: deterministic by seed, the right size, and internally consistent."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sandbox.world import FAULTS, World, build_world
from sandbox.world.model import TIME_COLUMNS
from sandbox.world.truth import expected_invoices

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(7, size="small", today=TODAY)


def test_same_seed_same_world_including_faults(world: World) -> None:
    again = build_world(7, size="small", today=TODAY)
    assert_frame_equal(world.time_entries, again.time_entries)
    assert world.faults == again.faults
    assert world.employees == again.employees and world.invoices == again.invoices
    other = build_world(8, size="small", today=TODAY)
    assert other.faults != world.faults and other.employees != world.employees


def test_sizes_are_roughly_right(world: World) -> None:
    assert 50 <= len(world.employees) <= 70 and len(world.customers) == 15
    assert len(world.legal_entities) == 3
    assert {e.currency for e in world.legal_entities} == {"USD", "GBP", "EUR"}
    assert len({e.xero_tenant_id for e in world.legal_entities}) == 3
    assert world.history_start == TODAY - timedelta(days=548)
    custom = build_world(3, size="small", today=TODAY, consultants=20, customers=5)
    assert custom.size == "custom" and len(custom.customers) == 5
    assert 20 <= len(custom.employees) <= 30
    tiny = build_world(3, size="tiny", today=TODAY)
    assert len(tiny.employees) == 8 and (TODAY - tiny.history_start).days == 56


def test_time_entries_have_the_model_columns_and_quarter_hours(world: World) -> None:
    frame = world.time_entries
    assert frame.schema == pl.Schema(TIME_COLUMNS)
    assert frame["id"].n_unique() == frame.height
    regular = frame.filter(~pl.col("id").is_in([k for _, k in world.faults]))
    assert ((regular["hours"] * 4) % 1 == 0).all() and (regular["hours"] > 0).all()
    assert set(frame["status"]) == {"draft", "submitted", "approved", "rejected"}


def test_nothing_lies_in_the_future_and_stamps_are_ordered(world: World) -> None:
    frame = world.time_entries
    midnight = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    assert frame["spent_date"].max() < TODAY  # type: ignore[operator]
    for column in ("created_at", "submitted_at", "approved_at", "updated_at"):
        assert frame[column].max() < midnight  # type: ignore[operator]
    approved = frame.filter(pl.col("status") == "approved")
    assert (approved["submitted_at"] >= approved["created_at"]).all()
    assert (approved["approved_at"] > approved["submitted_at"]).all()
    assert (
        frame.filter(pl.col("status") == "draft")["submitted_at"].null_count()
        == frame.filter(pl.col("status") == "draft").height
    )


def test_people_log_time_only_while_employed_and_not_on_holidays(world: World) -> None:
    planted = {k for _, k in world.faults}
    frame = world.time_entries.filter(~pl.col("id").is_in(list(planted)))
    people = {e.id: e for e in world.employees}
    holidays = {(h.region_id, h.day) for h in world.holidays}
    for employee_id, spent in frame.select("employee_id", "spent_date").unique().iter_rows():
        person = people[employee_id]
        assert person.hire_date <= spent
        assert person.termination_date is None or spent <= person.termination_date
        assert (person.region_id, spent) not in holidays
    leavers = [e for e in world.employees if e.termination_date]
    assert leavers and any(e.hire_date > world.history_start for e in world.employees)


def test_contracts_projects_cards_and_assignments_are_consistent(world: World) -> None:
    contracts = {c.id: c for c in world.contracts}
    models = Counter(c.billing_model for c in world.contracts)
    assert models["time-and-materials"] > len(world.contracts) / 2 and len(models) >= 3
    won = {o.id for o in world.opportunities if o.won}
    assert all(c.opportunity_id in won for c in world.contracts)
    assert any(o.won is False for o in world.opportunities)
    for project in world.projects:
        contract = contracts[project.contract_id]
        assert contract.start <= project.start and project.end and project.end <= contract.end
        assert (project.status == "closed") == (project.end < TODAY)
    for card in world.rate_cards:
        for before, after in zip(card.versions, card.versions[1:], strict=False):
            assert before.effective_to == after.effective_from - timedelta(days=1)
        assert (
            card.versions[-1].effective_to is None
            and card.versions[-1].effective_from <= world.go_live
        )
    projects = {p.id for p in world.projects}
    assert all(a.project_id in projects for a in world.assignments)
    pairs = Counter((a.employee_id, a.project_id) for a in world.assignments)
    assert max(pairs.values()) == 1


def test_history_is_invoiced_and_payments_never_exceed_totals(world: World) -> None:
    assert world.invoices and world.payments and world.credit_notes
    invoiced = world.time_entries.filter(pl.col("invoice_id").is_not_null())
    assert (invoiced["spent_date"] < world.go_live).all()
    settled: Counter[int] = Counter()
    for p in world.payments:
        settled[p.invoice_id] += p.amount  # type: ignore[assignment]
    for n in world.credit_notes:
        settled[n.invoice_id] += n.amount  # type: ignore[assignment]
    by_id = {i.id: i for i in world.invoices}
    assert all(Decimal(v) <= by_id[k].total for k, v in settled.items())
    assert all(i.total == sum(line.amount for line in i.lines) for i in world.invoices)
    assert any(Decimal(settled[i.id]) < i.total for i in world.invoices)  # some still open


@pytest.mark.parametrize("label", FAULTS)
def test_every_fault_is_planted_and_true(world: World, label: str) -> None:
    ids = [
        k for (kind, k), found in world.faults.items() if found == label and kind == "time_entry"
    ]
    assert ids, label
    rows = world.time_entries.filter(pl.col("id").is_in(ids)).to_dicts()
    assert len(rows) == len(ids)
    projects = {p.id: p for p in world.projects}
    contracts = {c.id: c for c in world.contracts}
    people = {e.id: e for e in world.employees}
    for row in rows:
        if label != "edited_after_invoiced":
            assert (
                row["status"] == "approved"
                and row["billable"]
                and row["spent_date"] >= world.go_live
            )
        project = projects.get(row["project_id"])
        if label == "unknown_project":
            assert project is None
        elif label == "negative_hours":
            assert row["hours"] < 0
        elif label == "over_24h":
            assert row["hours"] > 24
        elif label == "closed_project":
            assert project and project.end and project.status == "closed"
            assert row["spent_date"] > project.end
        elif label == "terminated_resource":
            left = people[row["employee_id"]].termination_date
            assert left is not None and row["spent_date"] > left
        elif label == "currency_mismatch":
            assert project and project.currency != contracts[project.contract_id].currency
        elif label == "rate_card_missing":
            assert project is not None
            link = next(
                a
                for a in world.assignments
                if (a.employee_id, a.project_id) == (row["employee_id"], row["project_id"])
            )
            card = next(
                c for c in world.rate_cards if c.id == contracts[project.contract_id].rate_card_id
            )
            assert card.rate(link.role, row["spent_date"]) is None and link.rate_override is None
        elif label == "duplicate":
            twins = world.time_entries.filter(
                (pl.col("employee_id") == row["employee_id"])
                & (pl.col("project_id") == row["project_id"])
                & (pl.col("spent_date") == row["spent_date"])
                & (pl.col("hours") == row["hours"])
                & (pl.col("notes") == row["notes"])
            )
            assert twins.height >= 2
        elif label == "edited_after_invoiced":
            invoice = next(i for i in world.invoices if i.id == row["invoice_id"])
            assert row["updated_at"].date() > invoice.issue_date
        elif label == "closed_period":
            assert row["spent_date"] <= world.period_lock < row["created_at"].date()


def test_faults_can_be_restricted_and_scaled() -> None:
    only = build_world(7, size="small", today=TODAY, faults=["duplicate"], faults_per_label=5)
    assert Counter(only.faults.values()) == {"duplicate": 5}
    with pytest.raises(ValueError):
        build_world(7, size="small", today=TODAY, faults=["no_such_fault"])


def test_expected_invoices_bill_only_valid_time_since_go_live(world: World) -> None:
    rows = expected_invoices(world)
    assert rows
    assert all(world.go_live <= r["period_start"] < TODAY.replace(day=1) for r in rows)
    assert {r["currency"] for r in rows} == {"USD", "GBP", "EUR"}
    for r in rows:
        assert r["total"] == sum(
            (Decimal(h) * rate).quantize(Decimal("0.01")) for _, rate, h in r["lines"]
        )
