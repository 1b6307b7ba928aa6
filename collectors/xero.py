"""Xero Accounting: contacts and sales invoices (ACCREC), per tenant (legal entity).

Auth is OAuth2 client credentials (a Xero custom connection) with the token fetched and refreshed
inside an ``httpx.Auth``; every accounting call carries ``xero-tenant-id``. Writes carry an
``Idempotency-Key`` so that a retried POST whose first reply was lost cannot create a second
invoice; before re-sending we can also look an invoice up by its number. Dates arrive as MS-JSON
(``/Date(1539993600000+0000)/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from collectors.auth import OAuth2ClientCredentials
from collectors.entities import Invoice
from collectors.errors import AuthError, RecordError
from collectors.http import DEFAULT_POLICY, RetryPolicy, Stream, call, decode, make_client, pages
from collectors.paging import PageNumber

VENDOR = "xero"
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


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


STREAMS = {
    "contacts": Stream(
        "contacts",
        "/Contacts",
        "Contacts",
        PageNumber("Contacts"),
        key="ContactID",
        cursor="UpdatedDateUTC",
    ),
    "invoices": Stream(
        "invoices",
        "/Invoices",
        "Invoices",
        PageNumber("Invoices"),
        key="InvoiceID",
        cursor="UpdatedDateUTC",
    ),
}


@dataclass(frozen=True)
class PostedInvoice:
    """What Xero made of one invoice we sent."""

    invoice_id: str
    number: str
    status: str
    total: Decimal
    amount_due: Decimal


class XeroConnector:
    """Reads contacts and invoices, creates contacts, posts sales invoices."""

    name = VENDOR
    streams = STREAMS

    def __init__(
        self,
        settings: XeroSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._policy = policy
        self._auth = OAuth2ClientCredentials(
            vendor=VENDOR,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scope=settings.scopes,
        )

    def client(self) -> httpx.Client:
        return make_client(
            self.settings.base_url,
            auth=self._auth,
            transport=self._transport,
            timeout=self.settings.timeout_seconds,
        )

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
        headers = {"xero-tenant-id": tenant}
        if since is not None:
            headers["If-Modified-Since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return pages(
            client,
            self.streams[stream],
            {"page": "1"},
            vendor=VENDOR,
            headers=headers,
            policy=self._policy,
        )

    def find_invoice(self, client: httpx.Client, tenant: str, number: str) -> PostedInvoice | None:
        """The invoice with this number, if Xero has one (to resolve an uncertain delivery)."""
        response = call(
            client,
            "GET",
            "Invoices",
            vendor=VENDOR,
            route="/Invoices",
            params={"InvoiceNumbers": number},
            headers={"xero-tenant-id": tenant},
            policy=self._policy,
        )
        found = decode(response, vendor=VENDOR).get("Invoices") or []
        live = [i for i in found if i.get("Status") not in ("DELETED", "VOIDED")]
        return _posted(live[0]) if live else None

    def find_contact(self, client: httpx.Client, tenant: str, name: str) -> str | None:
        """The ContactID of the active contact with exactly this name, if any."""
        escaped = name.replace('"', '\\"')
        response = call(
            client,
            "GET",
            "Contacts",
            vendor=VENDOR,
            route="/Contacts",
            params={"where": f'Name=="{escaped}"'},
            headers={"xero-tenant-id": tenant},
            policy=self._policy,
        )
        for contact in decode(response, vendor=VENDOR).get("Contacts") or []:
            if contact.get("Name", "").casefold() == name.casefold():
                return str(contact["ContactID"])
        return None

    def create_contact(
        self, client: httpx.Client, tenant: str, *, name: str, currency: str, key: str
    ) -> str:
        body = {"Contacts": [{"Name": name, "DefaultCurrency": currency, "IsCustomer": True}]}
        response = call(
            client,
            "PUT",
            "Contacts",
            vendor=VENDOR,
            route="/Contacts",
            json=body,
            headers={"xero-tenant-id": tenant, "Idempotency-Key": key},
            policy=self._policy,
        )
        return str(decode(response, vendor=VENDOR)["Contacts"][0]["ContactID"])

    def post_invoice(
        self, client: httpx.Client, tenant: str, body: dict[str, Any], *, key: str
    ) -> PostedInvoice:
        """Create one invoice. A validation refusal raises ``RecordError`` with Xero's reasons."""
        response = call(
            client,
            "PUT",
            "Invoices",
            vendor=VENDOR,
            route="/Invoices",
            params={"summarizeErrors": "false"},
            json={"Invoices": [body]},
            headers={"xero-tenant-id": tenant, "Idempotency-Key": key[:128]},
            policy=self._policy,
        )
        element = decode(response, vendor=VENDOR)["Invoices"][0]
        if element.get("HasErrors") or element.get("ValidationErrors"):
            reasons = "; ".join(e.get("Message", "") for e in element.get("ValidationErrors", []))
            raise RecordError(
                f"xero refused invoice {body.get('InvoiceNumber')}: {reasons}",
                vendor=VENDOR,
                status=response.status_code,
                details=reasons,
            )
        return _posted(element)


def _posted(element: dict[str, Any]) -> PostedInvoice:
    return PostedInvoice(
        invoice_id=str(element["InvoiceID"]),
        number=str(element.get("InvoiceNumber", "")),
        status=str(element.get("Status", "")),
        total=Decimal(str(element.get("Total", 0))),
        amount_due=Decimal(str(element.get("AmountDue", 0))),
    )


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
        "LineItems": [
            {
                "Description": line.description,
                "Quantity": float(line.quantity),
                "UnitAmount": float(line.unit_amount),
                "AccountCode": account_code,
            }
            for line in invoice.lines
        ],
    }


def parse_ms_date(value: str | None) -> datetime | None:
    """``/Date(1539993600000+0000)/`` as an aware UTC datetime."""
    match = _MS_DATE.fullmatch(value or "")
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
