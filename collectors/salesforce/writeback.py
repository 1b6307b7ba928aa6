"""AR status written back onto Salesforce accounts, 25 accounts per composite request.

Each account is one ``PATCH /sobjects/Account/{id}`` subrequest of a composite request with
``allOrNone: false``, so one refused account does not fail the others; every update gets its own
``ARResult``. A PATCH only sets fields, so sending the same update twice is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from collectors.errors import SchemaDriftError
from collectors.salesforce.mapping import VENDOR, format_datetime

MAX_SUBREQUESTS = 25
T = TypeVar("T")
_ID = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")


@dataclass(frozen=True)
class ARUpdate:
    """What one account owes us, as of when we computed it."""

    account_id: str  # the Salesforce Account Id (from the cross-reference map)
    balance: Decimal
    overdue: Decimal
    as_of: datetime


@dataclass(frozen=True)
class ARResult:
    """Whether Salesforce took one account's update, and its reason when it did not."""

    account_id: str
    ok: bool
    status: int
    error: str | None = None


def batches(items: Sequence[T]) -> Iterator[list[T]]:
    """``items`` in runs of at most 25, the most one composite request may carry."""
    for start in range(0, len(items), MAX_SUBREQUESTS):
        yield list(items[start : start + MAX_SUBREQUESTS])


def malformed(update: ARUpdate) -> ARResult | None:
    """A result for an update we must not send (an id that is not a Salesforce id)."""
    if _ID.fullmatch(update.account_id):
        return None
    return ARResult(update.account_id, False, 0, "not a Salesforce account id")


def composite_body(batch: Sequence[ARUpdate], api_version: str) -> dict[str, Any]:
    return {
        "allOrNone": False,
        "compositeRequest": [
            {
                "method": "PATCH",
                "url": f"/services/data/{api_version}/sobjects/Account/{update.account_id}",
                "referenceId": f"ar{index}",
                "body": {
                    "AR_Balance__c": float(update.balance),
                    "AR_Overdue__c": float(update.overdue),
                    "AR_Updated__c": format_datetime(update.as_of),
                },
            }
            for index, update in enumerate(batch)
        ],
    }


def results(batch: Sequence[ARUpdate], body: Any) -> list[ARResult]:
    """One result per update, matched by reference id."""
    answers = body.get("compositeResponse") if isinstance(body, dict) else None
    if not isinstance(answers, list):
        raise SchemaDriftError(
            f"{VENDOR} composite: response has no compositeResponse list", vendor=VENDOR
        )
    by_ref = {a.get("referenceId"): a for a in answers if isinstance(a, dict)}
    out = []
    for index, update in enumerate(batch):
        answer = by_ref.get(f"ar{index}")
        if answer is None:
            out.append(ARResult(update.account_id, False, 0, "no result in composite response"))
            continue
        status = int(answer.get("httpStatusCode") or 0)
        ok = 200 <= status < 300
        out.append(ARResult(update.account_id, ok, status, None if ok else _reason(answer)))
    return out


def _reason(answer: dict[str, Any]) -> str:
    errors = answer.get("body")
    if isinstance(errors, list):
        return "; ".join(
            f"{e.get('errorCode', '')}: {e.get('message', '')}"
            for e in errors
            if isinstance(e, dict)
        )
    return str(errors)[:300]
