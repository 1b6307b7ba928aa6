"""Kantata records → canonical entities. Kantata field names appear here and nowhere else.

A workspace is a ``Project``; its contract and customer are the Salesforce records named by its
external references (``service_model`` "Contract" and "Account", ``service_model_ref`` the
Salesforce reference), so their canonical ids are those of the CRM records. A participation is
an ``Assignment`` (role from the side-loaded ``primary_role``); a story of ``story_type``
"milestone" is a ``Milestone`` (amount from ``budget_estimate_in_cents``, currency from its
side-loaded workspace); a rate card's versions and roles assemble into ``RateLine``s, each version
running until the day before the next one starts. Money arrives in cents.

A record that lacks a field we map from, or holds a value of the wrong type, raises
``SchemaDriftError``; one that is well formed but unusable (no contract reference, an end before
its start) raises ``RecordError``. Either concerns that record only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from collectors.amounts import amount
from collectors.entities import Assignment, Milestone, Project, RateLine, canonical_id, sourced
from collectors.errors import UNREADABLE, RecordError, SchemaDriftError
from collectors.kantata.pages import KantataPage, Raw

VENDOR = "kantata"
CRM = "salesforce"
CLOSED_STATUS_KEYS = 400  # [unconfirmed] status keys of 400 and above are the "done" group
E = TypeVar("E")
_DRIFT_TYPES = ("missing", "_type", "_parsing", "none_required")


def mapped(
    stream: str, raw: Raw, page: KantataPage, to: Callable[[Raw, KantataPage], E]
) -> E | RecordError:
    """``to(raw, page)``, or the ``RecordError``/``SchemaDriftError`` that says why it failed,
    its ``details`` the record as received."""
    ident = raw.get("id") if isinstance(raw, dict) else None
    where = f"{VENDOR} {stream} record {ident!r}"
    try:
        return to(raw, page)
    except RecordError as problem:
        if problem.details is raw:
            return problem
        return type(problem)(f"{where}: {problem}", vendor=VENDOR, details=raw)
    except UNREADABLE as problem:
        if isinstance(problem, ValidationError):
            drift = any(e["type"].endswith(_DRIFT_TYPES) for e in problem.errors())
            kind = SchemaDriftError if drift else RecordError
            return kind(f"{where}: {_summary(problem)}", vendor=VENDOR, details=raw)
        return SchemaDriftError(f"{where}: {_described(problem)}", vendor=VENDOR, details=raw)


def _described(problem: Exception) -> str:
    if isinstance(problem, KeyError):
        return f"field {problem.args[0]!r} is missing"
    if isinstance(problem, TypeError | AttributeError) and "object" in str(problem):
        return f"a value is not of the shape mapped from ({problem})"
    return f"{type(problem).__name__}: {problem}"


def _summary(problem: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in problem.errors())


def money(raw: Raw, field: str) -> Decimal | None:
    """``raw[field]``, an amount in cents, in the currency's units."""
    return amount(raw[field], field, vendor=VENDOR, places=Decimal("0.01"), scale=100)


def parse_time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def external_ref(raw: Raw, page: KantataPage, model: str) -> str | None:
    """The CRM reference of ``model`` ("Contract", "Account") among the side-loaded links."""
    for ref_id in raw["external_reference_ids"]:
        link = page.lookup("external_references", ref_id)
        if link and link.get("service_name") == CRM and link.get("service_model") == model:
            return str(link["service_model_ref"])
    return None


def to_project(raw: Raw, page: KantataPage) -> Project:
    contract, account = external_ref(raw, page, "Contract"), external_ref(raw, page, "Account")
    if not contract or not account:
        raise RecordError(
            f"{VENDOR} workspace {raw['id']} ({raw['title']!r}) has no Salesforce contract and "
            "account reference; link it in Kantata (External References) to its contract",
            vendor=VENDOR,
            details=raw,
        )
    closed = raw["archived"] or int(raw["status"]["key"]) >= CLOSED_STATUS_KEYS
    return Project(
        **sourced(VENDOR, "project", raw),
        contract_id=canonical_id(CRM, "contract", contract),
        customer_id=canonical_id(CRM, "customer", account),
        name=raw["title"],
        status="closed" if closed else "active",
        budget=money(raw, "price_in_cents"),
        currency=raw["currency"],
        start=raw["start_date"],
        end=raw["due_date"],
    )


