"""The reference data a page of time entries is checked against, and the frame types the rules
share: money is ``MONEY`` (18 digits, 4 decimals) throughout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

MONEY = pl.Decimal(18, 4)
c = pl.col


# columns a rule reads that older reference frames may lack: absent means "not known"
OPTIONAL_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "assignment_role": pl.String,
    "termination_date": pl.Date,
    "customer_currency": pl.String,
    "not_to_exceed": MONEY,
}


@dataclass(frozen=True)
class Reference:
    """The reference data a page of entries is checked against, loaded once per run, and the
    state of the books: accounting periods through ``closed_through`` are locked, a month's
    books closing ``close_grace_days`` after it ends."""

    projects: pl.DataFrame  # project_id, contract_id, customer_id, project_name, project_status,
    # project_end, project_currency, customer_currency
    contracts: pl.DataFrame  # contract_id, contract_name, contract_status, contract_start/end,
    # currency, not_to_exceed
    resources: pl.DataFrame  # resource_id, resource_name, role, termination_date
    assignments: pl.DataFrame  # project_id, resource_id, assigned, assignment_rate,
    # assignment_role (the role billed on the project, when the PSA says; else the person's)
    rate_cards: pl.DataFrame  # contract_id, role, card_rate, effective_from, effective_to
    closed_through: date | None = None
    close_grace_days: int = 0

    def join(self, entries: pl.DataFrame) -> pl.DataFrame:
        joined = (
            entries.join(self.projects, on="project_id", how="left")
            .join(self.contracts, on="contract_id", how="left")
            .join(self.resources, on="resource_id", how="left")
            .join(self.assignments, on=["project_id", "resource_id"], how="left")
        )
        missing = {k: v for k, v in OPTIONAL_COLUMNS.items() if k not in joined.columns}
        joined = joined.with_columns(
            *(pl.lit(None, dtype=dtype).alias(name) for name, dtype in missing.items())
        ).with_columns(role=pl.coalesce(c("assignment_role"), c("role")))
        cards = self.rate_cards
        if cards.height:
            valid = (c("spent_date") >= c("effective_from")) & (
                c("effective_to").is_null() | (c("spent_date") <= c("effective_to"))
            )
            joined = (
                joined.join(cards, on=["contract_id", "role"], how="left")
                .with_columns(card_rate=pl.when(valid).then(c("card_rate")))
                .sort("row", c("card_rate").is_null())
                .unique(subset="row", keep="first", maintain_order=True)
                .drop("effective_from", "effective_to")
            )
        else:
            joined = joined.with_columns(card_rate=pl.lit(None, dtype=MONEY))
        return joined.with_columns(
            rate=pl.coalesce(c("assignment_rate"), c("card_rate")),
            closed_through=pl.lit(self.closed_through, dtype=pl.Date),
            close_grace_days=pl.lit(self.close_grace_days, dtype=pl.Int64),
        )
