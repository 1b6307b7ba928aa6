"""The Salesforce connector: settings, auth, SOQL streams, replication calls and AR write-back.

Auth is OAuth 2.0 client credentials with the id and secret in the form body; every API call
then goes to the ``instance_url`` the token response names (learned by logging in when the
client is made, unless configured). Streams are SOQL queries, incremental on ``SystemModstamp``
with a closed lower bound and ordered by it, paged through ``nextRecordsUrl`` by the shared page
loop. Deletions come from ``/sobjects/{type}/deleted``. Salesforce's daily-limit refusal (403
``REQUEST_LIMIT_EXCEEDED``) is a ``RateLimitedError`` (``collectors.errors.classify``).

Origins: the client reaches the login URL's origin, the token endpoint's, and the instance's. A
configured ``instance_url`` is trusted as configured. An ``instance_url`` learned from a token
response is accepted only on the login URL's (or token endpoint's) origin — what the
client-credentials flow answers, since it runs on the org's My Domain — or, over the login URL's
scheme, on a host matching ``instance_hosts`` (Salesforce's own domains by default). Anything else
is ``OffOriginError`` before a request goes there: an org served elsewhere configures
``instance_url`` or ``instance_hosts``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.auth import OAuth2ClientCredentials
from collectors.connector import Connector
from collectors.errors import OffOriginError, RetryableError, SchemaDriftError, redact_url
from collectors.http import DEFAULT_POLICY, RetryPolicy, VendorClient, call_json, make_client
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES, origin
from collectors.pacing import Limit, Pacer
from collectors.paging import NextUrl
from collectors.salesforce import writeback
from collectors.salesforce.mapping import VENDOR, parse_datetime
from collectors.salesforce.writeback import ARResult, ARUpdate
from collectors.streams import Stream, pages
from collectors.timestamps import utc_text

MAX_BATCH = 2000


class SalesforceSettings(BaseModel):
    """One Salesforce org reached through a connected app with the client-credentials flow.

    ``login_url`` is the org's My Domain URL (client credentials need it, not
    login.salesforce.com); ``instance_url`` is normally learned from the token response, and a
    learned one must be on the login URL's origin or a host matching ``instance_hosts``.
    """

    model_config = ConfigDict(extra="forbid")
    live_required: ClassVar[tuple[str, ...]] = ("login_url", "client_id", "client_secret")

    login_url: str = "http://127.0.0.1:8713"
    token_url: str | None = None  # default: {login_url}/services/oauth2/token
    instance_url: str | None = None
    instance_hosts: tuple[str, ...] = ("*.salesforce.com", "*.force.com")
    api_version: str = Field(default="v60.0", pattern=r"^v\d+\.\d$")
    client_id: str = "sandbox-sf-client"
    client_secret: SecretStr = SecretStr("sandbox-sf-secret")
    batch_size: int = Field(default=MAX_BATCH, ge=200, le=MAX_BATCH)
    daily_api_requests: int = Field(default=100_000, ge=1)  # our share of the org's allocation
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)

    def token_endpoint(self) -> str:
        return self.token_url or f"{self.login_url.rstrip('/')}/services/oauth2/token"


def salesforce_pacer(settings: SalesforceSettings, *, time_scale: float = 1.0) -> Pacer:
    """Salesforce limits API calls per rolling 24 hours per org (100,000 plus per-licence adds);
    we pace under the share of it configured for plan2cash."""
    limit = Limit(settings.daily_api_requests, 86_400.0)
    return Pacer([limit], time_scale=time_scale, max_wait=60.0, name=VENDOR)


@dataclass(frozen=True)
class SObjectStream:
    """A stream read by SOQL: the object, the fields, and a fixed filter."""

    stream: Stream
    sobject: str
    fields: tuple[str, ...]
    where: str | None = None

    def soql(self, since: datetime | None) -> str:
        filters = [f for f in (self.where, _since(since)) if f]
        where = f" WHERE {' AND '.join(filters)}" if filters else ""
        return (
            f"SELECT {', '.join(self.fields)} FROM {self.sobject}{where} "
            "ORDER BY SystemModstamp ASC, Id ASC"
        )


def _since(since: datetime | None) -> str | None:
    if since is None:
        return None
    # Whole seconds, rounded down: the lower bound stays closed (>=) and never skips a record.
    return f"SystemModstamp >= {utc_text(since)}"


def _stream(name: str, sobject: str, fields: str, where: str | None = None) -> SObjectStream:
    stream = Stream(
        name, path="query", records="records", paginator=NextUrl("nextRecordsUrl"),
        key="Id", cursor="SystemModstamp",
    )  # fmt: skip
    return SObjectStream(stream, sobject, tuple(f.strip() for f in fields.split(",")), where)


_AUDIT = "IsDeleted, CreatedDate, LastModifiedDate, SystemModstamp"
STREAMS: dict[str, SObjectStream] = {
    "accounts": _stream(
        "accounts",
        "Account",
        "Id, Name, ParentId, Industry, Type, BillingCountry, CurrencyIsoCode, Region__c, "
        f"Legal_Entity__c, Payment_Terms_Days__c, {_AUDIT}",
    ),
    "opportunities": _stream(
        "opportunities",
        "Opportunity",
        "Id, AccountId, Name, StageName, Amount, CloseDate, IsClosed, IsWon, Probability, "
        f"CurrencyIsoCode, {_AUDIT}",
        where="IsWon = true",
    ),
    "contracts": _stream(
        "contracts",
        "Contract",
        "Id, AccountId, Name, ContractNumber, Status, StatusCode, StartDate, EndDate, "
        "ContractTerm, ActivatedDate, Billing_Model__c, CurrencyIsoCode, Not_To_Exceed__c, "
        "Fee__c, Rate_Card__c, Legal_Entity__c, Opportunity__c, Opportunity__r.Name, "
        f"Opportunity__r.Amount, {_AUDIT}",
        where="StatusCode = 'Activated'",
    ),
}
SOBJECTS = {name: s.sobject for name, s in STREAMS.items()}


@dataclass(frozen=True)
class Replication:
    """What getUpdated or getDeleted reported for one window."""

    records: tuple[tuple[str, datetime | None], ...]  # (id, deletedDate or None)
    latest_covered: datetime | None
    earliest_available: datetime | None = None


class SalesforceAuth(OAuth2ClientCredentials):
    """Client credentials in the body, plus an explicit login to learn the instance URL."""

    def login(self, client: httpx.Client) -> None:
        request = self.token_request()
        try:
            response = client.send(request, auth=None)
        except httpx.TransportError as exc:
            raise RetryableError(
                f"{VENDOR} POST {redact_url(request.url)}: {type(exc).__name__}", vendor=VENDOR
            ) from exc
        self._store(response)


class _Borrowed(httpx.BaseTransport):
    """Someone else's transport, used without closing it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)


