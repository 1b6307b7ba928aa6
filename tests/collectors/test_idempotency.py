"""``create_once``: look before creating, and look again after a create whose outcome is unknown."""

from __future__ import annotations

import pytest

from collectors.errors import RecordError, RetryableError
from collectors.idempotency import create_once


class Vendor:
    """A record store whose creates can fail in transit, before or after the record is made."""

    def __init__(self, *failures: str) -> None:
        self.records: list[str] = []
        self.looks = 0
        self.creates = 0
        self._failures = list(failures)  # "lost" (made, reply lost), "refused" (not made)

    def find(self) -> str | None:
        self.looks += 1
        return self.records[0] if self.records else None

    def create(self) -> str:
        self.creates += 1
        failure = self._failures.pop(0) if self._failures else None
        if failure != "refused":
            self.records.append(f"r{self.creates}")
        if failure is not None:
            raise RetryableError(f"create {self.creates}: {failure}")
        return self.records[-1]


def test_an_existing_record_is_found_and_nothing_is_created() -> None:
    vendor = Vendor()
    vendor.records.append("r0")
    assert create_once(vendor.find, vendor.create) == "r0"
    assert vendor.creates == 0


def test_a_missing_record_is_created_after_one_look() -> None:
    vendor = Vendor()
    assert create_once(vendor.find, vendor.create) == "r1"
    assert (vendor.looks, vendor.creates) == (1, 1)


def test_a_create_whose_reply_was_lost_is_found_not_made_twice() -> None:
    vendor = Vendor("lost")
    assert create_once(vendor.find, vendor.create) == "r1"
    assert vendor.records == ["r1"] and vendor.looks == 2


def test_a_create_refused_in_transit_is_made_after_another_look() -> None:
    vendor = Vendor("refused", "refused")
    assert create_once(vendor.find, vendor.create) == "r3"
    assert vendor.records == ["r3"] and vendor.looks == 3


def test_the_rounds_are_bounded_and_the_last_failure_is_raised() -> None:
    vendor = Vendor(*["refused"] * 5)
    with pytest.raises(RetryableError, match="create 3"):
        create_once(vendor.find, vendor.create, attempts=3)
    assert (vendor.looks, vendor.creates) == (3, 3) and vendor.records == []


def test_a_refusal_of_the_record_itself_is_not_tried_again() -> None:
    vendor = Vendor()

    def invalid() -> str:
        vendor.creates += 1
        raise RecordError("title can't be blank")

    with pytest.raises(RecordError):
        create_once(vendor.find, invalid)
    assert vendor.creates == 1
