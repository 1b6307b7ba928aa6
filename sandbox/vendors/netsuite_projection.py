"""The world as one NetSuite OneWorld account holds it: a subsidiary per legal entity (internal
ids "1", "2", … in the world's order, named as the entity), that entity's customers, and the
invoices the firm issued before go-live with the payments and credit memos that settled them,
each stamped with when it last changed in the world."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sandbox.vendors.netsuite_books import Books
from sandbox.world.model import LegalEntity, World

SERVICE_ITEM = ("1", "Professional Services")
# Internal ids of the currencies an account is set up with (USD first: the usual base).
KNOWN_CURRENCIES = ("USD", "GBP", "CAD", "EUR", "AUD", "JPY", "CHF", "SGD")


def chosen(world: World, entities: Collection[int] | None) -> list[LegalEntity]:
    return [e for e in world.legal_entities if entities is None or e.id in entities]


def subsidiary_ids(world: World, entities: Collection[int] | None) -> dict[int, str]:
    """Legal entity id → subsidiary internal id, numbered in the world's order."""
    return {e.id: str(n) for n, e in enumerate(chosen(world, entities), start=1)}


def currencies(world: World) -> dict[str, str]:
    """Currency internal id → symbol: the usual ones, then any other the world uses."""
    used = {e.currency for e in world.legal_entities} | {c.currency for c in world.customers}
    symbols = [*KNOWN_CURRENCIES, *sorted(used - set(KNOWN_CURRENCIES))]
    return {str(n): symbol for n, symbol in enumerate(symbols, start=1)}


def project(
    world: World, entities: Collection[int] | None, now: Callable[[], datetime]
) -> tuple[Books, dict[int, str]]:
    """The account's books for the chosen entities, and legal entity id → subsidiary id."""
    ids = subsidiary_ids(world, entities)
    money = currencies(world)
    currency_id = {symbol: key for key, symbol in money.items()}
    subsidiaries = {ids[e.id]: (e.name, currency_id[e.currency]) for e in chosen(world, entities)}
    books = Books(
        subsidiaries=subsidiaries,
        currencies=money,
        items=dict([SERVICE_ITEM]),
        now=now,
    )
    customers: dict[int, str] = {}
    for c in world.customers:
        if c.legal_entity_id in ids:
            body = {
                "companyName": c.name,
                "entityId": c.code,
                "subsidiary": {"id": ids[c.legal_entity_id]},
                "currency": {"id": currency_id[c.currency]},
            }
            customers[c.id], _ = books.save("customer", body, stamp=c.updated_at)
    _history(world, books, customers)
    return books, ids


def _history(world: World, books: Books, customers: dict[int, str]) -> None:
    invoices: dict[int, str] = {}
    for invoice in world.invoices:
        if invoice.customer_id not in customers:
            continue
        body: dict[str, Any] = {
            "entity": {"id": customers[invoice.customer_id]},
            "tranId": invoice.number,
            "tranDate": invoice.issue_date.isoformat(),
            "dueDate": invoice.due_date.isoformat(),
            "memo": f"{invoice.period_start:%Y-%m} services",
            "item": {"items": [_line(line) for line in invoice.lines]},
        }
        invoices[invoice.id], _ = books.save("invoice", body, stamp=invoice.updated_at)
    for note in world.credit_notes:
        if note.invoice_id not in invoices:
            continue
        target = books.records["invoice"][invoices[note.invoice_id]]
        body = {
            "entity": target["entity"],
            "tranId": f"CN-{note.id:05d}",
            "tranDate": note.issued_on.isoformat(),
            "memo": f"{note.reason.replace('_', '-')} {target['tranId']}",
            "item": {
                "items": [{"item": {"id": SERVICE_ITEM[0]}, "quantity": 1, "rate": note.amount}]
            },
        }
        memo_id, _ = books.save("creditMemo", body, stamp=note.updated_at)
        line = {"doc": {"id": target["id"]}, "apply": True, "amount": note.amount}
        books.apply("creditMemo", memo_id, [line], note.updated_at)
    for payment in world.payments:
        if payment.invoice_id in invoices:
            books.pay(invoices[payment.invoice_id], payment.amount, payment.paid_on,
                      payment.updated_at)  # fmt: skip


def _line(line: Any) -> dict[str, Any]:
    return {
        "item": {"id": SERVICE_ITEM[0]},
        "description": line.description,
        "quantity": line.quantity,
        "rate": line.unit_amount,
        "amount": line.amount,
    }


__all__ = ["SERVICE_ITEM", "currencies", "project", "subsidiary_ids"]
