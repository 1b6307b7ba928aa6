"""KPIs against the sandbox's ground truth: DSO and billable utilization, tiny and small firms.

The firm's four legal entities keep their books in four ERPs (Xero, Dynamics 365, Oracle Fusion,
NetSuite). The engine runs to completion against a sandbox firm, the world moves on six weeks
(new time, customers paying what was posted to each ERP), and the engine runs again. Then each
legal entity's ERP must hold exactly the invoices the truth says plan2cash must issue for it, and
the payments the store holds per entity must be those each ERP booked. Each KPI is computed
twice: through :mod:`metrics` (``metrics.load`` frames from the store and the KPI functions) and
independently, in this file, from the sandbox's own records (the world's people, holidays, time
off and time entries; the invoices each ERP holds and what was paid on them) with plain loops
that share no code with :mod:`metrics`. They must agree within rounding (0.01 day, 0.01
percentage point).

What is comparable, and why the comparison is restricted to it:

- **DSO** covers the invoices plan2cash posted (``P2C-`` numbers). Invoices the firm issued by
  hand before go-live live in the ERP but not in the store (status back leaves them alone), so
  the store's DSO is plan2cash's receivable, not the whole ERP ledger's. The truth side takes
  the same invoices: :func:`sandbox.world.truth.expected_invoices` gives their totals, each
  ERP emulator their issue dates and what was paid on them (every payment the sandbox books falls
  before the world's today, ``AS_OF``). Credit notes are not planted here.
- **Utilization** is checked per person and firm-wide for closed months of the firm's history,
  with every definition kept as :mod:`metrics.utilization` publishes it but one: billable hours
  include the world's *rejected* entries. Harvest has no rejected state (a rejected timesheet's
  entries are simply open again, ``is_closed`` false), so the store cannot tell them from time
  waiting for approval; they are hours worked and logged all the same. Holidays are the world's,
  by region: the engine is configured with each BambooHR location's country, as a firm in
  several countries must be (BambooHR's one company calendar does not say whom a holiday
  applies to; see :mod:`sync.flows.holiday_scope`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import Engine, select

from app.cli.sandbox import adopt_books
from collectors.bamboohr import BambooHRSettings
from collectors.http import RetryPolicy
from metrics import load
from metrics.dso import dso_by
from metrics.utilization import utilization
from sandbox.server import Sandbox
from sandbox.world.catalog import ERPS
from sandbox.world.model import World
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from sync.store.tables import CustomerRow, InvoiceRow, PaymentRow, XrefRow
from tests.sandbox.books import PLAN2CASH, assert_each_erp_holds_the_truth

FIRST_RUN = date(2026, 10, 20)
AS_OF = date(2026, 12, 3)
FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


class Run:
    """A sandbox firm after two engine runs, six weeks apart."""

    def __init__(self, box: Sandbox, store: Engine, size: str) -> None:
        self.box, self.store, self.size = box, store, size


# the small firm over six months of history: its three legal entities, currencies and holiday
# regions, leavers and hires, and invoices issued before go-live are all there in six months
FIRMS = [
    pytest.param({"size": "tiny"}, id="tiny"),
    pytest.param({"size": "small", "months": 6}, id="small-6-months"),
]


@pytest.fixture(scope="module", params=FIRMS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Shared by the tests of a module (they only read): two engine runs cost seconds."""
    folder = tmp_path_factory.mktemp(request.param["size"])
    store = make_engine(f"sqlite:///{folder / 'store.db'}")
    upgrade(store)
    box = Sandbox(seed=7, today=FIRST_RUN, entities=4, erps=ERPS, **request.param)
    clock = {"now": datetime(2026, 10, 20, 12, tzinfo=UTC)}
    countries = {region.name: region.country for region in box.world.regions}
    settings = Settings(
        database_url=str(store.url), bamboohr=BambooHRSettings(location_countries=countries)
    )
    adopt_books(settings, box.connections())
    engine = SyncEngine(
        settings,
        store,
        transports=box.transports(),
        clock=lambda: clock["now"],
        policy=FAST,
    )
    assert {r.status for r in engine.run_once()} == {"succeeded"}
    box.advance(AS_OF)
    clock["now"] = datetime(2026, 12, 3, 12, tzinfo=UTC)
    assert {r.status for r in engine.run_once()} == {"succeeded"}
    yield Run(box, store, request.param["size"])
    box.stop()
    store.dispose()


