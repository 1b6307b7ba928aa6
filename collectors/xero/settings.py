"""Xero's configuration section and its published limits, per tenant."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Limit, Pacer
from collectors.xero.batches import MAX_BATCH
from collectors.xero.mapping import VENDOR


class XeroSettings(BaseModel):
    """One Xero custom connection (client credentials) and the organisations it posts to.

    ``tenant_id`` pins the one organisation the connection posts to and reads (else every
    organisation it reaches). Which organisation books a legal entity is ``[erp] entities``'
    business (``company`` = the tenant id), else the organisation of the entity's name.
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
    sales_account_code: str = "200"
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    page_size: int = 100
    batch_size: int = MAX_BATCH
    requests_per_minute: int = 60
    requests_per_day: int = 5000
    concurrent_requests: int = 5


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
