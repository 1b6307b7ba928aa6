"""Salesforce records ⇄ canonical entities: the only place Salesforce field names are read.

Account → ``Customer``; Contract (with its Opportunity through ``Opportunity__r``) →
``Contract``; a won Opportunity → ``WonOpportunity`` (the trigger of the customer and contract
flow). A record whose shape has drifted (a field missing or renamed, a value that no longer
parses, a picklist value we do not know) raises ``SchemaDriftError`` naming the field; a record
that parses but breaks a canonical rule raises ``RecordError``. Either way it is this one
record, so the engine can quarantine it and let the rest of the page flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from collectors.amounts import amount
from collectors.entities import BillingModel, Contract, Customer, Entity, canonical_id
from collectors.errors import RecordError, SchemaDriftError

VENDOR = "salesforce"
E = TypeVar("E", bound=Entity)

BILLING_MODELS = {
    "Time and Materials": BillingModel.TIME_AND_MATERIALS,
    "Fixed Fee": BillingModel.FIXED_FEE,
    "Milestone": BillingModel.MILESTONE,
    "Retainer": BillingModel.RETAINER,
}
CONTRACT_STATUS = {
    "Draft": "draft",
    "InApproval": "draft",
    "Activated": "active",
    "Expired": "closed",
    "Terminated": "closed",
}


@dataclass(frozen=True)
class WonOpportunity:
    """A Closed Won opportunity: the deal that starts provisioning its customer and contract."""

    id: str
    source_id: str
    customer_id: str
    name: str
    amount: Decimal | None
    currency: str | None
    close_date: date | None
    updated_at: datetime


def customer_id(account_id: str) -> str:
    return canonical_id(VENDOR, "customer", account_id)


def contract_id(sf_contract_id: str) -> str:
    return canonical_id(VENDOR, "contract", sf_contract_id)


def to_customer(raw: dict[str, Any]) -> Customer:
    """An Account as the canonical billing customer."""
    record = _Fields(raw, "Account")
    parent = record.text("ParentId", required=False)
    terms = record.number("Payment_Terms_Days__c")
    return record.build(
        Customer,
        id=customer_id(record.id),
        name=record.text("Name"),
        currency=record.text("CurrencyIsoCode"),
        legal_entity=record.text("Legal_Entity__c", required=False),
        payment_terms_days=int(terms) if terms is not None else 30,
        region=record.text("Region__c", required=False),
        parent_id=customer_id(parent) if parent else None,
        active=not record.value("IsDeleted"),
    )


def to_contract(raw: dict[str, Any]) -> Contract:
    """An activated Contract (and the Opportunity it came from, when selected) as a Contract."""
    record = _Fields(raw, "Contract")
    model_label = record.text("Billing_Model__c", required=False)
    model = _choice(record, "Billing_Model__c", model_label, BILLING_MODELS)
    model = model or BillingModel.TIME_AND_MATERIALS
    status = _choice(record, "StatusCode", record.text("StatusCode"), CONTRACT_STATUS)
    cap = record.money("Not_To_Exceed__c")
    if cap is None and model is BillingModel.FIXED_FEE:
        cap = record.money("Fee__c")  # a fixed fee is also the most the contract can bill
    rate_card = record.text("Rate_Card__c", required=False)
    opportunity = raw.get("Opportunity__r")
    deal_name = opportunity.get("Name") if isinstance(opportunity, dict) else None
    name = record.text("Name", required=False) or deal_name
    return record.build(
        Contract,
        id=contract_id(record.id),
        customer_id=customer_id(record.text("AccountId")),
        name=name or record.text("ContractNumber"),
        billing_model=model,
        currency=record.text("CurrencyIsoCode"),
        rate_card_id=canonical_id(VENDOR, "rate_card", rate_card) if rate_card else None,
        not_to_exceed=cap,
        start=record.day("StartDate"),
        end=record.day("EndDate"),
        status=status,
    )


def to_won_opportunity(raw: dict[str, Any]) -> WonOpportunity:
    record = _Fields(raw, "Opportunity")
    if record.value("IsWon") is not True:
        raise RecordError(f"{VENDOR} Opportunity {record.id} is not won", vendor=VENDOR)
    return WonOpportunity(
        id=canonical_id(VENDOR, "opportunity", record.id),
        source_id=record.id,
        customer_id=customer_id(record.text("AccountId")),
        name=record.text("Name"),
        amount=record.money("Amount"),
        currency=record.text("CurrencyIsoCode", required=False),
        close_date=record.day("CloseDate"),
        updated_at=record.modstamp(),
    )


def cursor_of(raw: dict[str, Any]) -> datetime:
    """The record's ``SystemModstamp``: the cursor of every Salesforce stream."""
    return _Fields(raw, "record").modstamp()