class SalesforceConnector(Connector[SalesforceSettings]):
    """Reads accounts, won opportunities and activated contracts; writes AR onto accounts."""

    name = VENDOR
    streams = STREAMS

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__(settings, transport=transport, policy=policy, pacer=pacer)
        self._instance_url = settings.instance_url
        self._auth = SalesforceAuth(
            vendor=VENDOR,
            token_url=settings.token_endpoint(),
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            credentials_in="body",
            on_token=self._on_token,
        )

    def _on_token(self, body: dict[str, Any]) -> None:
        if self.settings.instance_url is None and body.get("instance_url"):
            self._instance_url = self._trusted_instance(str(body["instance_url"]).rstrip("/"))

    def _trusted_instance(self, instance: str) -> str:
        """A learned instance URL, if it is on an origin this org may be served from."""
        scheme, host, _ = where = origin(instance)
        if where in {origin(url) for url in self.origins()}:
            return instance
        patterns = self.settings.instance_hosts
        if scheme == origin(self.settings.login_url)[0] and any(
            fnmatchcase(host, p.lower()) for p in patterns
        ):
            return instance
        raise OffOriginError(
            f"{VENDOR} token response names instance_url {redact_url(instance)}: {host} is "
            f"neither the login URL's origin nor a host matching instance_hosts {list(patterns)}; "
            "no request was sent there. Configure salesforce.instance_url (or instance_hosts) "
            "if the org is really served from it",
            vendor=VENDOR,
            details=host,
        )

    def _api_base(self) -> str:
        origin = self._instance_url or self.settings.login_url.rstrip("/")
        return f"{origin}/services/data/{self.settings.api_version}"

    def default_pacer(self, settings: SalesforceSettings) -> Pacer:
        return salesforce_pacer(settings)

    def auth(self) -> httpx.Auth:
        return self._auth

    def base_url(self) -> str:
        return self._api_base()

    def origins(self) -> list[str]:
        return [self.settings.login_url, self.settings.token_endpoint()]

    def client(self) -> VendorClient:
        """A client on the org's REST API (logging in first when the instance is unknown)."""
        if self._instance_url is None:
            self._login()
        return super().client()

    def _login(self) -> None:
        """Fetch a token now, to learn the instance URL before the first API call."""
        borrowed = _Borrowed(self._transport) if self._transport is not None else None
        with make_client(
            self.settings.login_url,
            transport=borrowed,
            timeout=self.settings.timeout_seconds,
            vendor=VENDOR,
            origins=self.origins(),
            max_response_bytes=self.settings.max_response_bytes,
        ) as login:
            self._auth.login(login)

    def soql(self, stream: str, since: datetime | None = None) -> str:
        return self.streams[stream].soql(since)

    def pages(
        self, client: httpx.Client, stream: str, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw pages of ``stream`` changed at or after ``since`` (all of it when ``None``)."""
        spec = self.streams[stream]
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.batch_size}"}
        return pages(client, spec.stream, {"q": spec.soql(since)}, headers=headers)

    def deleted(
        self, client: httpx.Client, sobject: str, start: datetime, end: datetime
    ) -> Replication:
        """Records of ``sobject`` (or a stream name) deleted between ``start`` and ``end``."""
        body = self._replication(client, sobject, "deleted", start, end)
        gone = _list(body, "deletedRecords")
        return Replication(
            tuple(
                (str(d.get("id")), _instant(d.get("deletedDate")))
                for d in gone
                if isinstance(d, dict)
            ),
            _instant(body.get("latestDateCovered")),
            _instant(body.get("earliestDateAvailable")),
        )

    def updated(
        self, client: httpx.Client, sobject: str, start: datetime, end: datetime
    ) -> Replication:
        """Ids of ``sobject`` records changed between ``start`` and ``end`` (30 days back)."""
        body = self._replication(client, sobject, "updated", start, end)
        ids = tuple((str(i), None) for i in _list(body, "ids"))
        return Replication(ids, _instant(body.get("latestDateCovered")))

    def _replication(
        self, client: httpx.Client, sobject: str, kind: str, start: datetime, end: datetime
    ) -> Any:
        name = SOBJECTS.get(sobject, sobject)
        return call_json(
            client,
            "GET",
            f"sobjects/{name}/{kind}/",
            route=f"/sobjects/{{type}}/{kind}/",
            params={
                "start": utc_text(start, offset="+00:00"),
                "end": utc_text(end, offset="+00:00"),
            },
        )

    def update_ar(self, client: httpx.Client, updates: Sequence[ARUpdate]) -> list[ARResult]:
        """Write AR fields onto accounts, 25 per composite call; one result per update."""
        out: dict[int, ARResult] = {}
        sendable = []
        for index, update in enumerate(updates):
            refused = writeback.malformed(update)
            if refused is not None:
                out[index] = refused
            else:
                sendable.append((index, update))
        for batch in writeback.batches(sendable):
            chosen = [update for _, update in batch]
            composite = writeback.composite_body(chosen, self.settings.api_version)
            body = call_json(client, "POST", "composite", route="/composite", json=composite)
            answers = writeback.results(chosen, body)
            out |= {index: answer for (index, _), answer in zip(batch, answers, strict=True)}
        return [out[i] for i in range(len(updates))]


def _instant(value: Any) -> datetime | None:
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _list(body: Any, key: str) -> list[Any]:
    found = body.get(key) if isinstance(body, dict) else None
    if not isinstance(found, list):
        raise SchemaDriftError(f"{VENDOR}: response has no list at {key!r}", vendor=VENDOR)
    return found
