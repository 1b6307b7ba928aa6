"""The firm's books before go-live: the invoices its earlier process issued for each contract and
month, the payments customers made (on time, late, in part), disputes settled by credit notes,
write-offs, and the expenses people claimed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import polars as pl

from sandbox.world import catalog
from sandbox.world.model import (
    Contract,
    CreditNote,
    Customer,
    Employee,
    Expense,
    Invoice,
    InvoiceLine,
    Payment,
    Project,
    World,
)
from sandbox.world.org import at, clamp
from sandbox.world.pricing import line_amount, priced
from sandbox.world.truth import month_end

CENT = Decimal("0.01")


@dataclass
class Books:
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    credit_notes: list[CreditNote] = field(default_factory=list)


def invoice_history(rng: random.Random, world: World) -> Books:
    """Invoice every approved billable entry before go-live; set ``invoice_id`` on the entries."""
    books = Books()
    frame = (
        world.time_entries.lazy()
        .select(
            "id",
            "employee_id",
            "project_id",
            "spent_date",
            "hours",
            "approved_at",
            "status",
            "billable",
        )
        .filter(
            (pl.col("status") == "approved")
            & pl.col("billable")
            & (pl.col("spent_date") < world.go_live)
        )
        .drop("status", "billable")
        .collect()
    )
    if frame.is_empty():
        return books
    frame = priced(frame, world.projects, world.contracts, world.assignments, world.rate_cards)
    frame = frame.filter(pl.col("rate").is_not_null()).with_columns(
        period_start=pl.col("spent_date").dt.truncate("1mo")
    )
    groups = (
        frame.group_by("contract_id", "period_start")
        .agg(pl.col("approved_at").max().alias("last_approval"))
        .sort("period_start", "contract_id")
    )
    lines = (
        frame.group_by("contract_id", "period_start", "employee_id", "rate")
        .agg(pl.col("hours").sum())
        .sort("contract_id", "period_start", "employee_id", "rate")
    )
    by_group: dict[tuple[int, date], list[tuple[int, Decimal, Decimal]]] = {}
    for row in lines.iter_rows(named=True):
        key = (row["contract_id"], row["period_start"])
        by_group.setdefault(key, []).append((row["employee_id"], row["rate"], row["hours"]))
    names = {e.id: e.name for e in world.employees}
    contracts = {c.id: c for c in world.contracts}
    customers = {c.id: c for c in world.customers}
    ids = []
    for n, (contract_id, start, last) in enumerate(groups.iter_rows(), start=1):
        contract = contracts[contract_id]
        issued = max(month_end(start) + timedelta(days=5), last.date() + timedelta(days=1))
        invoice = _invoice(
            n,
            contract,
            customers[contract.customer_id],
            start,
            issued,
            by_group[(contract_id, start)],
            names,
            rng,
            world.today,
        )
        books.invoices.append(invoice)
        ids.append((contract_id, start, n))
        _settle(rng, books, invoice, customers[contract.customer_id], world.today)
    _mark_invoiced(world, frame, ids)
    return books


def _invoice(
    number: int,
    contract: Contract,
    customer: Customer,
    start: date,
    issued: date,
    lines: list[tuple[int, Decimal, Decimal]],
    names: dict[int, str],
    rng: random.Random,
    today: date,
) -> Invoice:
    built = tuple(
        InvoiceLine(
            f"Professional services — {names[who]}, {hours.normalize():f} h",
            hours,
            rate,
            line_amount(hours, rate),
        )
        for who, rate, hours in lines
    )
    return Invoice(
        id=number,
        number=f"INV-{number:05d}",
        legal_entity_id=contract.legal_entity_id,
        customer_id=customer.id,
        contract_id=contract.id,
        currency=contract.currency,
        issue_date=issued,
        due_date=issued + timedelta(days=customer.payment_terms_days),
        period_start=start,
        period_end=month_end(start),
        lines=built,
        total=sum((line.amount for line in built), Decimal(0)),
        disputed=rng.random() < 0.03,
        updated_at=clamp(at(issued, 10), today),
    )


def _settle(
    rng: random.Random, books: Books, invoice: Invoice, customer: Customer, today: date
) -> None:
    """Payments after a customer-typical delay; a dispute credits part, a write-off the rest."""
    due = invoice.total
    if invoice.disputed:
        credit = (due * Decimal(rng.randrange(10, 26)) / 100).quantize(CENT)
        _credit(books, invoice, invoice.issue_date + timedelta(days=15), credit, "dispute", today)
        due -= credit
    delay = max(1, round(rng.gauss(customer.days_to_pay_mean, 8)))
    paid_on = invoice.issue_date + timedelta(days=delay)
    if invoice.issue_date < today - timedelta(days=150) and rng.random() < 0.02:
        _credit(books, invoice, invoice.issue_date + timedelta(days=120), due, "write_off", today)
        return
    if rng.random() < 0.07:  # paid in two parts
        half = (due / 2).quantize(CENT)
        _pay(books, invoice, paid_on, half, today)
        due -= half
        paid_on += timedelta(days=30)
    _pay(books, invoice, paid_on, due, today)


def _pay(books: Books, invoice: Invoice, on: date, amount: Decimal, today: date) -> None:
    if on < today and amount > 0:
        books.payments.append(Payment(len(books.payments) + 1, invoice.id, on, amount, at(on, 14)))


def _credit(
    books: Books, invoice: Invoice, on: date, amount: Decimal, reason: str, today: date
) -> None:
    if on < today and amount > 0:
        books.credit_notes.append(
            CreditNote(len(books.credit_notes) + 1, invoice.id, on, amount, reason, at(on, 12))  # type: ignore[arg-type]
        )


def _mark_invoiced(world: World, frame: pl.DataFrame, ids: list[tuple[int, date, int]]) -> None:
    keys = pl.DataFrame(
        ids,
        schema={"contract_id": pl.Int64, "period_start": pl.Date, "invoice": pl.Int64},
        orient="row",
    )
    marks = frame.join(keys, on=["contract_id", "period_start"]).select("id", "invoice")
    aligned = (
        world.time_entries.lazy()
        .select("id")
        .join(marks.lazy(), on="id", how="left", maintain_order="left")
        .collect()
    )
    world.time_entries = world.time_entries.with_columns(
        invoice_id=pl.coalesce(pl.col("invoice_id"), aligned["invoice"])
    )


def expenses(
    rng: random.Random,
    people: list[Employee],
    projects: list[Project],
    assignments_by_person: dict[int, list[int]],
    count: int,
    history_start: date,
    today: date,
) -> list[Expense]:
    by_id = {p.id: p for p in projects}
    staffed = [p for p in people if assignments_by_person.get(p.id)]
    out: list[Expense] = []
    span = (today - history_start).days
    for n in range(1, count + 1 if staffed else 1):
        person = rng.choice(staffed)
        project = by_id[rng.choice(assignments_by_person[person.id])]
        spent = history_start + timedelta(days=rng.randrange(span))
        category = rng.choice(catalog.EXPENSE_CATEGORIES)
        amount = Decimal(rng.randrange(1500, 90000)) / 100
        out.append(
            Expense(
                n,
                person.id,
                project.id,
                spent,
                category,
                amount,
                project.currency,
                rng.random() < 0.6,
                spent < today - timedelta(days=10) or rng.random() < 0.5,
                None,
                clamp(at(spent + timedelta(days=2), 12), today),
            )
        )
    return out
