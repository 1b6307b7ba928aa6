"""Kantata writes: provision a workspace from a won deal, write an invoice's status back.

Kantata has no idempotency key. A workspace is linked to its Salesforce contract by an external
reference, which is how it is found: ``create_workspace`` looks the contract up before it creates,
and again after a create whose outcome is unknown (``collectors.idempotency.create_once``).
``external_references/create_or_update`` is itself idempotent on (subject, service, model), and
setting an invoice's status twice changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from collectors.entities import Project
from collectors.errors import SchemaDriftError
from collectors.http import call, call_json
from collectors.idempotency import create_once
from collectors.kantata.mapping import CRM, VENDOR, mapped, to_project
from collectors.kantata.pages import IdKeyed, KantataPage

INVOICE_STATUSES = ("new", "submitted", "paid", "void")  # [unconfirmed] Kantata's status strings


@dataclass(frozen=True)
class WorkspaceRequest:
    """A workspace to provision from a won deal, linked to its Salesforce contract."""

    title: str
    currency: str
    contract_ref: str
    account_ref: str
    start: date | None = None
    due: date | None = None
    price: Decimal | None = None
    rate_card_id: str | None = None
    description: str = ""

    def body(self) -> dict[str, Any]:
        workspace: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "creator_role": "maven",
            "currency": self.currency,
            "start_date": self.start.isoformat() if self.start else None,
            "due_date": self.due.isoformat() if self.due else None,
            "price_in_cents": None if self.price is None else int(self.price * 100),
            "rate_card_id": self.rate_card_id,
        }
        return {"workspace": {k: v for k, v in workspace.items() if v is not None}}


def _one(body: Any, collection: str) -> KantataPage:
    page = IdKeyed(collection).extract(body, vendor=VENDOR)
    if len(page.records) != 1:
        raise SchemaDriftError(
            f"{VENDOR} {collection}: expected one record in the reply, got {len(page.records)}",
            vendor=VENDOR,
        )
    return page


def create_workspace(client: httpx.Client, request: WorkspaceRequest) -> Project:
    """The workspace linked to the request's contract, as Kantata holds it: found, or created
    (``create_once``: a create whose reply was lost is looked up before it is sent again).

    Creating POSTs the workspace (once), then its two external references, then reads it back.
    A 422 raises ``RecordError`` with Kantata's messages."""

    def find() -> Project | None:
        workspace_id = find_workspace(client, request.contract_ref)
        return None if workspace_id is None else _workspace(client, workspace_id)

    return create_once(find, lambda: _create_workspace(client, request))


def _create_workspace(client: httpx.Client, request: WorkspaceRequest) -> Project:
    created = call_json(
        client, "POST", "workspaces", route="/workspaces", once=True, json=request.body()
    )
    workspace_id = str(_one(created, "workspaces").records[0]["id"])
    for model, ref in (("Contract", request.contract_ref), ("Account", request.account_ref)):
        link = {
            "subject_type": "Workspace", "subject_id": workspace_id, "service_name": CRM,
            "service_model": model, "service_model_ref": ref, "status": "successful",
        }  # fmt: skip
        route = "/external_references/create_or_update"
        call(client, "POST", route.lstrip("/"), route=route, json={"external_reference": link})
    return _workspace(client, workspace_id)


def _workspace(client: httpx.Client, workspace_id: str) -> Project:
    """The workspace as Kantata holds it, with the references that link it to its contract."""
    params = {"include": "external_references", "include_archived": "true"}
    body = call_json(
        client, "GET", f"workspaces/{workspace_id}", route="/workspaces/{id}", params=params
    )
    page = _one(body, "workspaces")
    result = mapped("workspaces", page.records[0], page, to_project)
    if isinstance(result, Exception):
        raise result
    return result


def find_workspace(client: httpx.Client, contract_ref: str) -> str | None:
    """The id of the workspace linked to the Salesforce contract ``contract_ref``, if any."""
    params = {
        "subject_type": "Workspace", "service_name": CRM, "service_model": "Contract",
        "service_model_ref": contract_ref,
    }  # fmt: skip
    body = call_json(
        client, "GET", "external_references", route="/external_references", params=params
    )
    page = IdKeyed("external_references").extract(body, vendor=VENDOR)
    return str(page.records[0]["subject_id"]) if page.records else None


def update_invoice_status(client: httpx.Client, invoice_id: str, status: str) -> dict[str, Any]:
    """``PUT /invoices/{id}`` with the new status; setting it twice changes nothing more."""
    if status not in INVOICE_STATUSES:
        raise ValueError(f"invoice status must be one of {', '.join(INVOICE_STATUSES)}")
    body = call_json(
        client,
        "PUT",
        f"invoices/{invoice_id}",
        route="/invoices/{id}",
        json={"invoice": {"status": status}},
    )
    return dict(_one(body, "invoices").records[0])