def to_assignment(raw: Raw, page: KantataPage) -> Assignment:
    role = page.lookup("roles", raw["primary_role_id"])
    return Assignment(
        **sourced(VENDOR, "assignment", raw),
        project_id=canonical_id(VENDOR, "project", raw["workspace_id"]),
        resource_id=canonical_id(VENDOR, "resource", raw["user_id"]),
        role=role["name"] if role else None,
    )


def to_milestone(raw: Raw, page: KantataPage) -> Milestone:
    workspace = page.lookup("workspaces", raw["workspace_id"])
    if workspace is None:
        raise KeyError(f"workspace {raw['workspace_id']} was not side-loaded")
    return Milestone(
        **sourced(VENDOR, "milestone", raw),
        project_id=canonical_id(VENDOR, "project", raw["workspace_id"]),
        name=raw["title"],
        due=raw["due_date"],
        amount=money(raw, "budget_estimate_in_cents") or Decimal(0),
        currency=workspace["currency"],
        completed=raw["state"] == "completed",
    )


@dataclass(frozen=True)
class Person:
    """A Kantata user as identity resolution needs it: who the participations belong to."""

    user_id: str
    name: str
    email: str | None


def to_person(raw: Raw, page: KantataPage) -> Person:
    return Person(str(raw["id"]), str(raw["full_name"]), raw.get("email_address") or None)


@dataclass(frozen=True)
class AssembledCard:
    """One Kantata rate card with every version's role rates as dated lines."""

    card_id: str
    currency: str
    lines: tuple[RateLine, ...]
    updated_at: datetime


@dataclass(frozen=True)
class RoleRates:
    """Rate card roles by version: (role name, rate, updated); and per version, the first role
    record that could not be read (its card cannot be assembled)."""

    by_version: dict[str, list[tuple[str, Decimal, datetime]]]
    unreadable: dict[str, RecordError]


def role_rates(pages: Iterable[KantataPage]) -> RoleRates:
    """Rate card roles (fetched with ``include=role``), by version."""
    rates = RoleRates({}, {})
    for page in pages:
        for raw in page.records:
            read = mapped("rate_card_roles", raw, page, _role_rate)
            version = str(raw.get("rate_card_version_id")) if isinstance(raw, dict) else "?"
            if isinstance(read, RecordError):
                rates.unreadable.setdefault(version, read)
            else:
                rates.by_version.setdefault(version, []).append(read)
    return rates


def _role_rate(raw: Raw, page: KantataPage) -> tuple[str, Decimal, datetime]:
    role = page.lookup("roles", raw["role_id"])
    if role is None:
        raise SchemaDriftError(
            f"{VENDOR} rate card role {raw['id']}: role {raw['role_id']} not side-loaded",
            vendor=VENDOR,
            details=raw,
        )
    rate = money(raw, "rate")
    return role["name"], rate or Decimal(0), parse_time(raw["updated_at"])


def assemble_card(raw: Raw, page: KantataPage, rates: RoleRates) -> AssembledCard:
    """A rate card (fetched with ``include=rate_card_versions``) and its dated role rates. A
    card one of whose role records cannot be read cannot be assembled: that role's error is
    raised (its ``details`` the role record as received)."""
    versions = [page.lookup("rate_card_versions", v) for v in raw["rate_card_version_ids"]]
    if any(v is None for v in versions):
        raise KeyError("rate_card_versions were not side-loaded")
    for version in versions:
        unreadable = rates.unreadable.get(str((version or {}).get("id")))
        if unreadable is not None:
            raise unreadable
    dated = sorted(
        ((date.fromisoformat(v["effective_date"]), v) for v in versions if v is not None),
        key=lambda pair: pair[0],
    )
    lines: list[RateLine] = []
    stamps = [parse_time(raw["updated_at"])]
    for i, (starts, version) in enumerate(dated):
        ends = dated[i + 1][0] - timedelta(days=1) if i + 1 < len(dated) else None
        stamps.append(parse_time(version["updated_at"]))
        for role, rate, updated in rates.by_version.get(str(version["id"]), []):
            lines.append(RateLine(role=role, rate=rate, effective_from=starts, effective_to=ends))
            stamps.append(updated)
    return AssembledCard(str(raw["id"]), raw["currency"], tuple(lines), max(stamps))
