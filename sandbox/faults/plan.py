"""A vendor's fault plan: rates per fault kind, a seeded draw per call, and what was injected.

The plan owns one ``random.Random`` stream seeded from ``(seed, vendor)``. Every call that is not
exempt takes exactly three draws from it (one per fault group, one for choices inside a fault),
so the same sequence of calls meets the same faults, whatever those faults turn out to be.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sandbox.faults.kinds import (
    AFTER_APP,
    BEFORE_APP,
    ON_READS,
    ON_WRITES,
    READ_METHODS,
    WRITE_METHODS,
    FaultKind,
    Injection,
)

TOKEN_PATHS: tuple[str, ...] = (
    "/connect/token",
    "/services/oauth2/token",
    "/oauth2/v2.0/token",  # Dynamics 365 (Entra ID)
    "/auth/oauth2/v1/token",  # NetSuite
)
_ORDER = {kind: index for index, kind in enumerate(FaultKind)}


@dataclass(frozen=True)
class Outage:
    """The vendor answers nothing useful for ``duration`` (× the time scale) from ``start``.

    ``start=None`` starts the outage at the first call the plan sees. ``mode`` is ``unavailable``
    (503 with the vendor's error body) or ``reset`` (the connection is refused or dropped).
    """

    duration: timedelta
    start: datetime | None = None
    mode: Literal["unavailable", "reset"] = "unavailable"


@dataclass(frozen=True)
class Decision:
    """The faults drawn for one call; ``pick`` in [0, 1) chooses inside a fault."""

    before: FaultKind | None
    after: FaultKind | None
    pick: float


@dataclass(eq=False)
class FaultPlan:
    """Which faults one vendor's emulator suffers, how often, and a record of those it did.

    ``rates`` maps a kind to its probability per call. Rates of ``BEFORE_APP`` kinds must add up
    to at most 1, as must those of read kinds and of write kinds. Durations are in seconds of
    simulated time: the middleware multiplies them by its ``time_scale``.
    """

    vendor: str
    rates: Mapping[FaultKind, float]
    seed: int
    retry_after_seconds: int = 30
    slow_seconds: float = 2.0
    hang_seconds: float = 120.0
    outage: Outage | None = None
    exempt_paths: tuple[str, ...] = TOKEN_PATHS
    drift_field: str | None = None
    injected: list[Injection] = field(default_factory=list, init=False, repr=False)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _outage_start: datetime | None = field(default=None, init=False, repr=False)
    _last_records: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.rates = {FaultKind(kind): float(rate) for kind, rate in self.rates.items()}
        _validate(self)
        self._rng = random.Random(f"{self.seed}:{self.vendor}")
        self._outage_start = self.outage.start if self.outage else None

    def is_exempt(self, path: str) -> bool:
        """Token endpoints keep working by default: faults are about the data APIs."""
        return any(path.endswith(exempt) for exempt in self.exempt_paths)

    def decide(self, method: str, now: datetime, time_scale: float = 1.0) -> Decision:
        """Draw the faults for the next call (thread-safe, three draws per call)."""
        with self._lock:
            draws = (self._rng.random(), self._rng.random(), self._rng.random())
            if self._in_outage(now, time_scale):
                return Decision(FaultKind.OUTAGE, None, draws[2])
            before = _draw(self.rates, BEFORE_APP, draws[0])
            method = method.upper()
            later = ON_READS if method in READ_METHODS else frozenset[FaultKind]()
            later = ON_WRITES if method in WRITE_METHODS else later
            return Decision(before, _draw(self.rates, later, draws[1]), draws[2])

    def _in_outage(self, now: datetime, time_scale: float) -> bool:
        if self.outage is None:
            return False
        if self._outage_start is None:
            self._outage_start = now
        end = self._outage_start + self.outage.duration * time_scale
        return self._outage_start <= now < end

    def outage_ends(self, time_scale: float = 1.0) -> datetime | None:
        """When the outage ends on the plan's clock (``None`` before it has started)."""
        if self.outage is None or self._outage_start is None:
            return None
        return self._outage_start + self.outage.duration * time_scale

    def record(self, method: str, path: str, kind: FaultKind) -> None:
        with self._lock:
            self.injected.append(Injection(method, path, kind))

    def counts(self) -> Counter[FaultKind]:
        """How many times each kind was injected so far."""
        with self._lock:
            return Counter(injection.kind for injection in self.injected)

    def remember_last_record(self, path: str, record: Any) -> None:
        """The last record of the latest page of ``path``, for a page that repeats it."""
        with self._lock:
            self._last_records[path] = record

    def last_record(self, path: str) -> Any:
        with self._lock:
            return self._last_records.get(path)

    @property
    def remembers_pages(self) -> bool:
        return self.rates.get(FaultKind.REPEAT_RECORD, 0.0) > 0


def _draw(
    rates: Mapping[FaultKind, float], group: frozenset[FaultKind], u: float
) -> FaultKind | None:
    """The kind whose slice of [0, 1) holds ``u``, in declaration order; ``None`` past them all."""
    edge = 0.0
    for kind in sorted(group, key=_ORDER.__getitem__):
        edge += rates.get(kind, 0.0)
        if u < edge:
            return kind
    return None


def _validate(plan: FaultPlan) -> None:
    if not plan.vendor:
        raise ValueError("a fault plan needs a vendor name")
    for kind, rate in plan.rates.items():
        if kind not in AFTER_APP | BEFORE_APP:
            raise ValueError(f"{kind.value} is not drawn by rate; give the plan an Outage instead")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate for {kind.value} must be within [0, 1], got {rate}")
    for name, group in (("before-app", BEFORE_APP), ("read", ON_READS), ("write", ON_WRITES)):
        total = sum(plan.rates.get(kind, 0.0) for kind in group)
        if total > 1.0 + 1e-9:
            raise ValueError(f"{plan.vendor}: {name} fault rates add up to {total:.3f} > 1")
    if min(plan.retry_after_seconds, plan.slow_seconds, plan.hang_seconds) < 0:
        raise ValueError("retry_after_seconds, slow_seconds and hang_seconds must be >= 0")
