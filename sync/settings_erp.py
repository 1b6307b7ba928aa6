"""``[erp]``: which ERP, and which of its companies, keeps each legal entity's books.

- ``default`` is the ERP of a legal entity ``entities`` does not list, and of a customer with no
  legal entity at all (``xero`` unless set).
- ``entities`` maps a legal entity, named as the CRM spells it (case and spacing aside), to
  ``{erp = "…", company = "…"}``. ``company`` is the ERP's own id for the entity's books: a Xero
  tenant id, a Dynamics 365 ``dataAreaId``, a Fusion business unit, a NetSuite subsidiary id.
  Without it, the entity's books are the ERP's company whose name is the entity's name.

An ERP is configured when the settings hold its section, named as the ERP is (``[xero]``,
``[dynamics365]`` …). Every ERP in use (the default and each one an entity is mapped to) must be
configured, or the configuration is refused naming the entities at fault: posting to a set of
books nobody configured is never a fallback.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sync.store.vocabulary import ErpSystem


def entity_key(name: str) -> str:
    """A legal entity's name as it is matched: case and spacing aside."""
    return " ".join(name.casefold().split())


class EntityBooks(BaseModel):
    """Where one legal entity's books are kept."""

    model_config = ConfigDict(extra="forbid")

    erp: ErpSystem
    company: str | None = Field(default=None, min_length=1)


class ErpSettings(BaseModel):
    """``[erp]``: the default ERP and the legal entities mapped to an ERP and its company."""

    model_config = ConfigDict(extra="forbid")

    default: ErpSystem = ErpSystem.XERO
    entities: dict[str, EntityBooks] = Field(default_factory=dict)

    def in_use(self) -> list[ErpSystem]:
        """The default ERP, then every other ERP an entity is mapped to, once each."""
        return list(dict.fromkeys([self.default, *(b.erp for b in self.entities.values())]))

    def books_of(self, entity: str) -> EntityBooks | None:
        """The configured books of ``entity`` (matched case and spacing aside), if any."""
        wanted = entity_key(entity)
        return next((b for n, b in self.entities.items() if entity_key(n) == wanted), None)


def configured(settings: BaseModel) -> list[ErpSystem]:
    """The ERPs whose section the settings hold."""
    return [erp for erp in ErpSystem if getattr(settings, erp.value, None) is not None]


def erp_problems(settings: BaseModel, erp: ErpSettings) -> list[str]:
    """A problem for each ERP in use that is not configured (naming the entities mapped to
    it), and for legal entities listed twice under spellings that match each other."""
    ready = set(configured(settings))
    problems = []
    if erp.default not in ready:
        problems.append(
            f"erp.default is {erp.default}, which is not configured: {_add(erp.default)}"
        )
    for missing in [e for e in erp.in_use() if e not in ready and e != erp.default]:
        named = ", ".join(sorted(n for n, b in erp.entities.items() if b.erp == missing))
        problems.append(
            f"erp.entities maps {named} to {missing}, which is not configured: {_add(missing)}"
        )
    seen: dict[str, list[str]] = {}
    for name in erp.entities:
        seen.setdefault(entity_key(name), []).append(name)
    twice = [" and ".join(sorted(names)) for names in seen.values() if len(names) > 1]
    if twice:
        problems.append(f"erp.entities lists the same legal entity twice: {'; '.join(twice)}")
    return problems


def _add(erp: ErpSystem) -> str:
    return f"add a [{erp}] section with its connection, or map the entities to another ERP"


def moved_keys(data: Any) -> list[str]:
    """Keys of an older configuration that now live under ``[erp]`` (refused, with where)."""
    xero = data.get("xero") if isinstance(data, dict) else None
    if isinstance(xero, dict) and "tenants" in xero:
        return [
            "xero.tenants has moved to [erp] entities: map each legal entity as "
            '"<entity>" = { erp = "xero", company = "<tenant id>" }'
        ]
    return []


__all__ = ["EntityBooks", "ErpSettings", "configured", "entity_key", "erp_problems", "moved_keys"]
