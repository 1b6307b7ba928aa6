"""How the pipeline routes, suppresses and paces notifications: :class:`PipelineConfig`, read
from ``[alerts]`` by :meth:`PipelineConfig.from_settings`.

- **Routes** (``[[alerts.routes]]``: ``matchers``, ``severities``, ``channels``,
  ``send_resolved``, ``continue``) are tried in order; an alert goes to the channels of the first
  route that matches it (and of later ones while a matched route says ``continue``). An alert no
  route matches goes to every configured channel; a route with ``channels = []`` drops what it
  matches. No routes at all: every configured channel gets every alert.
- **Inhibitions** (``[[alerts.inhibit]]``: ``source``, ``target``, ``equal``,
  ``flow_on_vendor``): a firing source alert mutes the target alerts that share the ``equal``
  labels; with ``flow_on_vendor`` the target's ``flow`` must call the source's ``vendor``
  (``sync.FLOW_VENDORS``). Absent: :data:`DEFAULT_INHIBIT` (a vendor that is down mutes the
  staleness of the flows that call it).
- **Mute timings** (``[[alerts.mute_timings]]``: ``name``, ``severities``, ``matchers``,
  ``weekdays``, ``start``, ``end``, ``mute`` = ``outside`` | ``inside``) hold a group's
  notifications outside (or inside) a weekly window read in ``alerts.timezone``; held, not
  dropped: they go out when the window opens, if still relevant.

A setting that cannot be used raises :class:`AlertsConfigError` naming its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerts.matchers import Matcher, MatcherError, match_all, parse_matchers
from alerts.model import ChannelKind, Severity
from sync.settings_alerts import AlertsSettings

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS: tuple[Weekday, ...] = WEEKDAYS[:5]


class AlertsConfigError(ValueError):
    """An ``[alerts]`` setting the pipeline cannot use; the message names the key."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Spec = TypeVar("Spec", bound=_Spec)


class RouteSpec(_Spec):
    matchers: list[str] = Field(default_factory=list)
    severities: list[Severity] | None = None
    channels: list[ChannelKind]
    send_resolved: bool = True
    continue_: bool = Field(default=False, alias="continue")


class InhibitSpec(_Spec):
    source: list[str] = Field(min_length=1)
    target: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)
    flow_on_vendor: bool = False


class MuteTimingSpec(_Spec):
    name: str = Field(min_length=1)
    severities: list[Severity] = Field(default_factory=list)  # none named: every severity
    matchers: list[str] = Field(default_factory=list)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    start: time = time(9)
    end: time = time(17)
    mute: Literal["outside", "inside"] = "outside"


@dataclass(frozen=True)
class Route:
    channels: tuple[ChannelKind, ...]
    matchers: tuple[Matcher, ...] = ()
    severities: frozenset[Severity] | None = None
    send_resolved: bool = True
    continue_: bool = False

    def matches(self, labels: Mapping[str, str], severity: Severity) -> bool:
        in_severity = self.severities is None or severity in self.severities
        return in_severity and match_all(self.matchers, labels)


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    flow_on_vendor: bool = False


DEFAULT_INHIBIT = (
    InhibitRule(
        source=parse_matchers(['kind="vendor"']),
        target=parse_matchers(['kind="staleness"']),
        flow_on_vendor=True,
    ),
)


@dataclass(frozen=True)
class MuteTiming:
    name: str
    severities: frozenset[Severity] = frozenset()
    matchers: tuple[Matcher, ...] = ()
    weekdays: frozenset[int] = frozenset(range(5))  # Monday is 0
    start: time = time(9)
    end: time = time(17)
    mute_outside: bool = True

    def mutes(self, labels: Mapping[str, str], severity: Severity, local: datetime) -> bool:
        """Whether this timing holds back a group with ``labels`` at the local time ``local``."""
        if self.severities and severity not in self.severities:
            return False
        if not match_all(self.matchers, labels):
            return False
        inside = local.weekday() in self.weekdays and self.start <= local.time() < self.end
        return inside != self.mute_outside


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retries with exponential backoff (``base`` doubling up to ``cap``, at least a channel's
    ``retry_after``) for ``max_attempts``; and the least gap between two messages to a channel
    (Slack takes one message a second per webhook)."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 10
    min_gap_seconds: Mapping[ChannelKind, float] = field(
        default_factory=lambda: {ChannelKind.SLACK: 1.0, ChannelKind.EMAIL: 0.0}
    )

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        wait = min(self.base * 2 ** max(attempts - 1, 0), self.cap)
        return max(wait, timedelta(seconds=retry_after or 0))


