"""The world as Kantata OX records: workspaces, participations, milestones, rate cards, users.

Projects become workspaces (on the rate card of their contract), assignments participations,
milestones stories of ``story_type`` "milestone", rate cards a rate card set each with one rate
card (one per currency) whose versions carry the role rates in cents. The contract and customer a
workspace belongs to are Salesforce records, so each workspace has two external references
(``service_name`` "salesforce", ``service_model`` "Contract" and "Account", ``service_model_ref``
the Salesforce Contract and Account ids): that is how an integration links a Kantata object
to a third-party one. Money is in cents, ids are strings, times ISO 8601 UTC.

Assumed where the notes are silent [unconfirmed]: the status keys and colours (300s active,
400s completed); ``effective_date`` as the start of a rate card version (a version runs until the
next one starts); ``rate`` in cents on a rate card role; a milestone's amount in
``budget_estimate_in_cents``; invoice ``status`` values new, submitted, paid and void.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.clock import utc_text
from sandbox.vendors.kantata.query import Record, Table
from sandbox.vendors.salesforce.records import account_id as salesforce_account_id
from sandbox.vendors.salesforce.records import contract_id as salesforce_contract_id
from sandbox.world.model import (
    Assignment,
    Contract,
    Employee,
    Milestone,
    Project,
    RateCard,
    World,
)

ACCOUNT_ID = "88001"
ACTIVE = {"key": 305, "message": "Active", "color": "green"}
COMPLETED = {"key": 410, "message": "Completed", "color": "grey"}
BASES = {
    "workspace": 4_000_000,
    "user": 2_000_000,
    "participation": 5_000_000,
    "story": 6_000_000,
    "rate_card_set": 700_000,
    "rate_card": 710_000,
    "invoice": 9_000_000,
    "time_entry": 300_000_000,
}
COLLECTIONS = (
    "workspaces", "participations", "stories", "rate_card_sets", "rate_cards",
    "rate_card_versions", "rate_card_roles", "roles", "users", "invoices", "external_references",
)  # fmt: skip


def kantata_id(kind: str, world_id: int) -> str:
    """The Kantata id of a world record (deterministic; ids are strings on the wire)."""
    return str(BASES[kind] + world_id)


def stamp(moment: datetime) -> str:
    return utc_text(moment, offset="+00:00")


def cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


class Projection:
    """Builds every collection from a world; ``next_id`` hands out ids for new records."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.tables: dict[str, Table] = {name: {} for name in COLLECTIONS}
        self._counters: dict[str, int] = {}
        self._role_ids: dict[str, str] = {}
        self._card_of: dict[int, str] = {}  # world rate card id -> Kantata rate card id
        self._build()

    def next_id(self, collection: str, floor: int = 1) -> str:
        current = max(self._counters.get(collection, 0), floor)
        self._counters[collection] = current + 1
        return str(current + 1)

    def put(self, collection: str, record: Record) -> Record:
        self.tables[collection][record["id"]] = record
        return record

    def _build(self) -> None:
        world = self.world
        names = {e.role for e in world.employees}
        names.update(role for card in world.rate_cards for v in card.versions for role in v.rates)
        for name in sorted(names):
            self.role_id(name)
        for employee in world.employees:
            self.put("users", self._user(employee))
        for card in world.rate_cards:
            self._rate_card(card)
        contracts = {c.id: c for c in world.contracts}
        codes = {c.id: c.code for c in world.customers}
        for project in world.projects:
            contract = contracts[project.contract_id]
            self._workspace(project, contract, codes.get(project.customer_id, ""))
        for assignment in world.assignments:
            self.add_participation(assignment_record(assignment, self.role_id(assignment.role)))
        for milestone in world.milestones:
            self.put("stories", story(milestone))
        self._invoices()

    def role_id(self, name: str) -> str:
        if name not in self._role_ids:
            role_id = self.next_id("roles", 800_000)
            self._role_ids[name] = role_id
            self.put("roles", {"id": role_id, "name": name, "account_id": ACCOUNT_ID})
        return self._role_ids[name]

    def _user(self, employee: Employee) -> Record:
        return {
            "id": kantata_id("user", employee.id),
            "full_name": employee.name,
            "email_address": employee.email,
            "headline": employee.role,
            "account_id": ACCOUNT_ID,
            "generic": False,
            "updated_at": stamp(employee.updated_at),
            "created_at": stamp(datetime.combine(employee.hire_date, datetime.min.time(), UTC)),
        }

    def _rate_card(self, card: RateCard) -> None:
        first = min((v.effective_from for v in card.versions), default=self.world.history_start)
        made = stamp(datetime.combine(first, datetime.min.time(), UTC))
        set_id = kantata_id("rate_card_set", card.id)
        card_id = kantata_id("rate_card", card.id)
        self._card_of[card.id] = card_id
        version_ids = []
        for version in sorted(card.versions, key=lambda v: v.effective_from):
            vmade = stamp(datetime.combine(version.effective_from, datetime.min.time(), UTC))
            version_id = self.next_id("rate_card_versions", 720_000)
            version_ids.append(version_id)
            role_ids = []
            for role, rate in sorted(version.rates.items()):
                role_row = self.next_id("rate_card_roles", 730_000)
                role_ids.append(role_row)
                self.put("rate_card_roles", {
                    "id": role_row, "rate_card_version_id": version_id,
                    "role_id": self.role_id(role), "rate": cents(rate),
                    "created_at": vmade, "updated_at": vmade,
                })  # fmt: skip
            self.put("rate_card_versions", {
                "id": version_id, "rate_card_id": card_id,
                "effective_date": day(version.effective_from),
                "default_rate_in_cents": None, "rate_card_role_ids": role_ids,
                "created_at": vmade, "updated_at": vmade,
            })  # fmt: skip
        self.put("rate_card_sets", {
            "id": set_id, "title": card.name, "rate_card_ids": [card_id],
            "created_at": made, "updated_at": made,
        })  # fmt: skip
        self.put("rate_cards", {
            "id": card_id, "rate_card_set_id": set_id, "title": card.name,
            "currency": card.currency, "rate_card_version_ids": version_ids,
            "created_at": made, "updated_at": made,
        })  # fmt: skip

    def _workspace(self, project: Project, contract: Contract, customer_code: str) -> None:
        workspace_id = kantata_id("workspace", project.id)
        refs = [
            # the CRM's own record ids, as a real Kantata–Salesforce link stores them
            self.add_reference(
                workspace_id, "Contract", salesforce_contract_id(contract.id), project.created_at
            ),
            self.add_reference(
                workspace_id,
                "Account",
                salesforce_account_id(project.customer_id),
                project.created_at,
            ),
        ]
        self.put("workspaces", {
            "id": workspace_id, "title": project.name, "description": project.code,
            "account_id": ACCOUNT_ID, "archived": False,
            "start_date": day(project.start), "due_date": day(project.end or contract.end),
            "effective_due_date": day(project.end or contract.end),
            "budgeted": project.budget is not None,
            "price": None if project.budget is None else f"{project.budget:.2f}",
            "price_in_cents": cents(project.budget), "currency": project.currency,
            "rate_card_id": self._card_of.get(contract.rate_card_id), "default_rate": None,
            "require_time_approvals": True, "require_expense_approvals": False,
            "status": dict(ACTIVE if project.status == "active" else COMPLETED),
            "percentage_complete": 0, "budget_used_in_cents": 0, "over_budget": False,
            "creator_id": None, "primary_maven_id": None, "primary_counterpart_id": None,
            "participant_ids": [], "participation_ids": [], "workspace_group_ids": [],
            "external_reference_ids": refs,
            "created_at": stamp(project.created_at), "updated_at": stamp(project.updated_at),
        })  # fmt: skip

    def add_reference(self, workspace_id: str, model: str, ref: str, when: datetime) -> str:
        ref_id = self.next_id("external_references", 950_000)
        self.put("external_references", {
            "id": ref_id, "subject_type": "Workspace", "subject_id": workspace_id,
            "service_name": "salesforce", "service_model": model, "service_model_ref": ref,
            "external_link": None, "external_status": None, "external_message": None,
            "status": "successful", "locked": False, "last_synced_at": stamp(when),
            "created_at": stamp(when), "updated_at": stamp(when),
        })  # fmt: skip
        return ref_id

    def add_participation(self, record: Record) -> Record:
        workspace = self.tables["workspaces"].get(record["workspace_id"])
        if workspace is not None:
            workspace["participation_ids"].append(record["id"])
            if record["user_id"] not in workspace["participant_ids"]:
                workspace["participant_ids"].append(record["user_id"])
        return self.put("participations", record)

    def _invoices(self) -> None:
        paid: dict[int, Decimal] = {}
        for payment in self.world.payments:
            paid[payment.invoice_id] = paid.get(payment.invoice_id, Decimal(0)) + payment.amount
        by_contract: dict[int, list[str]] = {}
        for project in self.world.projects:
            ws = kantata_id("workspace", project.id)
            by_contract.setdefault(project.contract_id, []).append(ws)
        for invoice in self.world.invoices:
            balance = invoice.total - paid.get(invoice.id, Decimal(0))
            settled = balance <= 0
            self.put("invoices", {
                "id": kantata_id("invoice", invoice.id),
                "workspace_ids": by_contract.get(invoice.contract_id, []),
                "invoice_date": day(invoice.issue_date), "due_date": day(invoice.due_date),
                "status": "paid" if settled else "submitted", "paid": settled, "draft": False,
                "balance_in_cents": 0 if settled else cents(balance),
                "currency": invoice.currency, "user_invoice_number": invoice.number,
                "time_entry_ids": [], "expense_ids": [], "fixed_fee_item_ids": [],
                "additional_item_ids": [], "purchase_order": None, "tax_rate": 0,
                "created_at": stamp(invoice.updated_at), "updated_at": stamp(invoice.updated_at),
            })  # fmt: skip


