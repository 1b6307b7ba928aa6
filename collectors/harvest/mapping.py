"""Harvest v2 records as canonical entities, record by record (reference data and replay)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from collectors.amounts import amount
from collectors.entities import (
    Assignment,
    Contract,
    Customer,
    Expense,
    Project,
    Resource,
    canonical_id,
    sourced,
)
from collectors.timestamps import parse_utc, utc_text

VENDOR = "harvest"


def iso(moment: datetime) -> str:
    """An instant as Harvest writes one (``updated_since``): UTC to the second, with ``Z``."""
    return utc_text(moment)


def parse_datetime(value: Any) -> datetime | None:
    """A Harvest timestamp as a UTC instant (``None`` when it is not one)."""
    return parse_utc(value)


def _id(system_type: str, raw: Any) -> str | None:
    return canonical_id(VENDOR, system_type, raw) if raw is not None else None


def _ref(record: dict[str, Any], key: str) -> Any:
    value = record.get(key)
    return value.get("id") if isinstance(value, dict) else None


# --- reference data: one canonical entity per record ------------------------------------------


def to_customer(raw: dict[str, Any]) -> Customer:
    return Customer(
        **sourced(VENDOR, "customer", raw),
        name=raw["name"],
        currency=raw.get("currency") or "USD",
        active=bool(raw.get("is_active", True)),
    )


def to_project_and_contract(raw: dict[str, Any]) -> tuple[Project, Contract]:
    """A Harvest project is both the delivery project and, until a CRM or PSA supplies one, the
    time-and-materials contract it bills under (one contract per project)."""
    client = raw.get("client") or {}
    customer_id = canonical_id(VENDOR, "customer", client["id"])
    contract_id = canonical_id(VENDOR, "contract", raw["id"])
    common: dict[str, Any] = {
        "source": VENDOR,
        "source_id": str(raw["id"]),
        "updated_at": raw["updated_at"],
        "currency": client.get("currency") or "USD",
        "start": raw.get("starts_on"),
        "end": raw.get("ends_on"),
    }
    status = "active" if raw.get("is_active", True) else "closed"
    project = Project(
        id=canonical_id(VENDOR, "project", raw["id"]),
        contract_id=contract_id,
        customer_id=customer_id,
        code=raw.get("code"),
        name=raw["name"],
        status=status,
        budget=_money(raw, "budget") if raw.get("budget_by") == "project_cost" else None,
        **common,
    )
    contract = Contract(
        id=contract_id,
        customer_id=customer_id,
        name=raw["name"],
        not_to_exceed=_money(raw, "fee") if raw.get("is_fixed_fee") else None,
        status=status,
        **common,
    )
    return project, contract


def to_resource(raw: dict[str, Any]) -> Resource:
    roles = raw.get("roles") or []
    seconds = amount(raw.get("weekly_capacity") or 144000, "weekly_capacity", vendor=VENDOR)
    capacity = (seconds or Decimal(0)) / 3600
    return Resource(
        **sourced(VENDOR, "resource", raw),
        name=f"{raw.get('first_name', '')} {raw.get('last_name', '')}".strip(),
        email=raw.get("email"),
        role=roles[0] if roles else None,
        cost_rate=_money(raw, "cost_rate"),
        weekly_capacity_hours=capacity.quantize(Decimal("0.01")),
        employment_status="active" if raw.get("is_active", True) else "terminated",
    )


def to_assignment(raw: dict[str, Any]) -> Assignment:
    """``bill_by: People``: the assignment's hourly rate is the rate the person bills at on that
    project. With ``use_default_rates`` the contract's rate card for the person's role applies."""
    user_id = _ref(raw, "user")
    return Assignment(
        **sourced(VENDOR, "assignment", raw),
        project_id=canonical_id(VENDOR, "project", _ref(raw, "project")),
        resource_id=canonical_id(VENDOR, "resource", user_id),
        rate_override=None if raw.get("use_default_rates") else _money(raw, "hourly_rate"),
        active=bool(raw.get("is_active", True)),
    )


def _money(raw: dict[str, Any], field: str) -> Decimal | None:
    return amount(raw.get(field), field, vendor=VENDOR, places=Decimal("0.0001"))


def to_expense(raw: dict[str, Any]) -> Expense:
    """An expense; approved once Harvest's approval closed it, billable as Harvest says."""
    client = raw.get("client") or {}
    category = raw.get("expense_category") or {}
    return Expense(
        **sourced(VENDOR, "expense", raw),
        resource_id=canonical_id(VENDOR, "resource", _ref(raw, "user")),
        project_id=canonical_id(VENDOR, "project", _ref(raw, "project")),
        spent_date=raw["spent_date"],
        amount=amount(raw["total_cost"], "total_cost", vendor=VENDOR, places=Decimal("0.01")),
        currency=client.get("currency") or "USD",
        billable=bool(raw.get("billable")),
        approved=raw.get("is_closed") is True,
        category=category.get("name"),
    )
