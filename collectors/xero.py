"""Xero Accounting: contacts, sales invoices (ACCREC), credit notes and payments, per tenant.

Auth is OAuth2 client credentials (a Xero custom connection) with the token fetched and refreshed
inside an ``httpx.Auth``; every accounting call carries ``xero-tenant-id`` and is paced under that
tenant's limits (60 calls a minute, 5 in flight, 5,000 a day). Reads are incremental with
``If-Modified-Since`` and page by number; dates arrive as MS-JSON (``/Date(1539993600000+0000)/``).

Writes go in batches of up to 50 with ``summarizeErrors=false``, so one invalid invoice comes back
with its own ``ValidationErrors`` while the rest of its batch is created. Each request carries one
``Idempotency-Key`` derived from the keys of the documents in it: a retried batch is the same
request, and Xero replays its first reply instead of creating the documents twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr

from collectors.auth import OAuth2ClientCredentials
from collectors.connector import Connector
from collectors.entities import Customer, Invoice, InvoiceLine, Payment, canonical_id
from collectors.errors import AuthError, RecordError, SchemaDriftError
from collectors.http import (
    DEFAULT_POLICY,
    RetryPolicy,
    Stream,
    call,
    call_json,
    decode,
    pages,
)
from collectors.pacing import Limit, Pacer, PacerPool
from collectors.paging import PageNumber

VENDOR = "xero"
MAX_BATCH = 50
MAX_IDEMPOTENCY_KEY = 128
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")
T = TypeVar("T")


class XeroSettings(BaseModel):
    """One Xero custom connection (client credentials) and the tenant it posts to."""

    base_url: str = "http://127.0.0.1:8712/api.xro/2.0"
    token_url: str = "http://127.0.0.1:8712/connect/token"
    connections_url: str = "http://127.0.0.1:8712/connections"
    client_id: str = "sandbox-xero-client"
    client_secret: SecretStr = SecretStr("sandbox-xero-secret")
    scopes: str = "accounting.transactions accounting.contacts"
    tenant_id: str | None = None
    sales_account_code: str = "200"
    timeout_seconds: float = 30.0
    page_size: int = 100
    batch_size: int = MAX_BATCH
    requests_per_minute: int = 60
    requests_per_day: int = 5000
    concurrent_requests: int = 5


def _stream(name: str, path: str, key: str) -> Stream:
    return Stream(
        name, path, path.strip("/"), PageNumber(path.strip("/")), key=key, cursor="UpdatedDateUTC"
    )


STREAMS = {
    "contacts": _stream("contacts", "/Contacts", "ContactID"),
    "invoices": _stream("invoices", "/Invoices", "InvoiceID"),
    "credit_notes": _stream("credit_notes", "/CreditNotes", "CreditNoteID"),
    "payments": _stream("payments", "/Payments", "PaymentID"),
}


def xero_pacer(
    tenant: str, settings: XeroSettings | None = None, *, time_scale: float = 1.0
) -> Pacer:
    """One tenant's published limits: 60 a minute, 5,000 a day, 5 requests in flight."""
    s = settings or XeroSettings()
    return Pacer(
        [Limit(s.requests_per_minute, 60.0), Limit(s.requests_per_day, 86_400.0)],
        concurrency=s.concurrent_requests,
        time_scale=time_scale,
        name=f"{VENDOR} tenant {tenant}",
    )


@dataclass(frozen=True)
class PostedInvoice:
    """What Xero made of one invoice we sent."""

    invoice_id: str
    number: str
    status: str
    total: Decimal
    amount_due: Decimal


@dataclass(frozen=True)
class PostedCreditNote:
    """What Xero made of one credit note we sent."""

    credit_note_id: str
    number: str
    status: str
    total: Decimal


