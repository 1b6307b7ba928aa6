"""How a Xero batch save plans its elements, the same for invoices and credit notes.

Each element becomes a plan: the proposed state, the stored document it updates (``None`` for a
new one) and the reasons Xero would refuse it. Numbers of sales documents are unique within the
organisation: a valid element takes its number, so a later element of the same batch that repeats
it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.vendors import xero_invoices

Record = dict[str, Any]
Plan = tuple[Any, Record, str | None, list[str]]
Outcome = tuple[bool, list[Record]]
Validate = Callable[[Record, set[str], Record | None], list[str]]
"""``(proposal, numbers taken by others, stored document or None) -> problems``."""
Apply = Callable[[Record, str | None], Record]
"""``(proposal, id of the stored document or None) -> the saved document as Xero echoes it``."""


@dataclass(frozen=True)
class DocumentKind:
    """A kind of numbered document: the fields that identify it and the type that is a sale."""

    noun: str
    article: str
    id_field: str
    number_field: str
    sales_type: str


INVOICE = DocumentKind("invoice", "An", "InvoiceID", "InvoiceNumber", "ACCREC")
CREDIT_NOTE = DocumentKind("credit note", "A", "CreditNoteID", "CreditNoteNumber", "ACCRECCREDIT")


@dataclass(frozen=True)
class BatchSave:
    """Saves batches of one kind of document into ``stored``: every element is validated
    first; with ``summarize``, one invalid element refuses the batch and nothing is saved,
    without it the valid ones are applied and the others come back refused. The caller holds
    the lock."""

    kind: DocumentKind
    stored: dict[str, Record]
    validate: Validate
    apply: Apply

    def __call__(
        self, elements: list[Any], *, create_only: bool, summarize: bool, path_id: str | None
    ) -> Outcome:
        plans = plan_batch(
            self.kind,
            self.stored,
            elements,
            create_only=create_only,
            path_id=path_id,
            validate=self.validate,
        )
        if (refused := refusals([(e, p) for e, _, _, p in plans], summarize)) is not None:
            return False, refused
        return True, [
            xero_invoices.refused(element, problems) if problems else self.apply(prop, target)
            for element, prop, target, problems in plans
        ]


def plan_batch(
    kind: DocumentKind,
    stored: dict[str, Record],
    elements: list[Any],
    *,
    create_only: bool,
    path_id: str | None,
    validate: Validate,
) -> list[Plan]:
    """Every element's plan, in order, each against the numbers taken so far."""
    taken = {
        d[kind.number_field]
        for d in stored.values()
        if d["Type"] == kind.sales_type and d["Status"] != "DELETED"
    }
    plans: list[Plan] = []
    for element in elements:
        proposal, target, problems = plan_one(
            kind,
            stored,
            element,
            create_only=create_only,
            taken=taken,
            path_id=path_id,
            validate=validate,
        )
        if not problems and proposal.get("Type") == kind.sales_type:
            taken.add(str(proposal.get(kind.number_field) or ""))
        plans.append((element, proposal, target, problems))
    return plans


def plan_one(
    kind: DocumentKind,
    stored: dict[str, Record],
    element: Any,
    *,
    create_only: bool,
    taken: set[str],
    path_id: str | None,
    validate: Validate,
) -> tuple[Record, str | None, list[str]]:
    """One element's plan: new when it names no document (by its id field or the path), an
    update of the stored one otherwise (refused under ``create_only``, that is ``PUT``)."""
    if not isinstance(element, dict):
        return {}, None, [f"Each {kind.noun} must be an object"]
    target = element.get(kind.id_field) or path_id
    if not target:
        return element, None, validate(element, taken, None)
    existing = stored.get(str(target))
    if create_only or existing is None:
        reason = (
            f"{kind.article} {kind.noun} cannot be updated with PUT; use POST"
            if existing
            else f"{kind.noun.capitalize()} {target} could not be found"
        )
        return element, None, [reason]
    proposal = {**existing, **element}
    others = taken - {existing[kind.number_field]}
    return proposal, existing[kind.id_field], validate(proposal, others, existing)


def refusals(plans: list[tuple[Any, list[str]]], summarize: bool) -> list[Record] | None:
    """The refusals that refuse the whole batch, if it is refused."""
    if summarize and any(p for _, p in plans):
        return [xero_invoices.refused(e, p) for e, p in plans if p]
    return None