@dataclass(frozen=True)
class PipelineConfig:
    """Everything a pass needs besides the evaluations, the channels and the clock."""

    channels: frozenset[ChannelKind]
    dashboard_url: str = "http://localhost:8501"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)
    routes: tuple[Route, ...] = ()
    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT
    mute_timings: tuple[MuteTiming, ...] = ()
    flow_vendors: Mapping[str, frozenset[str]] = field(default_factory=dict)
    delivery: DeliveryPolicy = DeliveryPolicy()

    def destinations(
        self, labels: Mapping[str, str], severity: Severity
    ) -> dict[ChannelKind, bool]:
        """The channels an alert goes to, each with whether it hears the alert resolve."""
        chosen: dict[ChannelKind, bool] = {}
        for route in self.routes:
            if route.matches(labels, severity):
                chosen.update(dict.fromkeys(route.channels, route.send_resolved))
                if not route.continue_:
                    return chosen
        return chosen if chosen else dict.fromkeys(sorted(self.channels), True)

    @classmethod
    def from_settings(
        cls, settings: AlertsSettings, flow_vendors: Mapping[str, frozenset[str]] | None = None
    ) -> PipelineConfig:
        """The pipeline's configuration from ``[alerts]``; :class:`AlertsConfigError` names a
        key that cannot be used (a route to a channel that is not configured, a bad matcher)."""
        if flow_vendors is None:
            import sync

            flow_vendors = sync.FLOW_VENDORS
        sections = {ChannelKind.EMAIL: settings.email, ChannelKind.SLACK: settings.slack}
        channels = frozenset(kind for kind, section in sections.items() if section is not None)
        return cls(
            channels=channels,
            dashboard_url=settings.dashboard_url.rstrip("/"),
            timezone=_zone(settings.timezone),
            group_wait=timedelta(seconds=settings.timing.group_wait_seconds),
            group_interval=timedelta(seconds=settings.timing.group_interval_seconds),
            repeat_interval=timedelta(seconds=settings.timing.repeat_interval_seconds),
            routes=tuple(_route(i, r, channels) for i, r in enumerate(settings.routes or [])),
            inhibit=DEFAULT_INHIBIT
            if settings.inhibit is None
            else tuple(_inhibit(i, r) for i, r in enumerate(settings.inhibit)),
            mute_timings=tuple(_mute(i, m) for i, m in enumerate(settings.mute_timings)),
            flow_vendors=flow_vendors,
        )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AlertsConfigError(f"alerts.timezone: unknown time zone {name!r}") from None


def _read(kind: type[Spec], key: str, table: dict[str, Any]) -> Spec:
    try:
        return kind.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AlertsConfigError(f"{key}.{where}: {first['msg']}") from None


def _matchers(key: str, texts: list[str]) -> tuple[Matcher, ...]:
    try:
        return parse_matchers(texts)
    except MatcherError as exc:
        raise AlertsConfigError(f"{key}: {exc}") from None


def _route(index: int, table: dict[str, Any], configured: frozenset[ChannelKind]) -> Route:
    key = f"alerts.routes[{index}]"
    spec = _read(RouteSpec, key, table)
    for channel in spec.channels:
        if channel not in configured:
            raise AlertsConfigError(
                f"{key}.channels: {channel} is not configured (add [alerts.{channel}])"
            )
    return Route(
        channels=tuple(spec.channels),
        matchers=_matchers(f"{key}.matchers", spec.matchers),
        severities=None if spec.severities is None else frozenset(spec.severities),
        send_resolved=spec.send_resolved,
        continue_=spec.continue_,
    )


def _inhibit(index: int, table: dict[str, Any]) -> InhibitRule:
    key = f"alerts.inhibit[{index}]"
    spec = _read(InhibitSpec, key, table)
    return InhibitRule(
        source=_matchers(f"{key}.source", spec.source),
        target=_matchers(f"{key}.target", spec.target),
        equal=tuple(spec.equal),
        flow_on_vendor=spec.flow_on_vendor,
    )


def _mute(index: int, table: dict[str, Any]) -> MuteTiming:
    key = f"alerts.mute_timings[{index}]"
    spec = _read(MuteTimingSpec, key, table)
    if spec.end <= spec.start:
        raise AlertsConfigError(f"{key}: end {spec.end} must come after start {spec.start}")
    return MuteTiming(
        name=spec.name,
        severities=frozenset(spec.severities),
        matchers=_matchers(f"{key}.matchers", spec.matchers),
        weekdays=frozenset(WEEKDAYS.index(d) for d in spec.weekdays),
        start=spec.start,
        end=spec.end,
        mute_outside=spec.mute == "outside",
    )
