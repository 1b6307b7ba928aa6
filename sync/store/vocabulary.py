"""The store's vocabularies: every word a status, category, flow or kind column may hold.

Each is a ``StrEnum``, so a member *is* its string: ``ExceptionStatus.OPEN == "open"``, it binds
to SQL as ``'open'`` and it serialises to JSON as ``"open"``. The stored values are these strings
on every dialect; code that still compares with a bare string keeps working.

Sets that several places ask about (which exceptions still need someone, which outbox items are
due) are defined here once, next to the words they are made of.
"""

from __future__ import annotations

from enum import StrEnum


class ExceptionStatus(StrEnum):
    """Where a dead letter stands. ``open`` and ``retrying`` still need someone; ``resolved`` is
    done (fixed, replayed or cured by a later run); ``ignored`` is a person's decision to leave
    it, which a later run does not reopen."""

    OPEN = "open"
    RETRYING = "retrying"
    RESOLVED = "resolved"
    IGNORED = "ignored"


OPEN_STATUSES: tuple[ExceptionStatus, ...] = (ExceptionStatus.OPEN, ExceptionStatus.RETRYING)
"""The exceptions that still need someone (the triage queue, the KPIs, the alerts)."""

UNRESOLVED_STATUSES: tuple[ExceptionStatus, ...] = (*OPEN_STATUSES, ExceptionStatus.IGNORED)
"""The exceptions that still hold their record back: open ones and ignored ones."""


class ExceptionCategory(StrEnum):
    """Why a record could not flow. The billing rules' categories come first (in the order the
    rules judge an entry), then the reference, invoicing, delivery and reconciliation ones."""

    # billing rules (sync.rules): a time entry that cannot be billed as it stands
    MALFORMED = "malformed"
    NEGATIVE_HOURS = "negative_hours"
    OVER_24H = "over_24h"
    UNKNOWN_PROJECT = "unknown_project"
    CLOSED_PROJECT = "closed_project"
    INACTIVE_CONTRACT = "inactive_contract"
    CURRENCY_MISMATCH = "currency_mismatch"
    TERMINATED_RESOURCE = "terminated_resource"
    NO_ASSIGNMENT = "no_assignment"
    RATE_CARD_MISSING = "rate_card_missing"
    CLOSED_PERIOD = "closed_period"
    DUPLICATE = "duplicate"
    OVER_CAP = "over_cap"
    # time that changed after it was billed
    EDITED_AFTER_INVOICED = "edited_after_invoiced"
    DELETED_AFTER_INVOICED = "deleted_after_invoiced"
    # reference data: customers, people, projects, staffing
    INVALID_RECORD = "invalid_record"
    UNKNOWN_CUSTOMER = "unknown_customer"
    UNKNOWN_RESOURCE = "unknown_resource"
    IDENTITY_AMBIGUOUS = "identity_ambiguous"
    NO_LEGAL_ENTITY = "no_legal_entity"
    PROVISIONING_FAILED = "provisioning_failed"
    TERMINATED_WITH_ASSIGNMENTS = "terminated_with_assignments"
    # delivery to the ERP and status back to the CRM
    MISSING_REFERENCE = "missing_reference"
    ERP_REJECTED = "erp_rejected"
    DELIVERY_FAILED = "delivery_failed"
    CRM_REJECTED = "crm_rejected"
    # reconciliation
    UNRECONCILED_MONEY = "unreconciled_money"


class Flow(StrEnum):
    """The engine's flows, in the order one pass runs them (each may use what the ones before
    it stored)."""

    CUSTOMERS = "customers"
    PEOPLE = "people"
    REFERENCE = "reference"
    BILLABLE = "billable"
    INVOICING = "invoicing"
    OUTBOX = "outbox"
    STATUS_BACK = "status_back"
    RECONCILE = "reconcile"
    ROLLUPS = "rollups"


