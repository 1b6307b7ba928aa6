"""Fusion's ``parts[]`` batch: one request on the version root carrying several creates or
updates, applied all-or-none [confirmed]. A refusal lists only the refused parts, each with an
``exception`` in Fusion's error shape [the reply's exact shape is unconfirmed]; nothing was
applied, so the refused documents take their reasons and the rest are sent again without them.
"""

from __future__ import annotations

from typing import Any

import httpx

from collectors.erp import Raw
from collectors.errors import RecordError
from collectors.http import bound, call_json
from collectors.oracle_fusion.mapping import VENDOR

BATCH_MEDIA_TYPE = "application/vnd.oracle.adf.batch+json"  # [unconfirmed]
Part = tuple[str, Raw]  # (document number, batch part)


def _refusal(number: str, text: str, status: int | None) -> RecordError:
    return RecordError(
        f"{VENDOR} refused {number}: {text}", vendor=VENDOR, status=status, details=text
    )


def run_batch(
    client: httpx.Client, parts: list[Part], *, once: bool
) -> tuple[dict[str, Raw], dict[str, RecordError]]:
    """Send ``parts`` as one all-or-none batch; what each applied part answered, by document
    number, and the refused documents. A refusal naming some parts applied nothing: those are
    refused with their reasons and the others sent again without them."""
    pending = list(parts)
    refused: dict[str, RecordError] = {}
    while pending:
        try:
            body = _send(client, [part for _, part in pending], once=once)
        except RecordError as exc:
            named = _named(exc)
            ids = {part["id"]: number for number, part in pending}
            hit = {ids[i]: text for i, text in named.items() if i in ids}
            if not hit or len(hit) == len(pending):
                text = str(exc.details or exc)
                refused |= {n: _refusal(n, hit.get(n, text), exc.status) for n, _ in pending}
                return {}, refused
            refused |= {n: _refusal(n, text, exc.status) for n, text in hit.items()}
            pending = [(n, p) for n, p in pending if n not in hit]
            continue
        answered: dict[str, Raw] = {
            str(p.get("id")): p["payload"]
            for p in (body.get("parts") if isinstance(body, dict) else None) or []
            if isinstance(p, dict) and isinstance(p.get("payload"), dict)
        }
        return {n: answered[p["id"]] for n, p in pending if p["id"] in answered}, refused
    return {}, refused


def _send(client: httpx.Client, parts: list[Raw], *, once: bool) -> Any:
    root = str(bound(client).base_url).rstrip("/")
    return call_json(
        client,
        "POST",
        root,
        route="/ (batch)",
        json={"parts": parts},
        headers={"Content-Type": BATCH_MEDIA_TYPE},
        once=once,
    )


def _named(refused: RecordError) -> dict[str, str]:
    """Fusion's reasons per refused part id, from a batch's 400."""
    body = refused.body if isinstance(refused.body, dict) else {}
    named: dict[str, str] = {}
    for part in body.get("parts") or []:
        if isinstance(part, dict) and isinstance(part.get("exception"), dict):
            exception = part["exception"]
            details = [
                str(d.get("detail", ""))
                for d in exception.get("o:errorDetails") or []
                if isinstance(d, dict)
            ]
            named[str(part.get("id"))] = "; ".join(filter(None, details)) or str(
                exception.get("detail") or "refused"
            )
    return named
