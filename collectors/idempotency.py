"""Creating a record at most once on a vendor that has no idempotency key (Harvest, Kantata).

Such a create cannot be retried blindly: a reply lost after the vendor made the record would make
it twice. So ``create_once`` looks before it leaps — ``find`` the record by its natural key
(a client's name, a workspace's contract reference), and ``create`` it only when absent — and
after a create that failed in transit, looks again before creating again. ``create`` sends its
request a single time (``collectors.http.call(..., once=True)``); the look-ups retry as any read
does. Vendors with keys (Xero's ``Idempotency-Key``) resend the same request instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from collectors.errors import RetryableError

T = TypeVar("T")


def create_once(
    find: Callable[[], T | None],
    create: Callable[[], T],
    *,
    attempts: int = 5,
    known_absent: bool = False,
) -> T:
    """What ``find`` finds, else what ``create`` makes; a create that fails in transit
    (``RetryableError``: its outcome unknown) is followed by another look, at most ``attempts``
    rounds in all, and the last failure is raised when none succeeds. ``known_absent`` skips the
    first look (the caller has just looked, for many records in one read)."""
    failure: RetryableError | None = None
    for round_ in range(max(1, attempts)):
        found = None if known_absent and round_ == 0 else find()
        if found is not None:
            return found
        try:
            return create()
        except RetryableError as exc:
            failure = exc
    assert failure is not None
    raise failure


__all__ = ["create_once"]
