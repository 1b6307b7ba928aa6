"""A person's edit to a stored vendor record, as typed: JSON text → the fields to change.

The CLI's ``--edit`` and the dashboard's edit box both read edits here, so a typo gets the same
message in both places.
"""

from __future__ import annotations

import json
from typing import Any

EXAMPLE = '{"hours": 2.0}'


def parse_edit(text: str) -> dict[str, Any] | None:
    """The JSON object of fields to change; blank text means no edit.

    Raises :class:`ValueError` with a message a person can act on when the text is not a
    non-empty JSON object.
    """
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"The edit is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}). "
            f"Write an object of fields to change, e.g. {EXAMPLE}."
        ) from None
    if not isinstance(value, dict) or not value:
        raise ValueError(f"The edit must be a JSON object of fields to change, e.g. {EXAMPLE}.")
    return value


__all__ = ["parse_edit"]
