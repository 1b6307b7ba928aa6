"""One NetSuite account's records: customers, invoices, credit memos and customer payments.

Internal ids are numbers written as text, one sequence for entities and one for transactions
(as NetSuite numbers them). An external id is unique per record type: ``upsert`` by it creates
the record when missing and updates it when present (erps.md §3.8). Settlement is derived, never
stored twice: a credit memo's or payment's ``apply`` lines say how much of which invoice it
settles, and an invoice's ``amountRemaining`` is its total less everything applied to it; its
``status`` is A (Open) while something remains and B (Paid In Full) after; a credit memo is A
(Open) while credit is left and B (Fully Applied) after (letters [3rd-party], erps.md §3.3).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.clock import utc_text
from sandbox.vendors.netsuite_documents import (
    Account,
    Record,
    Refused,
    customer,
    invalid,
    transaction,
)

TYPES = ("customer", "invoice", "creditMemo", "customerPayment")
TRANSACTION_TYPES = {"invoice": "CustInvc", "creditMemo": "CustCred", "customerPayment": "CustPymt"}
_STATUS = {
    "invoice": {True: ("A", "Open"), False: ("B", "Paid In Full")},
    "creditMemo": {True: ("A", "Open"), False: ("B", "Fully Applied")},
}
_BUILD: dict[str, Callable[[Account, Mapping[str, Any], Record | None], Record]] = {
    "customer": customer,
    "invoice": transaction,
    "creditMemo": transaction,
}


class Books:
    """The account's records by type and id; every method is thread-safe."""

    def __init__(
        self,
        *,
        subsidiaries: Mapping[str, tuple[str, str]],
        currencies: Mapping[str, str],
        items: Mapping[str, str],
        now: Callable[[], datetime],
    ) -> None:
        self.subsidiaries = dict(subsidiaries)
        self.currencies = dict(currencies)
        self.items = dict(items)
        self._now = now
        self.records: dict[str, dict[str, Record]] = {t: {} for t in TYPES}
        self._external: dict[tuple[str, str], str] = {}
        self._applied: dict[str, dict[str, Decimal]] = {}  # source txn id → invoice id → amount
        self._sequence = {"entity": 100, "transaction": 1000}
        self.lock = threading.RLock()

    def account(self) -> Account:
        return Account(
            self.subsidiaries,
            self.currencies,
            self.items,
            self.records["customer"],
            self._now().astimezone(UTC).date(),
        )

    def _new_id(self, record_type: str) -> str:
        sequence = "entity" if record_type == "customer" else "transaction"
        self._sequence[sequence] += 1
        return str(self._sequence[sequence])

    # --- writes ---------------------------------------------------------------------------

    def save(
        self,
        record_type: str,
        body: Mapping[str, Any],
        *,
        external_id: str | None = None,
        record_id: str | None = None,
        stamp: datetime | None = None,
    ) -> tuple[str, bool]:
        """Create, or update the record with this internal or external id; ``(id, created)``."""
        with self.lock:
            if record_type not in _BUILD:
                raise Refused("INVALID_RCRD_TYPE", f"Record type {record_type} cannot be saved.")
            if record_id is not None and record_id not in self.records[record_type]:
                raise Refused("NONEXISTENT_ID", "Record does not exist.", status=404)
            eid = external_id or body.get("externalId")
            known_id = record_id or (self._external.get((record_type, str(eid))) if eid else None)
            known = self.records[record_type].get(known_id or "")
            fields = _BUILD[record_type](self.account(), body, known)
            if known_id is None:
                known_id = self._new_id(record_type)
            if record_type != "customer":
                if fields["total"] < self._applied_to(known_id):
                    raise invalid(fields["total"], "item")
                fields["tranId"] = fields["tranId"] or f"{TRANSACTION_TYPES[record_type]}{known_id}"
            record_id = known_id
            record = {**(known or {}), **fields, "id": record_id}
            if eid:
                record["externalId"] = str(eid)
                self._external[(record_type, str(eid))] = record_id
            record.setdefault("createdDate", utc_text(stamp or self._now()))
            self.records[record_type][record_id] = record
            self._settle(record_type, record_id, stamp)
            return record_id, known is None

    def apply(
        self, source_type: str, source_id: str, lines: list[Any], stamp: datetime | None = None
    ) -> None:
        """Set the ``apply`` lines of a credit memo or payment: each ``{"doc": {"id"}, "apply",
        "amount"}`` sets (not adds) what this document settles of that invoice."""
        with self.lock:
            source = self.records[source_type].get(source_id)
            if source is None:
                raise Refused("NONEXISTENT_ID", "Record does not exist.", status=404)
            wanted = dict(self._applied.get(source_id, {}))
            for n, line in enumerate(lines):
                doc, amount = self._application(source, line, f"apply.items[{n}]")
                if amount:
                    wanted[doc] = amount
                else:
                    wanted.pop(doc, None)
            for doc, amount in wanted.items():
                other = self._applied_to(doc) - self._applied.get(source_id, {}).get(doc, 0)
                if amount > self.records["invoice"][doc]["total"] - other:
                    raise invalid(amount, "apply.amount")
            if sum(wanted.values(), Decimal(0)) > source["total"]:
                raise invalid(sum(wanted.values()), "apply.amount")
            self._applied[source_id] = wanted
            for doc in {*wanted, *self._applied_before(source)}:
                self._settle("invoice", doc, stamp)
            self._settle(source_type, source_id, stamp)

    def _application(self, source: Record, line: Any, path: str) -> tuple[str, Decimal]:
        if not isinstance(line, dict) or not isinstance(line.get("doc"), dict):
            raise invalid(line, path)
        doc = str(line["doc"].get("id"))
        invoice = self.records["invoice"].get(doc)
        if invoice is None or invoice["entity"]["id"] != _buyer(source):
            raise invalid(doc, f"{path}.doc")
        if line.get("apply") is False:
            return doc, Decimal(0)
        amount = Decimal(str(line.get("amount", invoice["amountRemaining"])))
        if amount <= 0:
            raise invalid(amount, f"{path}.amount")
        return doc, amount.quantize(Decimal("0.01"))

    def _applied_before(self, source: Record) -> list[str]:
        return [str(line["doc"]["id"]) for line in source.get("apply", {}).get("items", [])]

    def _applied_to(self, invoice_id: str) -> Decimal:
        return sum(
            (lines.get(invoice_id, Decimal(0)) for lines in self._applied.values()), Decimal(0)
        )

    def pay(self, invoice_id: str, amount: Decimal, on: date, stamp: datetime) -> str:
        """A customer payment of ``amount`` on ``on``, applied to the invoice; its id."""
        with self.lock:
            invoice = self.records["invoice"].get(invoice_id)
            if invoice is None:
                raise KeyError(f"no invoice {invoice_id}")
            if amount <= 0 or amount > invoice["amountRemaining"]:
                raise ValueError(f"cannot pay {amount} of {invoice['amountRemaining']} due")
            payment_id = self._new_id("customerPayment")
            self.records["customerPayment"][payment_id] = {
                "id": payment_id,
                "tranId": f"PYMT{payment_id}",
                "customer": invoice["entity"],
                "subsidiary": invoice["subsidiary"],
                "currency": invoice["currency"],
                "tranDate": on.isoformat(),
                "total": amount,
                "payment": amount,
                "createdDate": utc_text(stamp),
            }
            line = {"doc": {"id": invoice_id}, "apply": True, "amount": amount}
            self.apply("customerPayment", payment_id, [line], stamp)
            return payment_id

    def _settle(self, record_type: str, record_id: str, stamp: datetime | None) -> None:
        """Recompute what is settled of one record, and stamp it changed."""
        record = self.records[record_type][record_id]
        if record_type == "invoice":
            remaining = record["total"] - self._applied_to(record_id)
            record["amountRemaining"] = remaining
            record["amountPaid"] = record["total"] - remaining
            record["status"] = _status(record_type, remaining > 0)
        elif record_type in ("creditMemo", "customerPayment"):
            lines = self._applied.get(record_id, {})
            applied = sum(lines.values(), Decimal(0))
            record["applied"], record["unapplied"] = applied, record["total"] - applied
            record["apply"] = {
                "items": [
                    {
                        "doc": {"id": doc, "refName": self.records["invoice"][doc]["tranId"]},
                        "apply": True,
                        "amount": amount,
                        "refNum": self.records["invoice"][doc]["tranId"],
                        "type": "Invoice",
                    }
                    for doc, amount in lines.items()
                ]
            }
            if record_type == "creditMemo":
                record["status"] = _status(record_type, record["unapplied"] > 0)
        record["lastModifiedDate"] = utc_text(stamp or self._now())

    # --- reads ----------------------------------------------------------------------------

    def get(self, record_type: str, record_id: str) -> Record | None:
        with self.lock:
            record = self.records[record_type].get(record_id)
            return None if record is None else dict(record)

    def by_external(self, record_type: str, external_id: str) -> str | None:
        with self.lock:
            return self._external.get((record_type, external_id))

    def all(self, record_type: str) -> list[Record]:
        with self.lock:
            return [dict(r) for r in self.records[record_type].values()]

    def tables(self) -> dict[str, Callable[[], list[dict[str, Any]]]]:
        """The SuiteQL tables over these records (lower-case columns, ids as text)."""
        return {
            "subsidiary": self._subsidiary_rows,
            "currency": lambda: [
                {"id": k, "symbol": v, "name": v} for k, v in self.currencies.items()
            ],
            "customer": self._customer_rows,
            "transaction": self._transaction_rows,
        }

    def _subsidiary_rows(self) -> list[dict[str, Any]]:
        return [
            {"id": k, "name": name, "currency": currency, "isinactive": "F"}
            for k, (name, currency) in self.subsidiaries.items()
        ]

    def _customer_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": c["id"],
                "entityid": c["entityId"],
                "companyname": c["companyName"],
                "externalid": c.get("externalId"),
                "subsidiary": c["subsidiary"]["id"],
                "currency": c["currency"]["id"],
                "isinactive": "T" if c["isInactive"] else "F",
            }
            for c in self.all("customer")
        ]

    def _transaction_rows(self) -> list[dict[str, Any]]:
        rows = []
        for record_type, code in TRANSACTION_TYPES.items():
            for t in self.all(record_type):
                remaining = t.get("amountRemaining", t.get("unapplied"))
                rows.append(
                    {
                        "id": t["id"],
                        "type": code,
                        "tranid": t["tranId"],
                        "externalid": t.get("externalId"),
                        "entity": _buyer(t),
                        "subsidiary": t["subsidiary"]["id"],
                        "currency": t["currency"]["id"],
                        "trandate": _us_date(t["tranDate"]),
                        "status": (t.get("status") or {}).get("id"),
                        "foreigntotal": t["total"],
                        "foreignamountremaining": remaining,
                        "voided": "F",
                    }
                )
        return rows


def _buyer(record: Record) -> str:
    return str((record.get("entity") or record.get("customer") or {}).get("id"))


def _status(record_type: str, open_: bool) -> dict[str, str]:
    letter, name = _STATUS[record_type][open_]
    return {"id": letter, "refName": name}


def _us_date(iso: str) -> str:
    """A date as SuiteQL returns it in a US-format account (M/D/YYYY)."""
    d = date.fromisoformat(iso)
    return f"{d.month}/{d.day}/{d.year}"


__all__ = ["TRANSACTION_TYPES", "TYPES", "Books"]
