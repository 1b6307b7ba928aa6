"""The Xero connector: settings, auth, per-tenant pacing, reads and batched writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.auth import OAuth2ClientCredentials
from collectors.connector import Connector
from collectors.errors import AuthError, RecordError
from collectors.http import DEFAULT_POLICY, RetryPolicy, call_json
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Limit, Pacer, PacerPool
from collectors.paging import PageNumber
from collectors.streams import Stream, pages
from collectors.timestamps import utc_text
from collectors.xero.batches import (
    CREDIT_NOTES,
    INVOICES,
    MAX_BATCH,
    Batch,
    Kind,
    PostedCreditNote,
    PostedInvoice,
    _chunks,
    _posted,
    _posted_credit_note,
    batch_key,
    put_batches,
)
from collectors.xero.mapping import VENDOR

T = TypeVar("T")
TENANT_HEADER = "xero-tenant-id"


class XeroSettings(BaseModel):
    """One Xero custom connection (client credentials) and the organisations it posts to.

    ``tenants`` maps a legal entity (its name, as the CRM spells it) to the tenant id of its Xero
    organisation; an entity left out is matched to the organisation of the same name.
    ``tenant_id`` pins the default organisation (else the first one the connection reaches).
    """

    model_config = ConfigDict(extra="forbid")
    live_required: ClassVar[tuple[str, ...]] = (
        "base_url",
        "token_url",
        "connections_url",
        "client_id",
        "client_secret",
    )

    base_url: str = "http://127.0.0.1:8712/api.xro/2.0"
    token_url: str = "http://127.0.0.1:8712/connect/token"
    connections_url: str = "http://127.0.0.1:8712/connections"
    client_id: str = "sandbox-xero-client"
    client_secret: SecretStr = SecretStr("sandbox-xero-secret")
    scopes: str = "accounting.transactions accounting.contacts"
    webhook_key: SecretStr | None = None  # signs Xero's webhooks to us (none: not received)
    tenant_id: str | None = None
    tenants: dict[str, str] = Field(default_factory=dict)
    sales_account_code: str = "200"
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
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
class XeroTenant:
    """One organisation this connection may reach (``GET /connections``)."""

    tenant_id: str
    name: str


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

    def origins(self) -> list[str]:
        """Xero's identity server (the token) and the connections list live apart from the API."""
        return [self.settings.token_url, self.settings.connections_url]

    def pacer_for(self, request: httpx.Request) -> Pacer | None:
        """The pacer of the tenant the request names (none for the connections list)."""
        tenant = request.headers.get(TENANT_HEADER)
        return self.pacers.get(tenant) if tenant else None

    def _call(self, client: httpx.Client, tenant: str, method: str, path: str, **kw: Any) -> Any:
        """One accounting call for ``tenant`` (paced under its limits); the decoded body."""
        headers = {TENANT_HEADER: tenant, **kw.pop("headers", {})}
        return call_json(client, method, path.lstrip("/"), route=path, headers=headers, **kw)

    def tenant_id(self, client: httpx.Client) -> str:
        """The configured tenant, or the first organisation this connection may reach."""
        if self.settings.tenant_id:
            return self.settings.tenant_id
        return self.tenants(client)[0].tenant_id

    def tenants(self, client: httpx.Client) -> list[XeroTenant]:
        """Every organisation (tenant) this connection may reach, in Xero's order."""
        listed = call_json(client, "GET", self.settings.connections_url, route="/connections")
        tenants = [c for c in listed if c.get("tenantType") == "ORGANISATION"]
        if not tenants:
            raise AuthError(
                "xero connection has no organisation; authorise one in Xero", vendor=VENDOR
            )
        return [XeroTenant(str(t["tenantId"]), str(t.get("tenantName") or "")) for t in tenants]

    def pages(
        self, client: httpx.Client, stream: str, tenant: str, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw pages of ``stream`` modified since ``since`` (inclusive; all when ``None``)."""
        headers = {TENANT_HEADER: tenant}
        if since is not None:
            headers["If-Modified-Since"] = utc_text(since, offset="")
        params = {"page": "1", "pageSize": str(self.settings.page_size)}
        return pages(client, self.streams[stream], params, headers=headers)

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

    def find_credit_notes(
        self, client: httpx.Client, tenant: str, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        """The live credit notes with these numbers (one ``where`` query each: Xero's
        ``GET /CreditNotes`` has no list-of-numbers filter)."""
        found: dict[str, PostedCreditNote] = {}
        for number in numbers:
            escaped = number.replace('"', '\\"')
            body = self._call(
                client,
                tenant,
                "GET",
                "/CreditNotes",
                params={"where": f'CreditNoteNumber=="{escaped}"'},
            )
            for element in body.get("CreditNotes") or []:
                if element.get("Status") not in ("DELETED", "VOIDED"):
                    posted = _posted_credit_note(element)
                    if posted.number == number:
                        found[number] = posted
        return found

    def allocate_credit_note(
        self,
        client: httpx.Client,
        tenant: str,
        credit_note_id: str,
        *,
        invoice_id: str,
        amount: Decimal,
        on: date,
        key: str,
    ) -> Decimal:
        """Apply ``amount`` of a credit note to an invoice (``PUT …/Allocations``); the amount
        applied. A refusal (invoice paid, not enough due) raises ``RecordError``."""
        body = {
            "Allocations": [
                {
                    "Amount": float(amount),
                    "Date": on.isoformat(),
                    "Invoice": {"InvoiceID": invoice_id},
                }
            ]
        }
        reply = self._call(
            client,
            tenant,
            "PUT",
            f"/CreditNotes/{credit_note_id}/Allocations",
            params={"summarizeErrors": "false"},
            json=body,
            headers={"Idempotency-Key": key[:128]},
        )
        (element,) = reply.get("Allocations") or [None]
        if not isinstance(element, dict) or element.get("ValidationErrors"):
            errors = element.get("ValidationErrors") if isinstance(element, dict) else None
            reasons = "; ".join(e.get("Message", "") for e in errors or []) or "no allocation"
            raise RecordError(
                f"xero refused the allocation: {reasons}",
                vendor=VENDOR,
                status=200,
                details=reasons,
            )
        return Decimal(str(element.get("Amount", amount)))

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
        return self._put_batches(client, tenant, INVOICES, invoices)

    def post_credit_notes(
        self, client: httpx.Client, tenant: str, notes: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[PostedCreditNote | RecordError]:
        """Create credit notes (``PUT /CreditNotes``) in batches, as ``post_invoices`` does."""
        return self._put_batches(client, tenant, CREDIT_NOTES, notes)

    def _put_batches(
        self,
        client: httpx.Client,
        tenant: str,
        kind: Kind[T],
        documents: Sequence[tuple[str, dict[str, Any]]],
    ) -> list[T | RecordError]:
        def put(chunk: Batch) -> Any:
            return self._call(
                client,
                tenant,
                "PUT",
                f"/{kind.collection}",
                params={"summarizeErrors": "false"},
                json={kind.collection: [document for _, document in chunk]},
                headers={"Idempotency-Key": batch_key([key for key, _ in chunk])},
            )

        size = max(1, min(self.settings.batch_size, MAX_BATCH))
        return put_batches(put, kind, list(documents), size)
