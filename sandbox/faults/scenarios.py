"""Named fault scenarios, parsed into one ``FaultPlan`` per vendor.

Grammar (case-insensitive, parts joined by ``+``)::

    scenario := part ("+" part)*
    part     := "calm" | "flaky" | "storm"
              | "outage:" vendor ":" duration [":reset"]
              | "drift:" vendor [":" ("rename" | "enum" | "null")]
    duration := (number ("ms" | "s" | "m" | "h" | "d"))+        e.g. 90s, 15m, 2h, 1h30m

``flaky``: about 5% of calls throttled (each vendor's own way), a 5xx, or slow. ``storm``: 22% of
calls fail (throttles, 5xx, hangs, resets), 3% are slow, and 8% of reads and 3% of writes are
damaged after the app answered. ``outage``: the vendor answers 503 (or, with ``:reset``, refuses
the connection) for the duration, then recovers. ``drift``: every list page of that vendor
drifts (one of the three ways per call, or the one named). Rates of one kind add up across parts;
a group whose rates pass 1 is scaled down to 1.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

from sandbox.faults.kinds import BEFORE_APP, DRIFT, ON_READS, ON_WRITES, FaultKind
from sandbox.faults.plan import FaultPlan, Outage

K = FaultKind
VENDORS: tuple[str, ...] = (
    "salesforce", "kantata", "harvest", "bamboohr",
    "xero", "dynamics365", "oracle_fusion", "netsuite",
)  # fmt: skip
VALID_FORMS = (
    "calm | flaky | storm | outage:<vendor>:<duration>[:reset] | drift:<vendor>[:rename|enum|null]"
    ", joined by '+' (e.g. 'flaky+drift:harvest'); durations like 90s, 15m, 2h, 1h30m, 1d"
)
# How each vendor throttles: shares of the throttle rate (shared/vendors/README.md).
_FLAKY_THROTTLE: dict[str, dict[FaultKind, float]] = {
    "salesforce": {K.UNAVAILABLE: 1.0},
    "bamboohr": {K.THROTTLE_503: 1.0},
    "oracle_fusion": {K.RATE_LIMIT: 0.5, K.THROTTLE_503: 0.5},  # 429 or 503, with Retry-After
    "netsuite": {K.RATE_LIMIT: 1.0},  # a concurrency 429 (its Retry-After is [unconfirmed])
}
_STORM_THROTTLE: dict[str, dict[FaultKind, float]] = {
    "salesforce": {K.DAILY_LIMIT: 0.4, K.UNAVAILABLE: 0.6},
    "bamboohr": {K.THROTTLE_503: 0.6, K.RATE_LIMIT: 0.4},
    "kantata": {K.RATE_LIMIT: 0.5, K.RATE_LIMIT_DATE: 0.5},
    "dynamics365": {K.RATE_LIMIT: 1.0},  # service protection: 429, Retry-After in seconds
    "oracle_fusion": {K.RATE_LIMIT: 0.5, K.THROTTLE_503: 0.5},
    "netsuite": {K.RATE_LIMIT: 1.0},
}
_FLAKY = {K.SERVER_ERROR: 0.01, K.BAD_GATEWAY: 0.005, K.UNAVAILABLE: 0.005, K.SLOW: 0.01}
_STORM = {
    **{K.SERVER_ERROR: 0.03, K.BAD_GATEWAY: 0.03, K.UNAVAILABLE: 0.03, K.HANG: 0.02},
    **{K.RESET: 0.03, K.SLOW: 0.03, K.CUT_BODY: 0.02, K.INVALID_JSON: 0.02},
    **{K.REPEAT_RECORD: 0.02, K.SKIP_RECORD: 0.02, K.LOST_WRITE: 0.03},
}
_DRIFT_KINDS = {"rename": K.DRIFT_RENAME, "enum": K.DRIFT_ENUM, "null": K.DRIFT_NULL}
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
Rates = dict[FaultKind, float]


def parse_scenario(
    text: str,
    *,
    seed: int = 0,
    vendors: tuple[str, ...] = VENDORS,
    retry_after_seconds: int = 30,
    slow_seconds: float = 2.0,
    hang_seconds: float = 120.0,
) -> dict[str, FaultPlan]:
    """One plan per vendor for ``text``; ``ValueError`` naming the valid forms otherwise."""
    rates: dict[str, Rates] = {vendor: defaultdict(float) for vendor in vendors}
    outages: dict[str, Outage] = {}
    parts = [part.strip() for part in text.strip().lower().split("+")]
    for part in parts:
        try:
            _apply_part(part, rates, outages)
        except ValueError as error:
            forms = f"Valid forms: {VALID_FORMS}; vendors: {', '.join(vendors)}"
            raise ValueError(f"bad fault scenario {text!r}: {error}. {forms}") from None
    return {
        vendor: FaultPlan(
            vendor,
            _capped(rates[vendor]),
            seed,
            retry_after_seconds=retry_after_seconds,
            slow_seconds=slow_seconds,
            hang_seconds=hang_seconds,
            outage=outages.get(vendor),
        )
        for vendor in vendors
    }


def _apply_part(part: str, rates: dict[str, Rates], outages: dict[str, Outage]) -> None:
    name, *args = part.split(":")
    if name == "calm" and not args:
        return
    if name in ("flaky", "storm") and not args:
        for vendor, vendor_rates in rates.items():
            _add(vendor_rates, storm_rates(vendor) if name == "storm" else flaky_rates(vendor))
        return
    if name == "outage" and len(args) in (2, 3) and args[2:] in ([], ["reset"]):
        vendor = _vendor(args[0], rates)
        if vendor in outages:
            raise ValueError(f"more than one outage for {vendor}")
        duration = parse_duration(args[1])
        outages[vendor] = Outage(duration, mode="reset") if args[2:] else Outage(duration)
        return
    if name == "drift" and len(args) in (1, 2) and (args[1:] == [] or args[1] in _DRIFT_KINDS):
        vendor = _vendor(args[0], rates)
        kinds = [_DRIFT_KINDS[args[1]]] if args[1:] else sorted(DRIFT)
        _add(rates[vendor], {kind: 1.0 / len(kinds) for kind in kinds})
        return
    raise ValueError(f"{part!r} is not a scenario")


def flaky_rates(vendor: str) -> Rates:
    """About 5% of calls: throttled (2%), a 5xx (2%), or slow (1%)."""
    throttle = _FLAKY_THROTTLE.get(vendor, {K.RATE_LIMIT: 1.0})
    return _sum(_FLAKY, {kind: 0.02 * share for kind, share in throttle.items()})


def storm_rates(vendor: str) -> Rates:
    """22% of calls fail before the app (8% throttled), 3% slow; replies damaged after it."""
    throttle = _STORM_THROTTLE.get(vendor, {K.RATE_LIMIT: 0.75, K.RATE_LIMIT_DATE: 0.25})
    return _sum(_STORM, {kind: 0.08 * share for kind, share in throttle.items()})


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1h30m``, ``1d``, ``250ms`` → a ``timedelta``."""
    if not text or _DURATION.sub("", text) != "":
        raise ValueError(f"bad duration {text!r}: use e.g. 90s, 15m, 2h, 1h30m, 1d")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in _DURATION.findall(text))
    return timedelta(seconds=seconds)


def _vendor(name: str, rates: dict[str, Rates]) -> str:
    if name not in rates:
        raise ValueError(f"unknown vendor {name!r}")
    return name


def _add(into: Rates, rates: Rates) -> None:
    for kind, rate in rates.items():
        into[kind] += rate


def _sum(*many: Rates) -> Rates:
    total: Rates = defaultdict(float)
    for rates in many:
        _add(total, rates)
    return dict(total)


def _capped(rates: Rates) -> Rates:
    """Scale each group whose rates add past 1 back to 1."""
    capped = {kind: rate for kind, rate in rates.items() if rate > 0}
    for group in (BEFORE_APP, ON_READS, ON_WRITES):
        total = sum(capped.get(kind, 0.0) for kind in group)
        if total > 1.0:
            for kind in group & capped.keys():
                capped[kind] /= total
    return capped
