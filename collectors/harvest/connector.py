"""Harvest v2 connector: settings, auth, pacing, streams, reads and provisioning.

See the package docstring for Harvest's rules (auth, paging, approval, idempotency)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, ClassVar

import httpx
import msgspec
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.auth import BearerToken
from collectors.connector import Connector
from collectors.errors import ConfigError, RetryableError, SchemaDriftError, redact_url
from collectors.harvest.mapping import VENDOR, _ref, iso
from collectors.harvest.pages import TimeEntryPage, read_time_entry_page
from collectors.http import call_json, decode
from collectors.idempotency import create_once
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Limit, Pacer
from collectors.paging import MAX_PAGES, NextUrl, PageTrail
from collectors.streams import Page, Stream, pages

MAX_PER_PAGE = 2000


@dataclass(frozen=True)
class ListedPage:
    """One page of a reconciliation listing: raw records and the window's reported size."""

    records: list[Any]
    total_entries: int


class HarvestSettings(BaseModel):
    """Where and how to reach one Harvest account."""

    model_config = ConfigDict(extra="forbid")
    # what live mode requires a configuration to give (the defaults are the sandbox's)
    live_required: ClassVar[tuple[str, ...]] = ("base_url", "account_id", "token")

    base_url: str = "http://127.0.0.1:8711/v2"
    account_id: str = "100001"
    token: SecretStr = SecretStr("sandbox-harvest-token")
    user_agent: str = "plan2cash (ops@plan2cash.invalid)"
    per_page: int = MAX_PER_PAGE
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    requests_per_15s: int = 100


def harvest_pacer(settings: HarvestSettings, *, time_scale: float = 1.0) -> Pacer:
    """Harvest's published limit: 100 requests per 15 seconds per access token."""
    return Pacer([Limit(settings.requests_per_15s, 15.0)], time_scale=time_scale, name=VENDOR)


def _stream(name: str) -> Stream:
    return Stream(name, path=f"/{name}", records=name, paginator=NextUrl("links.next"))


STREAMS = {
    name: _stream(name)
    for name in (
        "clients",
        "projects",
        "users",
        "tasks",
        "user_assignments",
        "task_assignments",
        "time_entries",
        "expenses",
    )
}