class RunStatus(StrEnum):
    """How a flow run went. A run row is ``running`` until it ends ``succeeded`` or ``failed``;
    ``skipped`` is only reported (the flow was already running), never stored."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class ErpSystem(StrEnum):
    """The ERPs plan2cash posts to. The value is the ERP's system name everywhere: its
    configuration section, its cross-references (``<erp>`` ids, ``<erp>_org`` per company), its
    cursors and its record keys."""

    XERO = "xero"
    DYNAMICS365 = "dynamics365"
    ORACLE_FUSION = "oracle_fusion"
    NETSUITE = "netsuite"


class OutboxKind(StrEnum):
    """The side effect an outbox item asks for, as ``<system>.<document>.<verb>``. The values
    name Xero because they are stored and were coined when it was the only ERP; the ERP an item
    goes to is its route (payload ``erp``, column ``system``), whatever its kind says."""

    INVOICE_CREATE = "xero.invoice.create"
    CREDIT_NOTE_CREATE = "xero.credit_note.create"


class OutboxStatus(StrEnum):
    """Where an outbox item stands. ``pending`` and ``retrying`` are due for delivery;
    ``delivered`` is done; ``failed`` (the vendor refused it) and ``dead`` (retries spent) wait
    for a person, with an exception saying why, and go back to ``pending`` on replay."""

    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


DUE_STATUSES: tuple[OutboxStatus, ...] = (OutboxStatus.PENDING, OutboxStatus.RETRYING)
"""The outbox items the delivery loop picks up."""


class InvoiceStatus(StrEnum):
    """An invoice's status: ``pending`` until posted to the ERP (``failed`` if it was refused),
    then as the ERP reports it (``draft``, ``posted``, ``paid``, ``voided``)."""

    PENDING = "pending"
    FAILED = "failed"
    DRAFT = "draft"
    POSTED = "posted"
    PAID = "paid"
    VOIDED = "voided"


SETTLED_INVOICE_STATUSES: tuple[InvoiceStatus, ...] = (InvoiceStatus.POSTED, InvoiceStatus.PAID)
"""The invoices the ERP holds as issued (what receivables and reconciliation count)."""


class CompensationKind(StrEnum):
    """How time changed after invoicing is made good: a credit note against the original
    invoice, or an adjustment on the contract's next invoice."""

    CREDIT_NOTE = "credit_note"
    ADJUSTMENT = "adjustment"


class CompensationStatus(StrEnum):
    """A compensation's status: ``pending`` until posted (``failed`` if refused), ``posted``, or
    ``withdrawn`` when the time changed again before it went out and it is no longer owed."""

    PENDING = "pending"
    FAILED = "failed"
    POSTED = "posted"
    WITHDRAWN = "withdrawn"


class Severity(StrEnum):
    """How soon a person must act: ``page`` now, ``ticket`` within the working day, ``info`` FYI."""

    PAGE = "page"
    TICKET = "ticket"
    INFO = "info"


class AlertStatus(StrEnum):
    """An alert's condition holds (``firing``) or has cleared (``resolved``)."""

    FIRING = "firing"
    RESOLVED = "resolved"


class ChannelKind(StrEnum):
    """The channels plan2cash notifies through."""

    EMAIL = "email"
    SLACK = "slack"


class AlertState(StrEnum):
    """Where an alert instance stands: its condition holds but not yet for the rule's ``for``
    (``pending``), it fires, or it has cleared (``resolved``). A notification is about a group
    that is ``firing`` (any alert of it fires) or ``resolved`` (none does)."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class DeliveryStatus(StrEnum):
    """Where one notification stands: ``pending`` until tried, ``retrying`` after a failure a
    later attempt may cure (``next_attempt_at`` says when), ``sent``, or ``failed`` (refused for
    good, or its attempts spent), which is shown and not tried again."""

    PENDING = "pending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"


UNSENT_STATUSES: tuple[DeliveryStatus, ...] = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
"""The notifications the delivery step picks up once their ``next_attempt_at`` has come."""


__all__ = [
    "DUE_STATUSES",
    "OPEN_STATUSES",
    "SETTLED_INVOICE_STATUSES",
    "UNRESOLVED_STATUSES",
    "UNSENT_STATUSES",
    "AlertState",
    "AlertStatus",
    "ChannelKind",
    "CompensationKind",
    "CompensationStatus",
    "DeliveryStatus",
    "ErpSystem",
    "ExceptionCategory",
    "ExceptionStatus",
    "Flow",
    "InvoiceStatus",
    "OutboxKind",
    "OutboxStatus",
    "RunStatus",
    "Severity",
]
