"""The REST resources under ``/services/data/vXX.X/``, as plain calls in and replies out.

``Resources.dispatch(Call)`` serves query, queryAll and their locators, sObject rows (GET, PATCH,
DELETE), getUpdated and getDeleted, and limits. The HTTP layer and composite subrequests both go
through it, so a subrequest behaves exactly like the same call made on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.vendors.salesforce.query import DEFAULT_BATCH, QueryEngine, attributes, wire
from sandbox.vendors.salesforce.records import Record, Store
from sandbox.vendors.salesforce.schema import PREFIXES, SObject, case_safe_suffix, coerce, sobject
from sandbox.vendors.salesforce.soql import SoqlError

UPDATED_LOOKBACK = timedelta(days=30)
DELETED_LOOKBACK = timedelta(days=15)


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-ready; ``None`` for 204
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A refusal in Salesforce's shape: ``[{message, errorCode, fields?}]``."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.reply = Reply(status, [_error(code, message, fields)])


def _error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return body


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # after /services/data/{version}/
    version: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Call, dict[str, str]], Reply]


class Resources:
    """Every resource but composite, over one store."""

    def __init__(
        self,
        store: Store,
        *,
        now: Callable[[], datetime],
        limits: Callable[[], tuple[int, int]],
    ) -> None:
        self.store = store
        self.queries = QueryEngine(store)
        self._now = now
        self._limits = limits
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"(?P<kind>query|queryAll)/?"), {"GET": self._query}),
            (
                re.compile(r"(?:query|queryAll)/(?P<locator>[0-9A-Za-z]+)-(?P<offset>\d+)"),
                {"GET": self._more},
            ),
            (re.compile(r"sobjects/(?P<type>\w+)/updated/?"), {"GET": self._updated}),
            (re.compile(r"sobjects/(?P<type>\w+)/deleted/?"), {"GET": self._deleted}),
            (
                re.compile(r"sobjects/(?P<type>\w+)/(?P<id>\w+)/?"),
                {"GET": self._get, "PATCH": self._patch, "DELETE": self._delete},
            ),
            (re.compile(r"limits/?"), {"GET": self._limits_resource}),
        ]

    def stamp(self) -> datetime:
        moment = self._now().astimezone(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def dispatch(self, call: Call) -> Reply:
        for pattern, methods in self._routes:
            match = pattern.fullmatch(call.path)
            if match is None:
                continue
            handler = methods.get(call.method)
            if handler is None:
                allowed = ",".join(methods)
                raise ApiError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{call.method}' not allowed. Allowed are {allowed}",
                )
            try:
                return handler(call, match.groupdict())
            except SoqlError as problem:
                raise ApiError(400, problem.code, problem.message) from problem
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    # --- query ---------------------------------------------------------------------------

    def _query(self, call: Call, path: dict[str, str]) -> Reply:
        text = call.params.get("q", "")
        batch = _batch_size(call.headers.get("sforce-query-options", ""))
        body = self.queries.run(
            text, version=call.version, batch=batch, include_deleted=path["kind"] == "queryAll"
        )
        return Reply(200, body)

    def _more(self, call: Call, path: dict[str, str]) -> Reply:
        body = self.queries.more(path["locator"], int(path["offset"]), version=call.version)
        return Reply(200, body)

    # --- sObject rows --------------------------------------------------------------------

    def _row(self, path: dict[str, str]) -> tuple[SObject, Record]:
        kind = _type(path["type"])
        key = _full_id(path["id"], kind)
        record = self.store.get(kind.name, key)
        if record is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if record["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return kind, record

    def _get(self, call: Call, path: dict[str, str]) -> Reply:
        kind, record = self._row(path)
        wanted = [f.strip() for f in call.params.get("fields", "").split(",") if f.strip()]
        names = [_field(kind, f) for f in wanted] or list(kind.fields)
        body = {"attributes": attributes(kind.name, record["Id"], call.version)}
        body |= {n: wire(record.get(n), kind.fields[n]) for n in names}
        return Reply(200, body)

    def _patch(self, call: Call, path: dict[str, str]) -> Reply:
        kind, record = self._row(path)
        if not isinstance(call.body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        changes = {}
        for name, value in call.body.items():
            if name == "attributes":
                continue
            api_name = _field(kind, name, sobject_word="sobject of type")
            if not kind.updateable(api_name):
                raise ApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {api_name}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile "
                    "or permission set.",
                    [api_name],
                )
            try:
                changes[api_name] = coerce(kind.fields[api_name], value)
            except ValueError as problem:
                raise ApiError(
                    400, "JSON_PARSER_ERROR", f"{problem} for field {api_name}", [api_name]
                ) from None
        self.store.update(kind.name, record["Id"], self.stamp(), **changes)
        return Reply(204)

    def _delete(self, call: Call, path: dict[str, str]) -> Reply:
        kind, record = self._row(path)
        self.store.delete(kind.name, record["Id"], self.stamp())
        return Reply(204)

    # --- replication ---------------------------------------------------------------------

    def _window(self, call: Call, lookback: timedelta) -> tuple[datetime, datetime, datetime]:
        start = _instant(call.params.get("start"), "start")
        end = _instant(call.params.get("end"), "end")
        now = self._now().astimezone(UTC)
        if end - start < timedelta(minutes=1):
            raise ApiError(
                400, "INVALID_REPLICATION_DATE", "start must precede end by at least one minute"
            )
        if start < now - lookback:
            days = lookback.days
            raise ApiError(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate cannot be more than {days} days ago",
            )
        covered = min(end, now.replace(second=0, microsecond=0))
        return start, end, covered

    def _updated(self, call: Call, path: dict[str, str]) -> Reply:
        kind = _type(path["type"])
        start, _, covered = self._window(call, UPDATED_LOOKBACK)
        with self.store.lock:
            ids = [
                r["Id"]
                for r in self.store.all(kind.name)
                if not r["IsDeleted"] and start <= r["SystemModstamp"] < covered
            ]
        return Reply(200, {"ids": ids, "latestDateCovered": wire(covered, "datetime")})

    def _deleted(self, call: Call, path: dict[str, str]) -> Reply:
        kind = _type(path["type"])
        start, _, covered = self._window(call, DELETED_LOOKBACK)
        horizon = (self._now() - DELETED_LOOKBACK).astimezone(UTC).replace(second=0, microsecond=0)
        with self.store.lock:
            gone = [
                {"id": d.id, "deletedDate": wire(d.deleted_at, "datetime")}
                for d in self.store.deletions
                if d.type == kind.name and start <= d.deleted_at < covered
            ]
        body = {
            "deletedRecords": gone,
            "earliestDateAvailable": wire(horizon, "datetime"),
            "latestDateCovered": wire(covered, "datetime"),
        }
        return Reply(200, body)

    def _limits_resource(self, call: Call, path: dict[str, str]) -> Reply:
        used, maximum = self._limits()
        return Reply(200, {"DailyApiRequests": {"Max": maximum, "Remaining": maximum - used}})


def _batch_size(header: str) -> int:
    match = re.search(r"batchSize\s*=\s*(\d+)", header)
    return int(match.group(1)) if match else DEFAULT_BATCH


def _type(name: str) -> SObject:
    kind = sobject(name)
    if kind is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return kind


def _full_id(raw: str, kind: SObject) -> str:
    """The 18-character form of a 15- or 18-character id of ``kind``."""
    if len(raw) == 15:
        raw += case_safe_suffix(raw)
    if len(raw) != 18 or PREFIXES.get(raw[:3]) is not kind:
        raise ApiError(
            400, "MALFORMED_ID", f"{kind.name} ID: id value of incorrect type: {raw}", ["Id"]
        )
    return raw


def _field(kind: SObject, name: str, *, sobject_word: str = "entity") -> str:
    api_name = kind.resolve(name)
    if api_name is None:
        raise ApiError(
            400, "INVALID_FIELD", f"No such column '{name}' on {sobject_word} '{kind.name}'", [name]
        )
    return api_name


def _instant(raw: str | None, name: str) -> datetime:
    """A ``start``/``end`` parameter; seconds are ignored, as Salesforce does."""
    if not raw:
        raise ApiError(400, "MISSING_ARGUMENT", f"{name} must be specified")
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"{name} is not a valid dateTime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)
