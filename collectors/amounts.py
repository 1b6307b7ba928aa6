"""Numbers read from vendor records.

A vendor value is a number when it is a JSON number or numeric text, finite, and small enough
for the places it is kept to (a ledger cannot hold ``1e400``). Anything else (``"abc"``, ``NaN``,
``Infinity``, ``true``, an object) raises ``SchemaDriftError`` naming the field and the value:
it concerns that one record, which the engine holds as an exception while the rest flows.
"""

from __future__ import annotations

from decimal import Decimal, DecimalException
from typing import Any

from collectors.errors import SchemaDriftError


def amount(
    value: Any,
    field: str,
    *,
    vendor: str,
    places: Decimal | None = None,
    scale: Decimal | int = 1,
) -> Decimal | None:
    """``value`` divided by ``scale`` (cents: 100) and rounded to ``places``; ``None`` stays
    ``None``."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise TypeError
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise ValueError
        number = number / scale
        return number.quantize(places) if places is not None else number
    except (DecimalException, TypeError, ValueError):
        raise SchemaDriftError(
            f"{field} is {_shown(value)}, not a number that can be kept",
            vendor=vendor,
            details={"field": field, "value": _shown(value)},
        ) from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
