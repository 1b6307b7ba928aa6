"""NetSuite records built from request bodies, refused the way NetSuite refuses them.

A body names references as ``{"id": …}`` (``entity``, ``subsidiary``, ``currency``, a line's
``item``) and sublists as ``{"items": [...]}``. A customer needs a ``companyName`` and a
subsidiary of the account; its ``entityId`` defaults to the company name and must be unique
(``DUP_ENTITY``). An invoice or credit memo needs a customer of the same subsidiary, at least one
``item`` line with a known item, a quantity and a rate (``amount`` = quantity × rate, to the
cent, unless given), and takes the customer's currency (another one is refused). Missing values
are ``USER_ERROR`` "Please enter value(s) for: …", wrong ones ``INVALID_FLD_VALUE`` naming the
field (the codes are NetSuite's; their exact wording for these cases is [unconfirmed]).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

Record = dict[str, Any]
CENT = Decimal("0.01")


class Refused(Exception):
    """A request NetSuite refuses: its status, ``o:errorCode``, detail and the field's path."""

    def __init__(self, code: str, detail: str, *, path: str = "", status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = f"Error while accessing a resource. {detail}"
        self.path = path
        self.status = status


def missing(label: str, path: str) -> Refused:
    return Refused("USER_ERROR", f"Please enter value(s) for: {label}.", path=path)


def invalid(value: Any, path: str) -> Refused:
    return Refused(
        "INVALID_FLD_VALUE",
        f"You have entered an Invalid Field Value {value} for the following field: {path}",
        path=path,
    )


def reference(body: Mapping[str, Any], field: str, label: str) -> str:
    """The id of the reference ``body[field]`` (``{"id": …}``)."""
    value = body.get(field)
    if not isinstance(value, dict) or value.get("id") in (None, ""):
        raise missing(label, field)
    return str(value["id"])


def money(value: Any, path: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(value, path) from None
    if not number.is_finite() or isinstance(value, bool):
        raise invalid(value, path)
    return number


def day(value: Any, path: str, default: date) -> date:
    if value in (None, ""):
        return default
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise invalid(value, path) from None


@dataclass(frozen=True)
class Account:
    """What a body is checked against: the account's subsidiaries (id → (name, currency id)),
    currencies (id → symbol), items (id → name), customers (id → record), and its today."""

    subsidiaries: Mapping[str, tuple[str, str]]
    currencies: Mapping[str, str]
    items: Mapping[str, str]
    customers: Mapping[str, Record]
    today: date

    def ref(self, kind: str, ref_id: str) -> Record:
        names = {
            "subsidiary": lambda: self.subsidiaries[ref_id][0],
            "currency": lambda: self.currencies[ref_id],
            "item": lambda: self.items[ref_id],
            "entity": lambda: self.customers[ref_id]["companyName"],
        }
        return {"id": ref_id, "refName": names[kind]()}


def customer(account: Account, body: Mapping[str, Any], known: Record | None) -> Record:
    """A customer record from ``body`` (over ``known`` when it updates one)."""
    merged = {**(known or {}), **body}
    name = str(merged.get("companyName") or "").strip()
    if not name:
        raise missing("Company Name", "companyName")
    subsidiary = reference(merged, "subsidiary", "Primary Subsidiary")
    if subsidiary not in account.subsidiaries:
        raise invalid(subsidiary, "subsidiary")
    currency = (merged.get("currency") or {}).get("id") or account.subsidiaries[subsidiary][1]
    if str(currency) not in account.currencies:
        raise invalid(currency, "currency")
    entity_id = str(merged.get("entityId") or name).strip()
    clash = [
        c
        for c in account.customers.values()
        if c["entityId"].casefold() == entity_id.casefold() and c is not known
    ]
    if clash:
        raise Refused("DUP_ENTITY", "This entity already exists.", path="entityId")
    return {
        "entityId": entity_id,
        "companyName": name,
        "isPerson": False,
        "isInactive": bool(merged.get("isInactive", False)),
        "subsidiary": account.ref("subsidiary", subsidiary),
        "currency": account.ref("currency", str(currency)),
        "terms": merged.get("terms"),
    }


def transaction(account: Account, body: Mapping[str, Any], known: Record | None) -> Record:
    """The header and ``item`` lines of an invoice or credit memo from ``body``."""
    merged = {**(known or {}), **body}
    entity = reference(merged, "entity", "Customer")
    if entity not in account.customers:
        raise invalid(entity, "entity")
    buyer = account.customers[entity]
    subsidiary = (merged.get("subsidiary") or {}).get("id") or buyer["subsidiary"]["id"]
    if str(subsidiary) != buyer["subsidiary"]["id"]:
        raise invalid(subsidiary, "subsidiary")
    currency = (merged.get("currency") or {}).get("id") or buyer["currency"]["id"]
    if str(currency) != buyer["currency"]["id"]:
        raise invalid(currency, "currency")
    issued = day(merged.get("tranDate"), "tranDate", account.today)
    lines = _lines(account, merged.get("item"))
    return {
        "tranId": str(merged.get("tranId") or ""),
        "entity": account.ref("entity", entity),
        "subsidiary": account.ref("subsidiary", str(subsidiary)),
        "currency": account.ref("currency", str(currency)),
        "tranDate": issued.isoformat(),
        "dueDate": day(merged.get("dueDate"), "dueDate", issued + timedelta(days=30)).isoformat(),
        "memo": merged.get("memo"),
        "item": {"items": lines},
        "total": sum((line["amount"] for line in lines), Decimal(0)),
    }


def _lines(account: Account, sublist: Any) -> list[Record]:
    items = sublist.get("items") if isinstance(sublist, dict) else None
    if not isinstance(items, list) or not items:
        raise missing("Items", "item")
    lines = []
    for n, line in enumerate(items):
        path = f"item.items[{n}]"
        if not isinstance(line, dict):
            raise invalid(line, path)
        item = reference(line, "item", "Item")
        if item not in account.items:
            raise invalid(item, f"{path}.item")
        quantity = money(line.get("quantity", 1), f"{path}.quantity")
        rate = money(line.get("rate"), f"{path}.rate") if "rate" in line else None
        if rate is None:
            raise missing("Rate", f"{path}.rate")
        given = line.get("amount")
        amount = money(given, f"{path}.amount") if given is not None else quantity * rate
        lines.append(
            {
                "line": n + 1,
                "item": account.ref("item", item),
                "description": str(line.get("description") or ""),
                "quantity": quantity,
                "rate": rate,
                "amount": amount.quantize(CENT),
            }
        )
    return lines


__all__ = ["Account", "Record", "Refused", "customer", "invalid", "missing", "transaction"]
