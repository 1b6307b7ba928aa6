"""Identity resolution: one canonical id per customer, project or person, whatever system it is
seen in.

A record from a system is resolved in three steps: its cross-reference (it was seen before), then
a natural key (a normalised name, an email, a project code) among the canonical records of that
kind not yet claimed by another record of the same system, and only then a new canonical id of
its own. Two candidates are never guessed between: the record becomes an ``identity_ambiguous``
exception for a person to link by hand.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors.entities import canonical_id
from sync.store.repo import Problem
from sync.store.tables import CustomerRow, XrefRow

AMBIGUOUS = "identity_ambiguous"
_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")
# Legal-form words that one system writes and another leaves out ("Acme Corp." ~ "ACME").
_LEGAL_FORMS = frozenset(
    {"inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc"}
    | {"llp", "plc", "gmbh", "ag", "sa", "sas", "bv", "nv", "pty"}
)


def normal_name(name: str | None) -> str:
    """A name as compared across systems: accents, case, punctuation and legal form ignored."""
    if not name:
        return ""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = _SPACES.sub(" ", _PUNCTUATION.sub(" ", plain.casefold())).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def assignment_id(project_id: str, resource_id: str) -> str:
    """One canonical assignment per project and person, whichever system shows it (a Kantata
    participation and a Harvest user assignment are the same assignment)."""
    return canonical_id("plan2cash", "assignment", f"{project_id}:{resource_id}")


def normal_email(email: str | None) -> str:
    return (email or "").strip().casefold()


def xrefs(session: Session, entity_type: str, system: str) -> dict[str, str]:
    """External id → canonical id, for every record of ``entity_type`` linked in ``system``."""
    rows = session.execute(
        select(XrefRow.external_id, XrefRow.canonical_id).where(
            XrefRow.entity_type == entity_type, XrefRow.system == system
        )
    )
    return dict(rows.all())


def claimed(session: Session, entity_type: str, system: str) -> set[str]:
    """Canonical ids that already have a record of ``system`` linked to them."""
    return set(xrefs(session, entity_type, system).values())


@dataclass
class Index:
    """Canonical ids by natural key; ``taken`` are ids another record of the system owns."""

    by_key: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    taken: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]], taken: Iterable[str] = ()) -> Index:
        index = cls(taken=set(taken))
        for key, canonical in pairs:
            index.add(key, canonical)
        return index

    def add(self, key: str, canonical: str) -> None:
        if key and canonical not in self.by_key[key]:
            self.by_key[key].append(canonical)

    def candidates(self, key: str) -> list[str]:
        return [c for c in self.by_key.get(key, []) if c not in self.taken] if key else []


def customer_index(session: Session, system: str) -> Index:
    """Canonical customers by normalised name; those ``system`` already links are taken."""
    names = session.execute(select(CustomerRow.name, CustomerRow.id)).all()
    pairs = [(normal_name(name), cid) for name, cid in names]
    return Index.of(pairs, claimed(session, "customer", system))


@dataclass(frozen=True)
class Resolved:
    """The canonical id a record resolved to (``None`` when ambiguous), and how."""

    canonical_id: str | None
    how: str  # "xref", "match", "new" or "ambiguous"
    candidates: tuple[str, ...] = ()


def resolve(
    known: dict[str, str], external_id: str, index: Index, keys: Iterable[str], own_id: str
) -> Resolved:
    """Resolve one record: its xref, else the first key with candidates, else ``own_id``."""
    if external_id in known:
        return Resolved(known[external_id], "xref")
    for key in keys:
        found = index.candidates(key)
        if len(found) == 1:
            return Resolved(found[0], "match")
        if len(found) > 1:
            return Resolved(None, "ambiguous", tuple(sorted(found)))
    return Resolved(own_id, "new")


def claim(
    known: dict[str, str], index: Index, external_id: str, canonical: str, keys: Iterable[str]
) -> None:
    """Remember a resolution within a run: the id is now linked and owned by this record."""
    known[external_id] = canonical
    index.taken.add(canonical)
    for key in keys:
        index.add(key, canonical)


def ambiguous(
    record_key: str, what: str, name: str, resolved: Resolved, payload: dict[str, Any] | None
) -> Problem:
    listed = ", ".join(resolved.candidates)
    return Problem(
        record_key=record_key,
        stage="identity",
        category=AMBIGUOUS,
        reason=(
            f"{what} {name!r} matches {len(resolved.candidates)} known records ({listed}); "
            "link it to the right one by hand, or make the names differ."
        ),
        payload=payload,
        entity_type=what.split()[-1].lower(),
    )