def parse_datetime(value: str) -> datetime:
    """``2013-05-20T20:49:32.000+0000`` (or any ISO 8601 form) as an aware UTC datetime."""
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 → +00:00 for Python 3.11
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    """An aware datetime the way Salesforce writes them."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def _choice(record: _Fields, field: str, value: str | None, known: dict[str, Any]) -> Any:
    if value is None:
        return None
    if value not in known:
        raise record.drift(field, f"has a value we do not map: {value!r}")
    return known[value]


class _Fields:
    """Typed access to one raw record; every problem names the record and the field."""

    def __init__(self, raw: dict[str, Any], kind: str) -> None:
        if not isinstance(raw, dict):
            raise SchemaDriftError(f"{VENDOR} {kind}: record is not an object", vendor=VENDOR)
        self.raw = raw
        attributes = raw.get("attributes")
        self.kind = attributes.get("type", kind) if isinstance(attributes, dict) else kind
        self.id = str(raw.get("Id") or "?")
        if raw.get("Id") is None:
            raise self.drift("Id", "is missing")

    def drift(self, field: str, problem: str) -> SchemaDriftError:
        return SchemaDriftError(
            f"{VENDOR} {self.kind} {self.id}: field {field!r} {problem}",
            vendor=VENDOR,
            details={"field": field, "record": self.id},
        )

    def value(self, field: str) -> Any:
        if field not in self.raw:
            raise self.drift(field, "is missing (renamed or removed?)")
        return self.raw[field]

    def text(self, field: str, *, required: bool = True) -> Any:
        value = self.value(field)
        if value is None and required:
            raise RecordError(
                f"{VENDOR} {self.kind} {self.id}: {field} is empty",
                vendor=VENDOR,
                details={"field": field, "record": self.id},
            )
        if value is not None and not isinstance(value, str):
            raise self.drift(field, f"is not text: {value!r}")
        return value

    def number(self, field: str, places: Decimal | None = None) -> Decimal | None:
        value = self.value(field)
        try:
            return amount(value, field, vendor=VENDOR, places=places)
        except SchemaDriftError:
            raise self.drift(field, f"is not a number: {value!r}") from None

    def money(self, field: str) -> Decimal | None:
        return self.number(field, Decimal("0.01"))

    def day(self, field: str) -> date | None:
        value = self.value(field)
        try:
            return None if value is None else date.fromisoformat(str(value))
        except ValueError:
            raise self.drift(field, f"is not a date: {value!r}") from None

    def modstamp(self) -> datetime:
        value = self.value("SystemModstamp")
        try:
            return parse_datetime(str(value))
        except ValueError:
            raise self.drift("SystemModstamp", f"is not a datetime: {value!r}") from None

    def build(self, model: type[E], **fields: Any) -> E:
        try:
            return model(source=VENDOR, source_id=self.id, updated_at=self.modstamp(), **fields)
        except ValidationError as invalid:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in invalid.errors()
            )
            raise RecordError(
                f"{VENDOR} {self.kind} {self.id}: {problems}",
                vendor=VENDOR,
                details={"record": self.id, "errors": problems},
            ) from None
