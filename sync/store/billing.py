"""The statements flow 3 (time to billable) runs on billing events.

Session first: the caller owns the transaction. Lists of ids are bound as one parameter
(``among``), so a statement's text does not depend on a page's size."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.store.db import among
from sync.store.tables import BillingEventRow

MONEY = pl.Decimal(18, 4)
BILLED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String,  # the time entry's id
    "billed_amount": MONEY,
    "invoice_id": pl.String,
}


def billed(session: Session, entry_ids: Sequence[str]) -> pl.DataFrame:
    """The stored billing events of ``entry_ids`` (``BILLED_SCHEMA``): amount and invoice."""
    rows = session.execute(
        select(
            BillingEventRow.source_record_id, BillingEventRow.amount, BillingEventRow.invoice_id
        ).where(among(session, BillingEventRow.source_record_id, entry_ids))
    ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=BILLED_SCHEMA, orient="row")


def withdraw_pending(session: Session, entry_ids: Sequence[str]) -> None:
    """Delete the billing events of ``entry_ids`` that are on no invoice yet."""
    if entry_ids:
        session.execute(
            delete(BillingEventRow).where(
                among(session, BillingEventRow.source_record_id, entry_ids),
                BillingEventRow.invoice_id.is_(None),
            )
        )