class XeroConnector(Connector[XeroSettings]):
    """Reads contacts, invoices, credit notes and payments; creates contacts; posts invoices and
    credit notes in batches."""

    name = VENDOR
    streams = STREAMS

    def __init__(
        self,
        settings: XeroSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        pacers: PacerPool | None = None,
    ) -> None:
        super().__init__(settings, transport=transport, policy=policy)
        # Xero's limits are per tenant (organisation): one pacer each
        self.pacers = pacers or PacerPool(lambda tenant: xero_pacer(tenant, settings))
        self._auth = OAuth2ClientCredentials(
            vendor=VENDOR,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scope=settings.scopes,
        )

    def default_pacer(self, settings: XeroSettings) -> Pacer | None:
        return None  # Xero's limits are per tenant: see ``pacers``

    def auth(self) -> httpx.Auth:
        return self._auth

    def _call(self, client: httpx.Client, tenant: str, method: str, path: str, **kw: Any) -> Any:
        """One paced accounting call for ``tenant``; the decoded body."""
        headers = {"xero-tenant-id": tenant, **kw.pop("headers", {})}
        _, body = call_json(
            client,
            method,
            path.lstrip("/"),
            vendor=VENDOR,
            route=path,
            policy=self._policy,
            pacer=self.pacers.get(tenant),
            headers=headers,
            **kw,
        )
        return body

    def tenant_id(self, client: httpx.Client) -> str:
        """The configured tenant, or the first organisation this connection may reach."""
        if self.settings.tenant_id:
            return self.settings.tenant_id
        response = call(
            client,
            "GET",
            self.settings.connections_url,
            vendor=VENDOR,
            route="/connections",
            policy=self._policy,
        )
        tenants = [
            c for c in decode(response, vendor=VENDOR) if c.get("tenantType") == "ORGANISATION"
        ]
        if not tenants:
            raise AuthError(
                "xero connection has no organisation; authorise one in Xero", vendor=VENDOR
            )
        return str(tenants[0]["tenantId"])

    def pages(
        self, client: httpx.Client, stream: str, tenant: str, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw pages of ``stream`` modified since ``since`` (inclusive; all when ``None``)."""
        headers = {"xero-tenant-id": tenant}
        if since is not None:
            headers["If-Modified-Since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        size = str(self.settings.page_size)
        return pages(
            client,
            self.streams[stream],
            {"page": "1", "pageSize": size},
            vendor=VENDOR,
            headers=headers,
            policy=self._policy,
            pacer=self.pacers.get(tenant),
        )

    def find_invoice(self, client: httpx.Client, tenant: str, number: str) -> PostedInvoice | None:
        """The invoice with this number, if Xero has one (to resolve an uncertain delivery)."""
        return self.find_invoices(client, tenant, [number]).get(number)

    def find_invoices(
        self, client: httpx.Client, tenant: str, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        """The live (not deleted or voided) invoices with these numbers, one call per 50."""
        found: dict[str, PostedInvoice] = {}
        for chunk in _chunks(list(numbers), MAX_BATCH):
            body = self._call(
                client, tenant, "GET", "/Invoices", params={"InvoiceNumbers": ",".join(chunk)}
            )
            for element in body.get("Invoices") or []:
                if element.get("Status") not in ("DELETED", "VOIDED"):
                    posted = _posted(element)
                    found[posted.number] = posted
        return found

    def find_contact(self, client: httpx.Client, tenant: str, name: str) -> str | None:
        """The ContactID of the active contact with exactly this name, if any."""
        escaped = name.replace('"', '\\"')
        body = self._call(
            client, tenant, "GET", "/Contacts", params={"where": f'Name=="{escaped}"'}
        )
        for contact in body.get("Contacts") or []:
            if contact.get("Name", "").casefold() == name.casefold():
                return str(contact["ContactID"])
        return None

    def create_contact(
        self, client: httpx.Client, tenant: str, *, name: str, currency: str, key: str
    ) -> str:
        body = {"Contacts": [{"Name": name, "DefaultCurrency": currency, "IsCustomer": True}]}
        created = self._call(
            client, tenant, "PUT", "/Contacts", json=body, headers={"Idempotency-Key": key[:128]}
        )
        return str(created["Contacts"][0]["ContactID"])

    def post_invoice(
        self, client: httpx.Client, tenant: str, body: dict[str, Any], *, key: str
    ) -> PostedInvoice:
        """Create one invoice. A validation refusal raises ``RecordError`` with Xero's reasons."""
        (result,) = self.post_invoices(client, tenant, [(key, body)])
        if isinstance(result, RecordError):
            raise result
        return result

    def post_invoices(
        self, client: httpx.Client, tenant: str, invoices: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[PostedInvoice | RecordError]:
        """Create invoices, ``(key, body)`` each, in batches; one result per invoice, in order.

        A refused invoice is a ``RecordError`` carrying Xero's reasons (a ``SchemaDriftError``
        when the reply cannot be matched to it: its fate is then unknown). Transient and fatal
        failures of a whole batch raise, as ``call()`` does.
        """
        return self._put_batches(client, tenant, "Invoices", "InvoiceNumber", invoices, _posted)

    def post_credit_notes(
        self, client: httpx.Client, tenant: str, notes: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[PostedCreditNote | RecordError]:
        """Create credit notes (``PUT /CreditNotes``) in batches, as ``post_invoices`` does."""
        return self._put_batches(
            client, tenant, "CreditNotes", "CreditNoteNumber", notes, _posted_credit_note
        )

    def _put_batches(
        self,
        client: httpx.Client,
        tenant: str,
        collection: str,
        number_field: str,
        documents: Sequence[tuple[str, dict[str, Any]]],
        parse: Callable[[dict[str, Any]], T],
    ) -> list[T | RecordError]:
        results: list[T | RecordError] = []
        size = max(1, min(self.settings.batch_size, MAX_BATCH))
        for chunk in _chunks(list(documents), size):
            try:
                body = self._call(
                    client,
                    tenant,
                    "PUT",
                    f"/{collection}",
                    params={"summarizeErrors": "false"},
                    json={collection: [document for _, document in chunk]},
                    headers={"Idempotency-Key": batch_key([key for key, _ in chunk])},
                )
            except RecordError as refused:  # the request as a whole was refused
                results.extend(
                    self._after_refusal(
                        client, tenant, collection, number_field, chunk, parse, refused
                    )
                )
                continue
            elements = body.get(collection) if isinstance(body, dict) else None
            for (_, sent), element in zip(
                chunk, _match(elements, chunk, number_field), strict=True
            ):
                results.append(_outcome(sent, element, number_field, parse))
        return results

    def _after_refusal(
        self,
        client: httpx.Client,
        tenant: str,
        collection: str,
        number_field: str,
        chunk: list[tuple[str, dict[str, Any]]],
        parse: Callable[[dict[str, Any]], T],
        refused: RecordError,
    ) -> list[T | RecordError]:
        """A 400 for a whole batch saved nothing. The documents Xero named are refused with their
        reasons; the others were only held back by them, so they are sent again without them."""
        reasons = _reasons(refused, number_field)
        named = [str(doc.get(number_field)) in reasons for _, doc in chunk]
        if not any(named) or all(named):
            text = str(refused.details or refused)
            return [
                _refusal(
                    str(doc.get(number_field)),
                    reasons.get(str(doc.get(number_field)), text),
                    refused,
                )
                for _, doc in chunk
            ]
        innocent = [pair for pair, bad in zip(chunk, named, strict=True) if not bad]
        resent = iter(self._put_batches(client, tenant, collection, number_field, innocent, parse))
        return [
            _refusal(str(doc.get(number_field)), reasons[str(doc.get(number_field))], refused)
            if bad
            else next(resent)
            for (_, doc), bad in zip(chunk, named, strict=True)
        ]


def batch_key(keys: Sequence[str]) -> str:
    """The ``Idempotency-Key`` of a request carrying documents with these keys: a document's own
    key when it travels alone, else a digest of the batch (order does not matter)."""
    if len(keys) == 1:
        return keys[0][:MAX_IDEMPOTENCY_KEY]
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    return f"p2c-batch-{len(keys)}-{digest}"


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _match(
    elements: Any, chunk: list[tuple[str, dict[str, Any]]], number_field: str
) -> list[dict[str, Any] | None]:
    """The reply element for each document sent: by position, checked (or found) by number."""
    if not isinstance(elements, list):
        return [None] * len(chunk)
    by_number = {
        str(e.get(number_field)): e for e in elements if isinstance(e, dict) and e.get(number_field)
    }
    matched: list[dict[str, Any] | None] = []
    for i, (_, sent) in enumerate(chunk):
        number = sent.get(number_field)
        element = elements[i] if i < len(elements) and isinstance(elements[i], dict) else None
        if number and (element is None or element.get(number_field) != number):
            element = by_number.get(str(number))
        matched.append(element)
    return matched


def _outcome(
    sent: dict[str, Any],
    element: dict[str, Any] | None,
    number_field: str,
    parse: Callable[[dict[str, Any]], T],
) -> T | RecordError:
    number = sent.get(number_field)
    if element is None:
        return SchemaDriftError(
            f"xero reply has no element for {number}; whether it was created is unknown",
            vendor=VENDOR,
        )
    if element.get("HasErrors") or element.get("ValidationErrors"):
        reasons = "; ".join(e.get("Message", "") for e in element.get("ValidationErrors") or [])
        return RecordError(
            f"xero refused {number}: {reasons}", vendor=VENDOR, status=200, details=reasons
        )
    try:
        return parse(element)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return SchemaDriftError(
            f"xero reply for {number} cannot be read: {exc!r}", vendor=VENDOR, details=element
        )


def _reasons(refused: RecordError, number_field: str) -> dict[str, str]:
    """Xero's reasons per document number, from a 400's ``Elements``."""
    elements = refused.body.get("Elements") if isinstance(refused.body, dict) else None
    reasons: dict[str, str] = {}
    for element in elements if isinstance(elements, list) else []:
        if isinstance(element, dict) and element.get(number_field):
            messages = [v.get("Message", "") for v in element.get("ValidationErrors") or []]
            reasons[str(element[number_field])] = "; ".join(messages) or "refused"
    return reasons


def _refusal(number: str, text: str, refused: RecordError) -> RecordError:
    return RecordError(
        f"xero refused {number}: {text}", vendor=VENDOR, status=refused.status, details=text
    )


def _posted(element: dict[str, Any]) -> PostedInvoice:
    return PostedInvoice(
        invoice_id=str(element["InvoiceID"]),
        number=str(element.get("InvoiceNumber", "")),
        status=str(element.get("Status", "")),
        total=Decimal(str(element.get("Total", 0))),
        amount_due=Decimal(str(element.get("AmountDue", 0))),
    )


def _posted_credit_note(element: dict[str, Any]) -> PostedCreditNote:
    return PostedCreditNote(
        credit_note_id=str(element["CreditNoteID"]),
        number=str(element.get("CreditNoteNumber", "")),
        status=str(element.get("Status", "")),
        total=Decimal(str(element.get("Total", 0))),
    )


# --- what we send ------------------------------------------------------------------------------


def invoice_body(invoice: Invoice, *, contact_id: str, account_code: str) -> dict[str, Any]:
    """A canonical invoice as a Xero ACCREC invoice, authorised (awaiting payment)."""
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": invoice.number,
        "Reference": f"{invoice.period_start:%Y-%m} services",
        "Date": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "LineItems": _line_items(invoice.lines, account_code),
    }


def credit_note_body(
    *,
    number: str,
    contact_id: str,
    issued: date,
    currency: str,
    lines: Sequence[InvoiceLine],
    account_code: str,
    reference: str,
) -> dict[str, Any]:
    """A sales credit note (ACCRECCREDIT), authorised: the compensating document for time that
    changed after it was invoiced (a posted invoice is never edited)."""
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "CreditNoteNumber": number,
        "Reference": reference,
        "Date": issued.isoformat(),
        "CurrencyCode": currency,
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "LineItems": _line_items(lines, account_code),
    }


def _line_items(lines: Sequence[InvoiceLine], account_code: str) -> list[dict[str, Any]]:
    return [
        {
            "Description": line.description,
            "Quantity": float(line.quantity),
            "UnitAmount": float(line.unit_amount),
            "AccountCode": account_code,
        }
        for line in lines
    ]


# --- what we read: vendor → canonical ------------------------------------------------------------


def parse_ms_date(value: str | None) -> datetime | None:
    """``/Date(1539993600000+0000)/`` as an aware UTC datetime (the offset is informational:
    the milliseconds are already UTC)."""
    match = _MS_DATE.fullmatch(value or "")
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)


