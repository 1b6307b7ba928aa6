"""The three sObjects the emulator serves, their fields and types, and Salesforce record ids.

Field names are the API names (custom fields end in ``__c``); SOQL resolves them without regard
to case and answers with these spellings. Lookups have a relationship name for ``Rel.Field``
paths (``Account.Name``, custom lookups ``Opportunity__c`` → ``Opportunity__r``).

Ids are 18 characters: a 3-character key prefix (001 Account, 006 Opportunity, 800 Contract), a
pod-like ``Hs0``, nine base-62 characters derived from the world id, and the documented
case-safe suffix (three characters encoding which of each five characters are upper case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

FieldType = Literal[
    "id", "reference", "string", "picklist", "datetime", "date", "currency", "double", "int",
    "percent", "boolean",
]  # fmt: skip
NUMERIC: frozenset[str] = frozenset({"currency", "double", "int", "percent"})
TEXT: frozenset[str] = frozenset({"id", "reference", "string", "picklist"})
SYSTEM_FIELDS = frozenset({"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"})


@dataclass(frozen=True)
class Lookup:
    """A reference field's relationship: ``name`` in SOQL paths, pointing at ``target``."""

    field: str
    name: str
    target: str


@dataclass(frozen=True)
class SObject:
    """One sObject type: key prefix, typed fields, lookups, and fields a client may not write."""

    name: str
    prefix: str
    fields: dict[str, FieldType]
    lookups: tuple[Lookup, ...] = ()
    read_only: frozenset[str] = field(default_factory=frozenset)

    def resolve(self, name: str) -> str | None:
        """The API name of field ``name`` (any case), or ``None`` if there is none."""
        return _folded(self).get(name.casefold())

    def lookup(self, relationship: str) -> Lookup | None:
        for lookup in self.lookups:
            if lookup.name.casefold() == relationship.casefold():
                return lookup
        return None

    def updateable(self, name: str) -> bool:
        return name not in SYSTEM_FIELDS and name not in self.read_only


_FOLDED: dict[str, dict[str, str]] = {}


def _folded(sobject: SObject) -> dict[str, str]:
    if sobject.name not in _FOLDED:
        _FOLDED[sobject.name] = {f.casefold(): f for f in sobject.fields}
    return _FOLDED[sobject.name]


_AUDIT: dict[str, FieldType] = {
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
}

ACCOUNT = SObject(
    "Account",
    "001",
    {
        "Id": "id",
        "IsDeleted": "boolean",
        "Name": "string",
        "Type": "picklist",
        "ParentId": "reference",
        "Industry": "picklist",
        "BillingCountry": "string",
        "CurrencyIsoCode": "picklist",
        "Region__c": "picklist",
        "Legal_Entity__c": "string",
        "Payment_Terms_Days__c": "double",
        "AR_Balance__c": "currency",
        "AR_Overdue__c": "currency",
        "AR_Updated__c": "datetime",
        **_AUDIT,
    },
    (Lookup("ParentId", "Parent", "Account"),),
)

OPPORTUNITY = SObject(
    "Opportunity",
    "006",
    {
        "Id": "id",
        "IsDeleted": "boolean",
        "AccountId": "reference",
        "Name": "string",
        "StageName": "picklist",
        "Amount": "currency",
        "Probability": "percent",
        "CloseDate": "date",
        "IsClosed": "boolean",
        "IsWon": "boolean",
        "ForecastCategory": "picklist",
        "CurrencyIsoCode": "picklist",
        **_AUDIT,
    },
    (Lookup("AccountId", "Account", "Account"),),
    frozenset({"IsClosed", "IsWon", "ForecastCategory"}),
)

CONTRACT = SObject(
    "Contract",
    "800",
    {
        "Id": "id",
        "IsDeleted": "boolean",
        "AccountId": "reference",
        "Name": "string",
        "ContractNumber": "string",
        "Status": "picklist",
        "StatusCode": "picklist",
        "StartDate": "date",
        "EndDate": "date",
        "ContractTerm": "int",
        "ActivatedDate": "datetime",
        "Billing_Model__c": "picklist",
        "CurrencyIsoCode": "picklist",
        "Not_To_Exceed__c": "currency",
        "Fee__c": "currency",
        "Rate_Card__c": "string",
        "Legal_Entity__c": "string",
        "Opportunity__c": "reference",
        **_AUDIT,
    },
    (
        Lookup("AccountId", "Account", "Account"),
        Lookup("Opportunity__c", "Opportunity__r", "Opportunity"),
    ),
    frozenset({"ContractNumber", "StatusCode", "EndDate", "ActivatedDate"}),
)

SOBJECTS: dict[str, SObject] = {s.name: s for s in (ACCOUNT, OPPORTUNITY, CONTRACT)}
PREFIXES: dict[str, SObject] = {s.prefix: s for s in SOBJECTS.values()}


def sobject(name: str) -> SObject | None:
    """The sObject called ``name`` (any case)."""
    for candidate in SOBJECTS.values():
        if candidate.name.casefold() == name.casefold():
            return candidate
    return None


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SPREAD = 2654435761  # odd and prime to 62: a bijection on 62**9 that scatters serial numbers
_SPACE = 62**9


def record_id(prefix: str, number: int) -> str:
    """The deterministic 18-character id of world record ``number`` with key ``prefix``."""
    value = (number * _SPREAD) % _SPACE
    digits = ""
    for _ in range(9):
        value, rest = divmod(value, 62)
        digits = _BASE62[rest] + digits
    short = f"{prefix}Hs0{digits}"
    return short + case_safe_suffix(short)


def case_safe_suffix(short_id: str) -> str:
    """The three characters that make a 15-character id unique without regard to case."""
    suffix = ""
    for chunk in range(3):
        part = short_id[chunk * 5 : chunk * 5 + 5]
        flags = sum(1 << i for i, c in enumerate(part) if "A" <= c <= "Z")
        suffix += _SUFFIX[flags]
    return suffix


def coerce(kind: FieldType, value: Any) -> Any:
    """A JSON value written to a field of type ``kind``, as stored; ``ValueError`` if it does not
    fit (Salesforce answers ``JSON_PARSER_ERROR``)."""
    if value is None:
        return None
    try:
        if kind in NUMERIC and not isinstance(value, bool):
            number = Decimal(str(value))
            if number.is_finite():
                return number
        elif kind == "datetime" and isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        elif kind == "date" and isinstance(value, str):
            return date.fromisoformat(value)
        elif kind == "boolean" and isinstance(value, bool):
            return value
        elif kind in TEXT or kind == "string":
            return str(value)
    except (InvalidOperation, ValueError):
        pass
    raise ValueError(f"Cannot deserialize instance of {kind} from value {value!r}")
