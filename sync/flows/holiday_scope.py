"""Whom a BambooHR company holiday applies to: every location, or the locations that observe it.

BambooHR keeps one company holiday calendar, and Who's Out does not say whom a holiday applies
to (BambooHR filters holidays per employee by visibility settings its API does not expose). A
firm in several countries lists every country's public holidays there, so applying each one to
everybody would take US Thanksgiving off a London consultant's capacity.

With the country of each location configured (``[bamboohr] location_countries``), a company
holiday that is a public holiday in some configured country (by the ``holidays`` package)
applies to the locations of the countries that observe it that day, and to every location whose
country is not configured (for them the company calendar is all we know); a holiday that no
configured country observes (a company day off) applies everywhere. Without configuration every
holiday applies everywhere. BambooHR stays the source of which days are holidays: a public
holiday the company does not list is not added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import holidays


class HolidayScope:
    """The locations (``None``: everywhere) each company holiday applies to."""

    def __init__(self, countries: Mapping[str, str], locations: Iterable[str]) -> None:
        self.countries = dict(countries)
        self.unconfigured = sorted(set(locations) - set(self.countries))
        self._calendars: dict[tuple[str, int], holidays.HolidayBase] = {}

    def regions(self, day: date) -> list[str | None]:
        """The locations that are off on ``day``, a company holiday; ``[None]`` for all."""
        observing = sorted(
            location
            for location, country in self.countries.items()
            if day in self._calendar(country, day.year)
        )
        if not observing:
            return [None]
        return [*observing, *self.unconfigured]

    def _calendar(self, country: str, year: int) -> holidays.HolidayBase:
        key = (country, year)
        if key not in self._calendars:
            self._calendars[key] = holidays.country_holidays(country, years=year)
        return self._calendars[key]
