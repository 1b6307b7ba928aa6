"""What every flow is given (connectors, the store, settings, a clock) and what it reports.

The flows reach ERPs only as ``collectors.erp.Erp``, by name, through ``erps``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from collectors.bamboohr import BambooHRConnector
from collectors.erp import Erp
from collectors.harvest import HarvestConnector
from collectors.kantata import KantataConnector
from collectors.salesforce import SalesforceConnector
from sync.settings import Settings


@dataclass
class FlowContext:
    settings: Settings
    sessions: sessionmaker[Session]
    harvest: HarvestConnector
    erps: Mapping[str, Erp]  # the ERPs in use, by name, the default first (``sync.erps``)
    salesforce: SalesforceConnector
    kantata: KantataConnector
    bamboohr: BambooHRConnector
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def today(self) -> date:
        return self.clock().date()


@dataclass
class FlowResult:
    """Counts of one flow run, for the ``sync_runs`` row and the CLI summary."""

    records_in: int = 0
    records_out: int = 0
    exceptions: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: FlowResult) -> None:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.exceptions += other.exceptions
        self.notes.extend(other.notes)