def new_workspace(workspace_id: str, fields: dict[str, Any], when: str) -> Record:
    """A workspace created over the API from validated ``fields``."""
    price = fields["price_in_cents"]
    return {
        "id": workspace_id, **fields, "account_id": ACCOUNT_ID, "archived": False,
        "effective_due_date": fields["due_date"], "budgeted": price is not None,
        "price": None if price is None else f"{price / 100:.2f}", "default_rate": None,
        "require_expense_approvals": False, "status": dict(ACTIVE), "percentage_complete": 0,
        "budget_used_in_cents": 0, "over_budget": False, "creator_id": None,
        "primary_maven_id": None, "primary_counterpart_id": None, "participant_ids": [],
        "participation_ids": [], "workspace_group_ids": [], "external_reference_ids": [],
        "created_at": when, "updated_at": when,
    }  # fmt: skip


def assignment_record(assignment: Assignment, role_id: str) -> Record:
    when = stamp(assignment.updated_at)
    return {
        "id": kantata_id("participation", assignment.id),
        "workspace_id": kantata_id("workspace", assignment.project_id),
        "user_id": kantata_id("user", assignment.employee_id),
        "role": "maven",
        "primary_role_id": role_id,
        "created_at": when,
        "updated_at": when,
    }


def story(milestone: Milestone) -> Record:
    when = stamp(milestone.updated_at)
    done = milestone.completed_on is not None
    return {
        "id": kantata_id("story", milestone.id),
        "title": milestone.name,
        "description": "",
        "story_type": "milestone",
        "state": "completed" if done else "not started",
        "workspace_id": kantata_id("workspace", milestone.project_id),
        "parent_id": None,
        "root_id": None,
        "start_date": None,
        "due_date": day(milestone.due),
        "percentage_complete": 100 if done else 0,
        "budget_estimate_in_cents": cents(milestone.amount),
        "budget_used_in_cents": 0,
        "billable": True,
        "fixed_fee": True,
        "archived": False,
        "deleted_at": None,
        "created_at": when,
        "updated_at": when,
    }