class HarvestConnector(Connector[HarvestSettings]):
    """Reads Harvest collections as raw pages and maps them to canonical entities."""

    name = VENDOR
    streams = STREAMS

    def default_pacer(self, settings: HarvestSettings) -> Pacer:
        return harvest_pacer(settings)

    def auth(self) -> httpx.Auth:
        s = self.settings
        return BearerToken(
            s.token, {"Harvest-Account-Id": s.account_id, "User-Agent": s.user_agent}
        )

    def params(self, since: datetime | None) -> dict[str, str]:
        params = {"per_page": str(min(self.settings.per_page, MAX_PER_PAGE))}
        if since is not None:
            params["updated_since"] = iso(since)
        return params

    def pages(
        self, client: httpx.Client, stream: str, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw pages of ``stream`` changed since ``since`` (all of it when ``None``)."""
        return pages(client, self.streams[stream], self.params(since))

    def time_entry_pages(
        self, client: httpx.Client, since: datetime | None = None, *, max_pages: int = MAX_PAGES
    ) -> Iterator[TimeEntryPage]:
        """Pages of time entries changed since ``since``, each read straight from the body into
        a frame (the hot path: ``read_time_entry_page`` is the page loop's parse hook)."""
        stream = self.streams["time_entries"]
        params = self.params(since)
        return pages(client, stream, params, parse=_time_entry_page, max_pages=max_pages)

    def reconcile_ids(self, client: httpx.Client, stream: str) -> set[str]:
        """Every id ``stream`` holds now (a full pass, largest pages): the engine compares it with
        what it stored to find deletions, which Harvest never reports."""
        return {
            str(record["id"])
            for page in pages(client, self.streams[stream], {"per_page": str(MAX_PER_PAGE)})
            for record in page
            if isinstance(record, dict) and record.get("id") is not None
        }

    def window_pages(
        self, client: httpx.Client, start: date, end: date, *, max_pages: int = MAX_PAGES
    ) -> Iterator[ListedPage]:
        """Every time entry spent from ``start`` to ``end`` (inclusive), page by page, each page
        with the ``total_entries`` Harvest reported for the window: the engine's deletion check
        trusts a window only when the distinct ids it received add up to that total (a page cut
        short, or a record left out, must never look like a deletion)."""
        stream = self.streams["time_entries"]
        window = replace(stream, name=f"{stream.name} {start}..{end}")
        params = {
            "per_page": str(min(self.settings.per_page, MAX_PER_PAGE)),
            "from": start.isoformat(),
            "to": end.isoformat(),
        }
        return pages(client, window, params, parse=_listed_page, max_pages=max_pages)

    def time_entry(self, client: httpx.Client, entry_id: str) -> dict[str, Any] | None:
        """One time entry by id, or ``None`` when Harvest answers 404 (it was deleted)."""
        try:
            body = call_json(client, "GET", f"time_entries/{entry_id}", route="/time_entries/{id}")
        except ConfigError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(body, dict) or body.get("id") is None:
            raise SchemaDriftError("harvest time entry without an id", vendor=VENDOR)
        return body

    # --- provisioning: look up, then create (``collectors.idempotency``) --------------------

    def ensure_client(self, client: httpx.Client, *, name: str, currency: str) -> int:
        """The id of the client named ``name`` (case-insensitive), created if absent."""

        def find() -> int | None:
            return _find(client, self.streams["clients"], {}, lambda c: _same(c.get("name"), name))

        body = {"name": name, "currency": currency, "is_active": True}
        return create_once(find, lambda: _create(client, "clients", "/clients", body))

    def ensure_project(
        self,
        client: httpx.Client,
        *,
        client_id: int,
        name: str,
        code: str | None = None,
        hourly_rate: float | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
    ) -> int:
        """The id of the client's project with this code (or name when it has none)."""

        def match(p: dict[str, Any]) -> bool:
            return _same(p.get("code"), code) if code else _same(p.get("name"), name)

        def find() -> int | None:
            return _find(client, self.streams["projects"], {"client_id": str(client_id)}, match)

        body: dict[str, Any] = {
            "client_id": client_id,
            "name": name,
            "is_billable": True,
            "bill_by": "People",
            "budget_by": "none",
        }
        optional = {
            "code": code,
            "hourly_rate": hourly_rate,
            "starts_on": starts_on,
            "ends_on": ends_on,
        }
        body |= {
            k: v.isoformat() if isinstance(v, date) else v
            for k, v in optional.items()
            if v is not None
        }
        return create_once(find, lambda: _create(client, "projects", "/projects", body))

    def ensure_user_assignment(
        self,
        client: httpx.Client,
        *,
        project_id: int,
        user_id: int,
        hourly_rate: float | None = None,
    ) -> int:
        """The id of ``user_id``'s assignment to ``project_id``, created if absent."""
        path = f"/projects/{project_id}/user_assignments"
        nested = Stream("user_assignments", path, "user_assignments", NextUrl("links.next"))

        def find() -> int | None:
            return _find(client, nested, {}, lambda record: _ref(record, "user") == user_id)

        body: dict[str, Any] = {"user_id": user_id, "use_default_rates": hourly_rate is None}
        if hourly_rate is not None:
            body["hourly_rate"] = hourly_rate
        return create_once(find, lambda: _create(client, "user_assignments", path, body))


def _find(
    client: httpx.Client,
    stream: Stream,
    params: dict[str, str],
    match: Callable[[dict[str, Any]], bool],
) -> int | None:
    """The id of the first record of ``stream`` that ``match`` accepts (largest pages)."""
    for page in pages(client, stream, {"per_page": str(MAX_PER_PAGE), **params}):
        for record in page:
            if isinstance(record, dict) and match(record):
                return int(record["id"])
    return None


def _create(client: httpx.Client, what: str, path: str, body: dict[str, Any]) -> int:
    """POST ``body`` once (never retried: ``create_once`` looks again instead); the new id."""
    created = call_json(client, "POST", path.lstrip("/"), route=path, once=True, json=body)
    if not isinstance(created, dict) or created.get("id") is None:
        raise SchemaDriftError(
            f"harvest created {what} without an id", vendor=VENDOR, details=created
        )
    return int(created["id"])


def _time_entry_page(response: httpx.Response) -> Page[TimeEntryPage]:
    try:
        page = read_time_entry_page(response.content)
    except msgspec.ValidationError as exc:  # JSON, but not a list of time entries
        raise SchemaDriftError(
            f"harvest time_entries: response has no list at 'time_entries' ({exc})",
            vendor=VENDOR,
        ) from exc
    except msgspec.DecodeError as exc:  # a cut or garbled body: retried like a dropped line
        raise RetryableError(
            f"harvest GET {redact_url(response.request.url)} → {response.status_code}: "
            f"response is not valid JSON ({exc})",
            vendor=VENDOR,
            status=response.status_code,
        ) from exc
    return Page(page, {"links": page.links}, page.fingerprint())


def _listed_page(response: httpx.Response) -> Page[ListedPage]:
    body = decode(response, vendor=VENDOR)
    records = body.get("time_entries") if isinstance(body, dict) else None
    total = body.get("total_entries") if isinstance(body, dict) else None
    if not isinstance(records, list) or not isinstance(total, int):
        raise SchemaDriftError(
            "harvest time_entries: a page without time_entries or total_entries",
            vendor=VENDOR,
            details=sorted(body) if isinstance(body, dict) else type(body).__name__,
        )
    return Page(ListedPage(records, total), body, PageTrail.fingerprint(records, "id"))


def _same(value: Any, wanted: str | None) -> bool:
    return isinstance(value, str) and wanted is not None and value.casefold() == wanted.casefold()
