"""What Kantata accepts on writes: a new workspace, an invoice's status, an external reference.

Bodies are JSON (``{"workspace": {...}}``) or Rails-style form fields (``workspace[title]=...``),
as the API allows. A refused write raises ``Invalid`` with the messages that go into the 422
body ``{"errors": [{"type": "validation", "message": ...}]}`` [unconfirmed error shape].
``creator_role`` ("maven" or "buyer") is required on a new workspace, as in Kantata's create
call [unconfirmed from memory].
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from sandbox.vendors.wire import parse_json, sent_json

INVOICE_STATUSES = ("new", "submitted", "paid", "void")
WORKSPACE_FIELDS = (
    "title", "description", "creator_role", "start_date", "due_date", "price_in_cents",
    "currency", "rate_card_id", "budgeted", "require_time_approvals",
)  # fmt: skip
_RAILS = re.compile(r"^(\w+)\[(\w+)\]$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Invalid(ValueError):
    """A write Kantata refuses; ``messages`` become the ``errors`` of the 422 body."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


async def read_object(request: Request, root: str) -> dict[str, Any]:
    """The object under ``root`` in a JSON or form-encoded body."""
    raw = await request.body()
    if sent_json(request):
        body = parse_json(raw, Invalid)
    else:
        body = {}
        for key, value in parse_qsl(raw.decode()):
            match = _RAILS.match(key)
            if match:
                body.setdefault(match[1], {})[match[2]] = value
    found = body.get(root) if isinstance(body, dict) else None
    if not isinstance(found, dict):
        raise Invalid(f"param is missing or the value is empty: {root}")
    return found


def workspace_fields(given: dict[str, Any], rate_cards: set[str]) -> dict[str, Any]:
    """The validated fields of a new workspace."""
    problems: list[str] = []
    title = str(given.get("title") or "").strip()
    if not title:
        problems.append("Title can't be blank")
    if given.get("creator_role") not in ("maven", "buyer"):
        problems.append("Creator role must be 'maven' or 'buyer'")
    fields: dict[str, Any] = {"title": title, "description": str(given.get("description") or "")}
    for name in ("start_date", "due_date"):
        fields[name] = _date(given.get(name), name, problems)
    if fields["start_date"] and fields["due_date"] and fields["due_date"] < fields["start_date"]:
        problems.append("Due date must be on or after the start date")
    currency = str(given.get("currency") or "USD").upper()
    if not _CURRENCY.match(currency):
        problems.append(f"Currency {currency!r} is not a valid currency")
    fields["currency"] = currency
    fields["price_in_cents"] = _cents(given.get("price_in_cents"), problems)
    card = given.get("rate_card_id")
    if card is not None and str(card) not in rate_cards:
        problems.append(f"Rate card {card} does not exist")
    fields["rate_card_id"] = None if card is None else str(card)
    fields["require_time_approvals"] = given.get("require_time_approvals", True) in (True, "true")
    if problems:
        raise Invalid(*problems)
    return fields


def _date(value: Any, name: str, problems: list[str]) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(f"{name.replace('_', ' ').capitalize()} is not a date")
        return None


def _cents(value: Any, problems: list[str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        amount = int(value)
    except (TypeError, ValueError):
        problems.append("Price in cents must be an integer")
        return None
    if amount < 0:
        problems.append("Price in cents must be greater than or equal to 0")
    return amount


def invoice_changes(given: dict[str, Any]) -> dict[str, Any]:
    """``status`` and/or ``paid``; paying an invoice sets its status to paid."""
    changes: dict[str, Any] = {}
    if "status" in given:
        if given["status"] not in INVOICE_STATUSES:
            raise Invalid(f"Status must be one of {', '.join(INVOICE_STATUSES)}")
        changes["status"] = given["status"]
        changes["paid"] = given["status"] == "paid"
    if "paid" in given:
        if given["paid"] not in (True, False, "true", "false"):
            raise Invalid("Paid must be true or false")
        changes["paid"] = given["paid"] in (True, "true")
        if changes["paid"]:
            changes["status"] = "paid"
    if not changes:
        raise Invalid("Nothing to update: give status or paid")
    return changes


def reference_fields(given: dict[str, Any]) -> dict[str, str]:
    """The required fields of an external reference."""
    names = ("subject_type", "subject_id", "service_name", "service_model", "service_model_ref")
    missing = [n for n in names if not str(given.get(n) or "").strip()]
    if missing:
        raise Invalid(*(f"{n.replace('_', ' ').capitalize()} can't be blank" for n in missing))
    return {n: str(given[n]).strip() for n in names}
