"""Find the records in a vendor's JSON page, and damage them: drift, repeat, skip.

The record list is found generically: the first top-level key that holds a non-empty list of
objects (Harvest ``time_entries``, Xero ``Invoices``, Salesforce ``records``, BambooHR
``employees``), a top-level list of objects, or Kantata's ID-keyed objects named by ``results``
(``{"results": [{"key": "workspaces", "id": "10"}], "workspaces": {"10": {...}}}``).

Which field drifts is a pure function of the seed, the vendor, the kind and the record's keys,
so one plan drifts the same field on every page.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

from sandbox.faults.kinds import FaultKind

RENAMED_SUFFIX = "_v2"
NEW_ENUM_VALUE = "drifted"
_ID_LIKE = re.compile(r"^(id|Id|ID)$|_id$|[a-z](Id|ID)$")
_ENUM_VALUE = re.compile(r"^[A-Za-z][A-Za-z_ -]{0,39}$")
_ENUM_KEYS = ("status", "state", "type", "stage", "kind", "role", "action", "reason", "currency")


@dataclass
class Page:
    """The records of one JSON reply, with a way to put an edited list back."""

    body: Any
    key: str | None  # top-level key of the records; None when the body itself is the list
    id_keyed: bool = False  # Kantata: ``body[key]`` maps id → object, ``results`` orders them

    @property
    def records(self) -> list[dict[str, Any]]:
        if self.key is None:
            return list(self.body)
        if not self.id_keyed:
            return list(self.body[self.key])
        objects = self.body[self.key]
        return [objects[str(ref["id"])] for ref in self.body["results"] if ref["key"] == self.key]

    def replace(self, records: list[dict[str, Any]]) -> None:
        if self.key is None:
            self.body[:] = records
        elif not self.id_keyed:
            self.body[self.key] = records
        else:
            others = [ref for ref in self.body["results"] if ref["key"] != self.key]
            refs = [{"key": self.key, "id": str(record["id"])} for record in records]
            self.body["results"] = refs + others
            self.body[self.key] = {str(record["id"]): record for record in records}


def find_page(body: Any) -> Page | None:
    """The page's record list, or ``None`` when the body holds no list of objects."""
    if _objects(body):
        return Page(body, None)
    if not isinstance(body, dict):
        return None
    results = body.get("results")
    if (
        isinstance(results, list)
        and _objects(results)
        and all({"key", "id"} <= set(ref) for ref in results)
    ):
        key = results[0]["key"]
        if isinstance(body.get(key), dict) and body[key]:
            return Page(body, key, id_keyed=True)
    for key, value in body.items():
        if key != "results" and _objects(value):
            return Page(body, key)
    return None


def _objects(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def drift_field(
    record: dict[str, Any], kind: FaultKind, *, seed: int, vendor: str, field: str | None = None
) -> str | None:
    """The field ``kind`` drifts in records shaped like ``record`` (dotted for a nested one)."""
    if field is not None:
        return field if field in record else None
    candidates = _candidates(record, kind)
    if not candidates:
        return None
    return candidates[zlib.crc32(f"{seed}:{vendor}:{kind.value}".encode()) % len(candidates)]


def _candidates(record: dict[str, Any], kind: FaultKind) -> list[str]:
    keys = sorted(key for key in record if not _ID_LIKE.search(key))
    if kind is FaultKind.DRIFT_RENAME:
        return keys
    if kind is FaultKind.DRIFT_NULL:
        return [key for key in keys if record[key] is not None]
    enums = [key for key in keys if _enum_like(record[key])]
    enums += [
        f"{key}.{inner}"
        for key in keys
        if isinstance(record[key], dict)
        for inner in sorted(record[key])
        if not _ID_LIKE.search(inner) and _enum_like(record[key][inner])
    ]
    named = [path for path in enums if any(word in path.lower() for word in _ENUM_KEYS)]
    return named or enums


def _enum_like(value: Any) -> bool:
    return isinstance(value, str) and bool(_ENUM_VALUE.match(value))


def drift(page: Page, kind: FaultKind, field: str) -> None:
    """Rename ``field``, null it, or give it a value outside its enum, in every record."""
    for record in page.records:
        *parents, leaf = field.split(".")
        target: Any = record
        for parent in parents:
            target = target.get(parent) if isinstance(target, dict) else None
        if not isinstance(target, dict) or leaf not in target:
            continue
        if kind is FaultKind.DRIFT_RENAME:
            renamed = {(k + RENAMED_SUFFIX if k == leaf else k): v for k, v in target.items()}
            target.clear()
            target.update(renamed)
        elif kind is FaultKind.DRIFT_NULL:
            target[leaf] = None
        else:
            target[leaf] = _new_enum_value(target[leaf])


def _new_enum_value(value: Any) -> str:
    text = str(value)
    if text.isupper():
        return NEW_ENUM_VALUE.upper()
    return NEW_ENUM_VALUE.title() if text[:1].isupper() else NEW_ENUM_VALUE


def repeat(page: Page, previous: dict[str, Any] | None) -> None:
    """Open the page with the previous page's last record, or with its own first where there was
    none or it was of another kind (neither record's fields hold the other's: a page of another
    resource under the same key, as OData's ``value`` and Oracle's ``items`` name them all)."""
    records = page.records
    first = records[0].keys()
    alike = previous is not None and (previous.keys() <= first or first <= previous.keys())
    page.replace([previous if previous is not None and alike else records[0], *records])


def skip(page: Page, pick: float) -> None:
    """Leave out the record at ``pick`` × the page length."""
    records = page.records
    del records[min(int(pick * len(records)), len(records) - 1)]
    page.replace(records)
