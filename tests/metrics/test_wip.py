from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl

from metrics.wip import BUCKETS, unbilled, wip_aging

AS_OF = date(2026, 6, 30)


def events(*rows: tuple[int, str, str, date | None]) -> pl.DataFrame:
    """(age in days, amount, currency, invoiced_on) → billing events."""
    return pl.DataFrame(
        [(AS_OF - timedelta(days=age), Decimal(a), Decimal(1), c, inv) for age, a, c, inv in rows],
        schema={
            "occurred_on": pl.Date,
            "amount": pl.Decimal(18, 2),
            "quantity": pl.Decimal(18, 2),
            "currency": pl.String,
            "invoiced_on": pl.Date,
        },
        orient="row",
    )


def test_buckets_at_their_boundaries() -> None:
    frame = events(*[(age, "1", "USD", None) for age in (0, 30, 31, 60, 61, 90, 91)])
    assert unbilled(frame, as_of=AS_OF)["bucket"].to_list() == [
        "0–30",
        "0–30",
        "31–60",
        "31–60",
        "61–90",
        "61–90",
        "90+",
    ]


def test_invoiced_and_future_work_is_not_wip_but_work_invoiced_later_was() -> None:
    frame = events(
        (5, "100", "USD", None),
        (5, "200", "USD", AS_OF),  # invoiced on the day: not WIP
        (40, "300", "USD", AS_OF + timedelta(days=1)),  # invoiced after as_of: WIP then
        (-1, "400", "USD", None),  # dated tomorrow
    )
    assert unbilled(frame, as_of=AS_OF)["amount"].sum() == Decimal(400)


def test_aging_keeps_currencies_apart_and_shows_empty_buckets() -> None:
    frame = events((10, "100", "USD", None), (95, "50", "USD", None), (45, "70", "GBP", None))
    out = wip_aging(frame, as_of=AS_OF)
    assert out.height == 2 * len(BUCKETS)
    usd = dict(
        zip(
            out.filter(pl.col("currency") == "USD")["bucket"].cast(pl.String),
            out.filter(pl.col("currency") == "USD")["amount"],
            strict=True,
        )
    )
    assert usd == {"0–30": Decimal(100), "31–60": 0, "61–90": 0, "90+": Decimal(50)}
    assert out.filter(pl.col("currency") == "GBP")["amount"].sum() == Decimal(70)


def test_no_wip_gives_an_empty_frame() -> None:
    assert wip_aging(events((5, "1", "USD", AS_OF)), as_of=AS_OF).height == 0
