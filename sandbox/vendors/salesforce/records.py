"""The Salesforce org's records: projected from the world, then changed through the API.

``project(world)`` turns customers, opportunities and contracts into Account, Opportunity and
Contract records (Python values: ``datetime``, ``date``, ``Decimal``, ``bool``, ``str``).
``Store`` holds them, applies updates and deletions (each bumps ``SystemModstamp``), keeps the
delete log that ``getDeleted`` reads, and journals changes so a composite ``allOrNone`` request
can roll back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sandbox.vendors.salesforce.schema import ACCOUNT, CONTRACT, OPPORTUNITY, record_id
from sandbox.world.model import Contract, Customer, Opportunity, World

Record = dict[str, Any]

BILLING_MODELS = {
    "time-and-materials": "Time and Materials",
    "fixed-fee": "Fixed Fee",
    "milestone": "Milestone",
    "retainer": "Retainer",
}
# Default probabilities of Salesforce's sample StageName picklist (per-org configurable).
STAGE_PROBABILITY = {
    "Prospecting": 10,
    "Qualification": 10,
    "Needs Analysis": 20,
    "Value Proposition": 50,
    "Id. Decision Makers": 60,
    "Perception Analysis": 70,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
}
# World contract status → (Status, StatusCode). An expired contract stays Activated with an
# EndDate in the past: Expired and Terminated cannot be set through the API.
CONTRACT_STATUS = {
    "draft": ("Draft", "Draft"),
    "activated": ("Activated", "Activated"),
    "expired": ("Activated", "Activated"),
}


def account_id(world_id: int) -> str:
    return record_id(ACCOUNT.prefix, world_id)


def opportunity_id(world_id: int) -> str:
    return record_id(OPPORTUNITY.prefix, world_id)


def contract_id(world_id: int) -> str:
    return record_id(CONTRACT.prefix, world_id)


def project(world: World) -> dict[str, dict[str, Record]]:
    """The org's records by type and id, as the world stands."""
    regions = {r.id: r for r in world.regions}
    entities = {e.id: e.name for e in world.legal_entities}
    accounts = [_account(c, regions, entities) for c in world.customers]
    opportunities = [_opportunity(o) for o in world.opportunities]
    contracts = [_contract(c, entities) for c in world.contracts]
    return {
        "Account": {r["Id"]: r for r in accounts},
        "Opportunity": {r["Id"]: r for r in opportunities},
        "Contract": {r["Id"]: r for r in contracts},
    }


def _audit(created: datetime, updated: datetime) -> Record:
    return {
        "IsDeleted": False,
        "CreatedDate": min(created, updated),
        "LastModifiedDate": updated,
        "SystemModstamp": updated,
    }


def _account(customer: Customer, regions: dict[int, Any], entities: dict[int, str]) -> Record:
    region = regions.get(customer.region_id)
    return {
        "Id": account_id(customer.id),
        "Name": customer.name,
        "Type": "Customer",
        "ParentId": account_id(customer.parent_id) if customer.parent_id else None,
        "Industry": customer.industry,
        "BillingCountry": region.country if region else None,
        "CurrencyIsoCode": customer.currency,
        "Region__c": region.name if region else None,
        "Legal_Entity__c": entities.get(customer.legal_entity_id),
        "Payment_Terms_Days__c": float(customer.payment_terms_days),
        "AR_Balance__c": None,  # written back by plan2cash; nobody kept it before go-live
        "AR_Overdue__c": None,
        "AR_Updated__c": None,
        **_audit(customer.created_at, customer.updated_at),
    }


def _opportunity(opportunity: Opportunity) -> Record:
    closed = opportunity.won is not None or opportunity.stage.startswith("Closed")
    won = opportunity.won is True
    return {
        "Id": opportunity_id(opportunity.id),
        "AccountId": account_id(opportunity.customer_id),
        "Name": opportunity.name,
        "StageName": opportunity.stage,
        "Amount": opportunity.amount,
        "Probability": float(STAGE_PROBABILITY.get(opportunity.stage, 50)),
        "CloseDate": opportunity.close_date,
        "IsClosed": closed,
        "IsWon": won,
        "ForecastCategory": "Closed" if won else ("Omitted" if closed else "Pipeline"),
        "CurrencyIsoCode": opportunity.currency,
        **_audit(opportunity.created_at, opportunity.updated_at),
    }


def _contract(contract: Contract, entities: dict[int, str]) -> Record:
    status, code = CONTRACT_STATUS[contract.status]
    created = contract.activated_at or contract.updated_at
    return {
        "Id": contract_id(contract.id),
        "AccountId": account_id(contract.customer_id),
        "Name": contract.name,
        "ContractNumber": contract.number,
        "Status": status,
        "StatusCode": code,
        "StartDate": contract.start,
        "EndDate": contract.end,
        "ContractTerm": _months(contract.start, contract.end),
        "ActivatedDate": contract.activated_at if code == "Activated" else None,
        "Billing_Model__c": BILLING_MODELS[contract.billing_model],
        "CurrencyIsoCode": contract.currency,
        "Not_To_Exceed__c": contract.not_to_exceed,
        "Fee__c": contract.fee,
        "Rate_Card__c": str(contract.rate_card_id),
        "Legal_Entity__c": entities.get(contract.legal_entity_id),
        "Opportunity__c": opportunity_id(contract.opportunity_id),
        **_audit(created, contract.updated_at),
    }


def _months(start: date, end: date) -> int:
    """ContractTerm: EndDate is StartDate plus the term in months, less a day."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return max(1, months + (1 if end.day >= start.day - 1 else 0))


@dataclass(frozen=True)
class Deletion:
    type: str
    id: str
    deleted_at: datetime


Journal = list[tuple[str, str, Record]]


class Store:
    """Records by type and id; every change is stamped and, inside a transaction, journaled."""

    def __init__(self, records: dict[str, dict[str, Record]]) -> None:
        self._records = records
        self.deletions: list[Deletion] = []
        self.lock = threading.RLock()
        self._journal: Journal | None = None

    def get(self, type_name: str, record: str) -> Record | None:
        return self._records.get(type_name, {}).get(record)

    def all(self, type_name: str) -> Iterator[Record]:
        return iter(self._records.get(type_name, {}).values())

    def update(self, type_name: str, record: str, stamp: datetime, **fields: Any) -> Record:
        """Set fields and bump ``LastModifiedDate`` and ``SystemModstamp``."""
        with self.lock:
            current = self._records[type_name][record]
            self._remember(type_name, record, current)
            current.update(fields, LastModifiedDate=stamp, SystemModstamp=stamp)
            return current

    def delete(self, type_name: str, record: str, stamp: datetime) -> None:
        """Move a record to the recycle bin: ``IsDeleted`` and an entry in the delete log."""
        self.update(type_name, record, stamp, IsDeleted=True)
        self.deletions.append(Deletion(type_name, record, stamp))

    def _remember(self, type_name: str, record: str, current: Record) -> None:
        if self._journal is not None:
            self._journal.append((type_name, record, dict(current)))

    def begin(self) -> None:
        with self.lock:
            self._journal = []

    def commit(self) -> None:
        with self.lock:
            self._journal = None

    def rollback(self) -> None:
        """Undo every change since ``begin`` (newest first), deletions included."""
        with self.lock:
            journal, self._journal = self._journal or [], None
            for type_name, record, before in reversed(journal):
                self._records[type_name][record] = before
                if not before["IsDeleted"]:
                    self.deletions = [
                        d for d in self.deletions if (d.type, d.id) != (type_name, record)
                    ]