# --- DSO ----------------------------------------------------------------------------------------


def _truth_receivables(box: Sandbox) -> dict[str, list[tuple[date, Decimal, Decimal]]]:
    """Per currency: (issue date, total, paid by AS_OF) of each invoice plan2cash posted, as the
    sandbox's ERPs hold them."""
    out: dict[str, list[tuple[date, Decimal, Decimal]]] = defaultdict(list)
    for _, invoice in box.books():
        if not invoice.number.startswith(PLAN2CASH):
            continue  # issued before go-live: in the ERP, not in the store
        paid = invoice.total - invoice.amount_due
        out[invoice.currency].append((invoice.issued, invoice.total, paid))
    assert out, "the engine posted invoices"
    return out


def _month_days(first: date, last: date) -> int:
    return (last - first).days + 1


def _truth_dso(items: list[tuple[date, Decimal, Decimal]]) -> tuple[float | None, float | None]:
    """Standard and countback DSO as of AS_OF over the three months ending with its month."""
    ar = sum((total - paid for issued, total, paid in items if issued <= AS_OF), Decimal(0))
    months: list[tuple[date, date]] = []
    first = AS_OF.replace(day=1)
    months.append((first, AS_OF))
    for _ in range(2):
        last = months[-1][0] - timedelta(days=1)
        months.append((last.replace(day=1), last))
    sales = [
        sum((t for issued, t, _ in items if start <= issued <= end), Decimal(0))
        for start, end in months
    ]
    days = sum(_month_days(s, e) for s, e in months)
    standard = float(ar / sum(sales) * days) if sum(sales) > 0 else None
    remaining, counted = ar, Decimal(0)
    for (start, end), sold in zip(months, sales, strict=True):  # newest month first
        if remaining <= 0:
            break
        if sold >= remaining:
            return standard, float(counted + remaining / sold * _month_days(start, end))
        counted += _month_days(start, end)
        remaining -= sold
    return standard, float(counted) if remaining <= 0 else None


def test_dso_from_the_store_matches_the_sandbox_ledger(run: Run) -> None:
    truth_items = _truth_receivables(run.box)
    with run.store.connect() as connection:
        invoices = load.invoices(connection)
        payments = load.payments(connection)
    posted = invoices.filter(invoices["posted_at"].is_not_null())
    dso = {row["currency"]: row for row in dso_by(posted, payments, as_of=AS_OF).to_dicts()}
    assert set(dso) == set(truth_items)
    paid_somewhere = False
    for currency, items in truth_items.items():
        standard, countback = _truth_dso(items)
        ar = sum((t - p for _, t, p in items), Decimal(0))
        paid_somewhere |= any(p > 0 for _, _, p in items)
        row = dso[currency]
        assert Decimal(row["ending_ar"]) == ar, currency
        assert row["standard_days"] == pytest.approx(standard, abs=0.01), currency
        assert row["countback_days"] == pytest.approx(countback, abs=0.01), currency
    assert paid_somewhere, "the world moved on six weeks: some customer must have paid"


# --- each ERP's books, per legal entity ----------------------------------------------------------


def test_each_legal_entitys_erp_holds_the_invoices_of_the_truth(run: Run) -> None:
    assert_each_erp_holds_the_truth(run.box, PLAN2CASH)


def _paid_in_erps(box: Sandbox) -> dict[int, dict[str, Decimal]]:
    """Per legal entity: what was paid on each invoice plan2cash posted, as its ERP booked it."""
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for entity, invoice in box.books():
        if invoice.number.startswith(PLAN2CASH) and invoice.amount_due < invoice.total:
            out[entity][invoice.number] = invoice.total - invoice.amount_due
    return dict(out)


def _paid_in_store(store: Engine, entities: dict[str, int]) -> dict[int, dict[str, Decimal]]:
    """Per legal entity of the invoice's customer (as the CRM names it): the payments the store
    holds on each invoice."""
    with store.connect() as connection:
        rows = connection.execute(
            select(CustomerRow.legal_entity, InvoiceRow.number, PaymentRow.amount)
            .join(InvoiceRow, InvoiceRow.id == PaymentRow.invoice_id)
            .join(CustomerRow, CustomerRow.id == InvoiceRow.customer_id)
        ).all()
    out: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for entity, number, amount in rows:
        out[entities[entity or ""]][number] += amount
    return {entity: dict(paid) for entity, paid in out.items()}


