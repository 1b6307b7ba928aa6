"""Where each due outbox item goes: the route kept in its payload, else the one ``sync.books``
resolves for it (kept in its payload, in one transaction, so it is resolved once).

A credit note goes where its invoice went. An item whose books cannot be resolved, or whose
route names an ERP the configuration no longer has, is refused (``no_legal_entity``, with its
value at risk when its document is known) and never posted elsewhere on its own. An item whose
ERP is busy (a transient failure while resolving) keeps that failure as its last error and is
routed on the next run, with no attempt spent; the items bound for other ERPs go on meanwhile.
"""

from __future__ import annotations

from collectors.errors import RetryableError
from sync.books import Books
from sync.flows.context import FlowContext, FlowResult
from sync.outbox_outcomes import Document, describe, refused
from sync.store import outbox as queue
from sync.store.db import transaction
from sync.store.outbox import Route, route_of
from sync.store.tables import CompensationRow, CustomerRow, InvoiceRow, OutboxRow
from sync.store.vocabulary import ExceptionCategory, OutboxKind


def routed(
    ctx: FlowContext, books: Books, items: list[OutboxRow], result: FlowResult
) -> dict[Route, list[OutboxRow]]:
    """Items by where they go; the routes found are kept in the items' payloads."""
    routes: dict[Route, list[OutboxRow]] = {}
    found: list[tuple[OutboxRow, Route]] = []
    for item in items:
        route = route_of(item.payload)
        if route is None:
            try:
                route = _resolve(ctx, books, item)
            except RetryableError as error:  # its ERP is busy: routed next time
                with transaction(ctx.sessions) as session:
                    queue.hold(session, item.id, ctx.clock(), str(error))
                continue
            if route is None:
                result.exceptions += 1
                continue
            found.append((item, route))
        if route.erp in ctx.erps:
            routes.setdefault(route, []).append(item)
        else:
            result.exceptions += _unconfigured(ctx, item, route)
    if found:
        with transaction(ctx.sessions) as session:
            for item, route in found:
                queue.route(session, item, route)
    return routes


def _unconfigured(ctx: FlowContext, item: OutboxRow, route: Route) -> int:
    """An item routed to an ERP the configuration no longer has: refused, never re-routed on
    its own (its documents may already be in those books)."""
    with transaction(ctx.sessions) as session:
        refused(
            session,
            item,
            ExceptionCategory.NO_LEGAL_ENTITY,
            f"Document {item.aggregate_id} was routed to {route.erp} company {route.company}, "
            "which is no longer configured. Configure that ERP again, then replay.",
            moment=ctx.clock(),
        )
    return 1


def _resolve(ctx: FlowContext, books: Books, item: OutboxRow) -> Route | None:
    """Where one item goes, or ``None`` once it has been refused."""
    with ctx.sessions() as session:
        document: Document | None = (
            session.get(InvoiceRow, item.aggregate_id)
            if item.kind == OutboxKind.INVOICE_CREATE
            else session.get(CompensationRow, item.aggregate_id)
        )
        customer = session.get(CustomerRow, document.customer_id) if document else None
        if isinstance(document, CompensationRow):  # a credit note goes where its invoice went
            posted_to = queue.invoice_route(session, document.invoice_id)
            if posted_to is not None:
                return posted_to
    if document is None or customer is None:
        with transaction(ctx.sessions) as session:
            refused(
                session,
                item,
                ExceptionCategory.MISSING_REFERENCE,
                f"Document {item.aggregate_id} or its customer is missing from the store.",
                moment=ctx.clock(),
            )
        return None
    resolution = books.for_customer(customer, document.contract_id)
    if resolution.route is None:
        with transaction(ctx.sessions) as session:
            refused(
                session,
                item,
                ExceptionCategory.NO_LEGAL_ENTITY,
                f"{describe(document).capitalize()} was not posted: {resolution.reason}",
                document,
                moment=ctx.clock(),
            )
    return resolution.route
