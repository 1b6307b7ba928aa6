"""One Xero organisation's contacts and invoices: batch saves and filtered reads.

A batch save validates every element first. With ``summarizeErrors`` on, one invalid element
refuses the whole batch and nothing is saved; with it off, valid elements are saved and invalid
ones come back with their ``ValidationErrors``.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from sandbox.vendors import xero_invoices
from sandbox.vendors.xero_batches import INVOICE, BatchSave
from sandbox.vendors.xero_dates import ms_datetime

Record = dict[str, Any]
_NAME_EQUALS = re.compile(r'\s*Name\s*==\s*"((?:[^"\\]|\\.)*)"\s*')


class Books:
    """Contacts and invoices of one tenant; every method is thread-safe."""

    def __init__(
        self,
        contacts: list[Record],
        *,
        now: Callable[[], datetime],
        created: datetime,
        base_currency: str = "USD",
    ) -> None:
        self._now = now
        self.base_currency = base_currency
        self.contacts: dict[str, Record] = {}
        self.invoices: dict[str, Record] = {}
        self.updated: dict[str, datetime] = {}
        self.lock = threading.RLock()
        self._issued = 0
        self._save_invoices = BatchSave(INVOICE, self.invoices, self._validate, self._apply)
        for seed in contacts:
            self._store_contact(_contact_record(seed, seed["ContactID"], created), created)

    def _stamp(self) -> datetime:
        return self._now().astimezone(UTC)

    def load_invoices(self, invoices: list[tuple[Record, datetime]]) -> None:
        """Invoices the organisation already holds (history), with when each last changed."""
        with self.lock:
            for record, changed in invoices:
                self.invoices[record["InvoiceID"]] = record
                self.updated[record["InvoiceID"]] = changed

    # --- invoices ---------------------------------------------------------------------------

    def save_invoices(
        self,
        elements: list[Any],
        *,
        create_only: bool,
        summarize: bool,
        invoice_id: str | None = None,
    ) -> tuple[bool, list[Record]]:
        """Validate then save; ``(False, refused elements)`` when summarising refuses all."""
        with self.lock:
            return self._save_invoices(
                elements, create_only=create_only, summarize=summarize, path_id=invoice_id
            )

    def _validate(self, proposal: Record, taken: set[str], existing: Record | None) -> list[str]:
        status = None if existing is None else existing["Status"]
        return xero_invoices.validate(proposal, self.contacts, taken, status)

    def _apply(self, proposal: Record, target: str | None) -> Record:
        stamp = self._stamp()
        number = str(proposal.get("InvoiceNumber") or "")
        if not number and proposal["Type"] == "ACCREC":
            number = self._next_number()
        contact = self.contacts[proposal["Contact"]["ContactID"]]
        record = xero_invoices.build(
            proposal,
            contact,
            invoice_id=target,
            number=number,
            today=stamp.date(),
            now=stamp,
            base_currency=self.base_currency,
        )
        self.invoices[record["InvoiceID"]] = record
        self.updated[record["InvoiceID"]] = stamp
        return {**record, "StatusAttributeString": "OK"}

    def _next_number(self) -> str:
        taken = {i["InvoiceNumber"] for i in self.invoices.values()}
        while True:
            self._issued += 1
            number = f"INV-{self._issued:04d}"
            if number not in taken:
                return number

    def find_invoices(
        self,
        *,
        ids: Collection[str] = (),
        numbers: Collection[str] = (),
        statuses: Collection[str] = (),
        contact_ids: Collection[str] = (),
        since: datetime | None = None,
    ) -> list[Record]:
        """Invoices in creation order that pass every given filter."""
        with self.lock:
            return [
                dict(i)
                for i in self.invoices.values()
                if (not ids or i["InvoiceID"] in ids)
                and (not numbers or i["InvoiceNumber"] in numbers)
                and (not statuses or i["Status"] in statuses)
                and (not contact_ids or i["Contact"]["ContactID"] in contact_ids)
                and (since is None or self.updated[i["InvoiceID"]] >= since)
            ]

    # --- contacts ---------------------------------------------------------------------------

    def save_contacts(
        self, elements: list[Any], *, create_only: bool, summarize: bool
    ) -> tuple[bool, list[Record]]:
        with self.lock:
            plans = [(e, self._contact_problems(e, create_only)) for e in elements]
            if summarize and any(p for _, p in plans):
                return False, [xero_invoices.refused(e, p) for e, p in plans if p]
            results = []
            for element, problems in plans:
                if problems:
                    results.append(xero_invoices.refused(element, problems))
                    continue
                stamp = self._stamp()
                known = self.contacts.get(str(element.get("ContactID") or ""), {})
                contact_id = known.get("ContactID") or str(uuid.uuid4())
                record = _contact_record({**known, **element}, contact_id, stamp)
                self._store_contact(record, stamp)
                results.append(record)
            return True, results

    def _contact_problems(self, element: Any, create_only: bool) -> list[str]:
        if not isinstance(element, dict):
            return ["Each contact must be an object"]
        contact_id = element.get("ContactID")
        if contact_id and (create_only or contact_id not in self.contacts):
            return [
                f"Contact {contact_id} could not be found"
                if not create_only
                else "A contact cannot be updated with PUT; use POST"
            ]
        name = str(
            element.get("Name") or self.contacts.get(contact_id or "", {}).get("Name") or ""
        ).strip()
        if not name:
            return ["The contact name must be specified"]
        clash = [
            c
            for c in self.contacts.values()
            if c["ContactStatus"] == "ACTIVE"
            and c["Name"].casefold() == name.casefold()
            and c["ContactID"] != contact_id
        ]
        if clash:
            return [
                f"The contact name {name} is already assigned to another contact. The "
                "contact name must be unique across all active contacts."
            ]
        return []

    def _store_contact(self, record: Record, stamp: datetime) -> None:
        self.contacts[record["ContactID"]] = record
        self.updated[record["ContactID"]] = stamp

    def find_contacts(
        self,
        *,
        ids: Collection[str] = (),
        where: str | None = None,
        since: datetime | None = None,
        include_archived: bool = False,
    ) -> list[Record]:
        name = _name_filter(where)
        with self.lock:
            return [
                dict(c)
                for c in self.contacts.values()
                if (not ids or c["ContactID"] in ids)
                and (name is None or c["Name"].casefold() == name.casefold())
                and (include_archived or ids or c["ContactStatus"] != "ARCHIVED")
                and (since is None or self.updated[c["ContactID"]] >= since)
            ]


def _name_filter(where: str | None) -> str | None:
    """The name in ``Name=="…"``, the one ``where`` expression the sandbox understands."""
    match = _NAME_EQUALS.fullmatch(where or "")
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else None


def _contact_record(fields: Record, contact_id: str, stamp: datetime) -> Record:
    record: Record = {
        "ContactID": contact_id,
        "ContactStatus": fields.get("ContactStatus", "ACTIVE"),
        "Name": str(fields["Name"]).strip(),
        "EmailAddress": fields.get("EmailAddress", ""),
        "IsSupplier": bool(fields.get("IsSupplier", False)),
        "IsCustomer": bool(fields.get("IsCustomer", False)),
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "UpdatedDateUTC": ms_datetime(stamp),
        "HasValidationErrors": False,
    }
    for optional in ("DefaultCurrency", "FirstName", "LastName", "ContactNumber", "AccountNumber"):
        if fields.get(optional):
            record[optional] = fields[optional]
    return record