def test_the_payments_per_legal_entity_are_those_its_erp_booked(run: Run) -> None:
    entities = {e.name: e.id for e in run.box.world.legal_entities}
    booked = _paid_in_erps(run.box)
    # six weeks on, the small firm's customers have paid in several ERPs (the tiny one's in one)
    assert len(booked) >= (2 if run.size == "small" else 1), booked
    assert _paid_in_store(run.store, entities) == booked


# --- utilization ----------------------------------------------------------------------------------


def _closed_months(world: World) -> list[tuple[date, date]]:
    """Whole months of the world's history before AS_OF's month (its first, partial one too)."""
    months = []
    first = world.history_start.replace(day=1)
    while first < AS_OF.replace(day=1):
        following = (first + timedelta(days=32)).replace(day=1)
        months.append((first, following - timedelta(days=1)))
        first = following
    return months


def _truth_hours(world: World, start: date, end: date) -> dict[int, tuple[Decimal, Decimal]]:
    """Per employee employed in [start, end]: (billable, available) hours from the world."""
    off: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    for leave in world.time_off:
        if leave.status == "approved":
            day = max(leave.start, start)
            while day <= min(leave.end, end):
                off[(leave.employee_id, day)] += leave.hours_per_day
                day += timedelta(days=1)
    holidays = {(h.region_id, h.day) for h in world.holidays}
    billable: dict[int, Decimal] = defaultdict(Decimal)
    entries = world.time_entries.filter(pl.col("spent_date").is_between(start, end))
    for entry in entries.iter_rows(named=True):
        if entry["billable"]:  # rejected too: see the module docstring
            billable[entry["employee_id"]] += entry["hours"]
    out = {}
    for person in world.employees:
        last = min(end, person.termination_date or end)
        day, available = max(start, person.hire_date), Decimal(0)
        if day > last:
            continue
        while day <= last:
            if day.weekday() < 5 and (person.region_id, day) not in holidays:
                daily = person.weekly_capacity_hours / 5
                available += max(daily - off[(person.id, day)], Decimal(0))
            day += timedelta(days=1)
        out[person.id] = (billable[person.id], available)
    return out


def _store_frames(store: Engine) -> tuple[pl.DataFrame, ...]:
    with store.connect() as connection:
        entries = load.time_entries(connection)
        frames = (
            load.people(connection),
            entries.filter((pl.col("status") != "rejected") & pl.col("resource_id").is_not_null()),
            load.holidays(connection),
            load.time_off(connection),
        )
        employees = connection.execute(
            select(XrefRow.canonical_id, XrefRow.external_id).where(
                XrefRow.entity_type == "resource", XrefRow.system == "bamboohr"
            )
        ).all()
    ids = pl.DataFrame(
        [(c, int(e)) for c, e in employees],
        schema={"resource_id": pl.String, "employee_id": pl.Int64},
        orient="row",
    )
    return (*frames, ids)


def test_utilization_from_the_store_matches_the_sandbox_firm(run: Run) -> None:
    people, entries, holidays, time_off, ids = _store_frames(run.store)
    assert people.height == ids.height == len(run.box.world.employees)
    months = _closed_months(run.box.world)
    assert len(months) >= 3
    for start, end in months:
        truth = _truth_hours(run.box.world, start, end)
        per_person = utilization(people, entries, holidays, time_off, start=start, end=end)
        measured = {
            row["employee_id"]: (row["billable_hours"], row["available_hours"])
            for row in per_person.join(ids, on="resource_id").iter_rows(named=True)
            if row["available_hours"] > 0 or row["billable_hours"] != 0
        }
        expected = {k: v for k, v in truth.items() if v != (0, 0)}
        assert set(measured) == set(expected), start
        for employee, (billable, available) in expected.items():
            got = measured[employee]
            assert got[0] == pytest.approx(float(billable), abs=0.005), (start, employee)
            assert got[1] == pytest.approx(float(available), abs=0.005), (start, employee)
        firm = utilization(
            people.with_columns(firm=pl.lit("all")),
            entries,
            holidays,
            time_off,
            start=start,
            end=end,
            by=["firm"],
        ).row(0, named=True)
        total_billable = sum((b for b, _ in truth.values()), Decimal(0))
        total_available = sum((a for _, a in truth.values()), Decimal(0))
        assert total_available > 0 and total_billable > 0, start
        assert firm["utilization"] == pytest.approx(
            float(total_billable / total_available), abs=0.0001
        ), start