def _when(raw: dict[str, Any], field: str) -> datetime:
    moment = parse_ms_date(raw.get(field))
    if moment is None:
        raise SchemaDriftError(
            f"xero {field} {raw.get(field)!r} is not an MS-JSON date", vendor=VENDOR
        )
    return moment


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def to_customer(raw: dict[str, Any], *, base_currency: str = "USD") -> Customer:
    return Customer(
        id=canonical_id(VENDOR, "customer", raw["ContactID"]),
        source=VENDOR,
        source_id=str(raw["ContactID"]),
        updated_at=_when(raw, "UpdatedDateUTC"),
        name=raw["Name"],
        currency=raw.get("DefaultCurrency") or base_currency,
        active=raw.get("ContactStatus", "ACTIVE") == "ACTIVE",
    )


_INVOICE_STATUS = {
    "DRAFT": "draft",
    "SUBMITTED": "draft",
    "AUTHORISED": "posted",
    "PAID": "paid",
    "VOIDED": "voided",
    "DELETED": "voided",
}


def to_invoice(raw: dict[str, Any], *, base_currency: str = "USD") -> Invoice:
    """A Xero sales invoice as read back (status, amount due). Xero knows no contracts, so
    ``contract_id`` is empty: the engine links the invoice to ours by number."""
    issued = _when(raw, "Date").date()
    due = parse_ms_date(raw.get("DueDate"))
    lines = tuple(
        InvoiceLine(
            description=line.get("Description") or "(no description)",
            quantity=Decimal(str(line.get("Quantity", 0))),
            unit_amount=Decimal(str(line.get("UnitAmount", 0))),
            amount=_money(line.get("LineAmount", 0)),
        )
        for line in raw["LineItems"]
    )
    return Invoice(
        id=canonical_id(VENDOR, "invoice", raw["InvoiceID"]),
        source=VENDOR,
        source_id=str(raw["InvoiceID"]),
        updated_at=_when(raw, "UpdatedDateUTC"),
        number=str(raw.get("InvoiceNumber") or ""),
        customer_id=canonical_id(VENDOR, "customer", raw["Contact"]["ContactID"]),
        contract_id="",
        currency=raw.get("CurrencyCode") or base_currency,
        period_start=issued.replace(day=1),
        period_end=issued,
        issue_date=issued,
        due_date=due.date() if due else issued,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        status=_INVOICE_STATUS.get(str(raw.get("Status")), "draft"),
        amount_due=_money(raw.get("AmountDue", 0)),
    )


def to_payment(raw: dict[str, Any], *, base_currency: str = "USD") -> Payment:
    invoice = raw.get("Invoice") or {}
    return Payment(
        id=canonical_id(VENDOR, "payment", raw["PaymentID"]),
        source=VENDOR,
        source_id=str(raw["PaymentID"]),
        updated_at=_when(raw, "UpdatedDateUTC"),
        invoice_id=canonical_id(VENDOR, "invoice", invoice["InvoiceID"]),
        received_on=_when(raw, "Date").date(),
        amount=_money(raw["Amount"]),
        currency=invoice.get("CurrencyCode") or base_currency,
    )


def verify_webhook(headers: Mapping[str, str], body: bytes, key: SecretStr) -> bool:
    """Whether a delivery really comes from Xero: ``x-xero-signature`` must be
    base64(HMAC-SHA256(webhook key, raw body)). Answer 401 when it is not."""
    given = next((v for k, v in headers.items() if k.lower() == "x-xero-signature"), "")
    digest = hmac.new(key.get_secret_value().encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(given.encode(), base64.b64encode(digest))
