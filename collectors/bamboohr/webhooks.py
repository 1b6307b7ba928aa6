"""Verifying BambooHR webhook deliveries.

BambooHR signs a delivery with HMAC-SHA256, keyed with the webhook's private key, over the raw
body followed by the ``X-BambooHR-Timestamp`` header value; the digest is in
``X-BambooHR-Signature``. The vendor notes leave the digest encoding unconfirmed: hex is what
BambooHR's own PHP example produces, and base64 of the same digest is accepted as well so that a
receiver keeps working whichever it turns out to be (both prove knowledge of the key).
A delivery older (or further in the future) than ``max_age`` seconds is refused as a replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

import httpx
from pydantic import SecretStr

TIMESTAMP_HEADER = "X-BambooHR-Timestamp"
SIGNATURE_HEADER = "X-BambooHR-Signature"
DEFAULT_MAX_AGE_SECONDS = 300.0


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    key: SecretStr | str,
    *,
    max_age: float = DEFAULT_MAX_AGE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``body`` was signed with ``key`` within the last ``max_age`` seconds."""
    lookup = httpx.Headers(dict(headers))
    timestamp = lookup.get(TIMESTAMP_HEADER, "").strip()
    given = lookup.get(SIGNATURE_HEADER, "").strip()
    if not timestamp or not given:
        return False
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > max_age:
        return False
    secret = key.get_secret_value() if isinstance(key, SecretStr) else key
    digest = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).digest()
    given_bytes = given.encode("utf-8", "replace")
    hex_ok = hmac.compare_digest(given_bytes.lower(), digest.hex().encode())
    return hex_ok or hmac.compare_digest(given_bytes, base64.b64encode(digest))
