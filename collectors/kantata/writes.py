"""Kantata writes: provision a workspace from a won deal, write an invoice's status back.

Kantata has no idempotency key. A workspace is linked to its Salesforce contract by an external
reference, so before provisioning again after an uncertain delivery the caller looks the contract
up (``find_workspace``) instead of posting blindly. ``external_references/create_or_update`` is
itself idempotent on (subject, service, model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from collectors.entities import Project
from collectors.errors import SchemaDriftError
from collectors.http import DEFAULT_POLICY, RetryPolicy, call, call_json, decode
from collectors.kantata.mapping import CRM, VENDOR, mapped, to_project
from collectors.kantata.pages import IdKeyed, KantataPage
from collectors.pacing import Pacer

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


def create_workspace(
    client: httpx.Client,
    request: WorkspaceRequest,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    pacer: Pacer | None = None,
) -> Project:
    """POST the workspace, then its two external references; the project as Kantata holds it.

    A 422 raises ``RecordError`` with Kantata's messages. The POST is sent once, never retried
    (a reply lost after Kantata created the workspace would create a second one): the caller
    resolves a failed or uncertain delivery with ``find_workspace`` before trying again.
    """
    once = RetryPolicy(attempts=1)
    response = call(
        client, "POST", "workspaces", vendor=VENDOR, route="/workspaces", policy=once, pacer=pacer,
        json=request.body(),
    )  # fmt: skip
    workspace_id = str(_one(decode(response, vendor=VENDOR), "workspaces").records[0]["id"])
    for model, ref in (("Contract", request.contract_ref), ("Account", request.account_ref)):
        link = {
            "subject_type": "Workspace", "subject_id": workspace_id, "service_name": CRM,
            "service_model": model, "service_model_ref": ref, "status": "successful",
        }  # fmt: skip
        call(
            client, "POST", "external_references/create_or_update", vendor=VENDOR,
            route="/external_references/create_or_update", policy=policy, pacer=pacer,
            json={"external_reference": link},
        )  # fmt: skip
    _, body = call_json(
        client, "GET", f"workspaces/{workspace_id}", vendor=VENDOR, route="/workspaces/{id}",
        policy=policy, pacer=pacer,
        params={"include": "external_references", "include_archived": "true"},
    )  # fmt: skip
    page = _one(body, "workspaces")
    result = mapped("workspaces", page.records[0], page, to_project)
    if isinstance(result, Exception):
        raise result
    return result


def find_workspace(
    client: httpx.Client,
    contract_ref: str,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    pacer: Pacer | None = None,
) -> str | None:
    """The id of the workspace linked to the Salesforce contract ``contract_ref``, if any."""
    _, body = call_json(
        client, "GET", "external_references", vendor=VENDOR, route="/external_references",
        policy=policy, pacer=pacer,
        params={
            "subject_type": "Workspace", "service_name": CRM, "service_model": "Contract",
            "service_model_ref": contract_ref,
        },
    )  # fmt: skip
    page = IdKeyed("external_references").extract(body, vendor=VENDOR)
    return str(page.records[0]["subject_id"]) if page.records else None


def update_invoice_status(
    client: httpx.Client,
    invoice_id: str,
    status: str,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    pacer: Pacer | None = None,
) -> dict[str, Any]:
    """``PUT /invoices/{id}`` with the new status; setting it twice changes nothing more."""
    if status not in INVOICE_STATUSES:
        raise ValueError(f"invoice status must be one of {', '.join(INVOICE_STATUSES)}")
    _, body = call_json(
        client, "PUT", f"invoices/{invoice_id}", vendor=VENDOR, route="/invoices/{id}",
        policy=policy, pacer=pacer, json={"invoice": {"status": status}},
    )  # fmt: skip
    return dict(_one(body, "invoices").records[0])
