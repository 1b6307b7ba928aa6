"""Whom a BambooHR company holiday applies to, given the countries of the locations."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from collectors.bamboohr import BambooHRSettings
from sync.flows.holiday_scope import HolidayScope

THANKSGIVING = date(2026, 11, 26)
BOXING_DAY = date(2026, 12, 26)
CHRISTMAS = date(2026, 12, 25)
FOUNDERS_DAY = date(2026, 6, 12)  # a company day off, no country's public holiday


def scope(*extra: str) -> HolidayScope:
    countries = {"New York": "US", "Boston": "US", "London": "GB", "Berlin": "DE"}
    return HolidayScope(countries, ["New York", "London", *extra])


def test_a_public_holiday_applies_to_the_locations_of_the_countries_that_observe_it() -> None:
    assert scope().regions(THANKSGIVING) == ["Boston", "New York"]
    assert scope().regions(BOXING_DAY) == ["Berlin", "London"]
    assert scope().regions(CHRISTMAS) == ["Berlin", "Boston", "London", "New York"]


def test_a_company_day_off_applies_everywhere() -> None:
    assert scope("Paris").regions(FOUNDERS_DAY) == [None]


def test_a_location_of_unknown_country_keeps_the_whole_company_calendar() -> None:
    assert scope("Paris").regions(THANKSGIVING) == ["Boston", "New York", "Paris"]


def test_without_countries_every_holiday_applies_everywhere() -> None:
    assert HolidayScope({}, ["New York", "London"]).regions(THANKSGIVING) == [None]


def test_countries_are_checked_when_configured() -> None:
    assert BambooHRSettings(location_countries={"London": "gb"}).location_countries == {
        "London": "GB"
    }
    with pytest.raises(ValidationError, match="XX"):
        BambooHRSettings(location_countries={"Atlantis": "XX"})
