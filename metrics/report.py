"""The executive KPI set, as one call: what ``plan2cash kpis`` prints and the dashboard shows.

Reads the store through ``metrics.load`` and applies the pure KPI functions. Every figure is per
currency where it is money, and carries its period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import polars as pl
from sqlalchemy import Connection

from metrics import load
from metrics.cycle import cycle_time
from metrics.dso import dso_by
from metrics.health import flow_health, open_exceptions
from metrics.periods import Grain, bounds
from metrics.wip import wip_aging


@dataclass(frozen=True)
class KpiReport:
    as_of: date
    period: tuple[date, date]
    wip: pl.DataFrame
    cycle_time: pl.DataFrame
    dso: pl.DataFrame
    flows: pl.DataFrame
    exceptions: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (dates as ISO strings, decimals as strings)."""
        return {
            "as_of": self.as_of.isoformat(),
            "period": {"start": self.period[0].isoformat(), "end": self.period[1].isoformat()},
            **{
                name: _records(getattr(self, name))
                for name in ("wip", "cycle_time", "dso", "flows", "exceptions")
            },
        }


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            k: v.isoformat()
            if isinstance(v, date | datetime)
            else (str(v) if v is not None and not isinstance(v, int | float | str | bool) else v)
            for k, v in row.items()
        }
        for row in frame.to_dicts()
    ]


def executive_kpis(
    connection: Connection, *, as_of: date, grain: Grain = "month", by: list[str] | None = None
) -> KpiReport:
    """WIP aging, billing cycle time, DSO, flow health and open exceptions as of ``as_of``;
    cycle time over the ``grain`` period containing ``as_of``."""
    start, end = bounds(as_of, grain)
    end = min(end, as_of)
    events = load.billing_events(connection, until=as_of)
    moment = min(datetime.combine(as_of, time.max, tzinfo=UTC), datetime.now(UTC))
    invoices = load.invoices(connection).filter(pl.col("posted_at").is_not_null())
    return KpiReport(
        as_of=as_of,
        period=(start, end),
        wip=wip_aging(events, as_of=as_of, by=by),
        cycle_time=cycle_time(events, start=start, end=end, by=by),
        dso=dso_by(invoices, load.payments(connection), as_of=as_of),
        flows=flow_health(load.runs(connection), now=moment),
        exceptions=open_exceptions(load.exceptions(connection), now=moment),
    )
