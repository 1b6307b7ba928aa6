"""The BambooHR emulator: auth, both URL forms, cursor paging, changes and time off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from sandbox.vendors.bamboohr import BambooHREmulator
from tests.sandbox.bamboohr_world import (
    FUTURE_HIRE_ID,
    TERMINATED_ID,
    client_for,
)
from tests.sandbox.clock import FakeClock


@pytest.fixture
def api(bamboo_emulator: BambooHREmulator) -> Iterator[httpx.Client]:
    with client_for(bamboo_emulator) as client:
        yield client


def all_pages(api: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    url: str | None = "employees"
    while url is not None:
        response = api.get(url, params=params if not bodies else None)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
        url = bodies[-1]["_links"].get("next", {}).get("href")
        assert len(bodies) < 50
    return bodies


# --- auth and URL forms -----------------------------------------------------------------------


def test_the_api_key_is_the_basic_username_and_any_password_works(api: httpx.Client) -> None:
    assert api.get("employees", auth=("sandbox-bamboohr-key", "anything")).status_code == 200
    wrong = api.get("employees", auth=("not-the-key", "x"))
    assert wrong.status_code == 401
    assert wrong.headers["X-BambooHR-Error-Message"] == "Invalid API key"
    request = api.build_request("GET", "employees")
    missing = api.send(request, auth=None)
    assert (
        missing.status_code == 401
        and "Missing API key" in missing.headers["X-BambooHR-Error-Message"]
    )


def test_the_legacy_gateway_form_names_the_company(bamboo_emulator: BambooHREmulator) -> None:
    with client_for(bamboo_emulator, "http://127.0.0.1:8713/api/gateway.php/meridian/v1/") as api:
        assert api.get("employees/1").json() == {
            "id": "1",
            "firstName": "Ava",
            "lastName": "Nguyen",
        }
    with client_for(bamboo_emulator, "http://127.0.0.1:8713/api/gateway.php/other/v1/") as api:
        assert api.get("employees/1").status_code == 404


def test_xml_is_not_emulated_but_the_json_only_list_needs_no_accept(api: httpx.Client) -> None:
    refused = api.get("employees/directory", headers={"Accept": "application/xml"})
    assert refused.status_code == 406 and "X-BambooHR-Error-Message" in refused.headers
    assert api.get("employees", headers={"Accept": "*/*"}).status_code == 200


# --- employees --------------------------------------------------------------------------------


def test_cursor_paging_visits_everyone_once_and_ends(api: httpx.Client) -> None:
    bodies = all_pages(api, {"page[limit]": 5, "fields": "departmentName"})
    ids = [int(r["employeeId"]) for b in bodies for r in b["data"]]
    assert ids == sorted(ids) == list(range(1, 13))
    assert [b["meta"]["total"] for b in bodies] == [12, 12, 12]
    assert bodies[0]["meta"]["page"]["prevCursor"] is None
    assert bodies[-1]["meta"]["page"]["nextCursor"] is None and "next" not in bodies[-1]["_links"]
    assert all("departmentName" in r for b in bodies for r in b["data"])
    back = api.get(
        "employees",
        params={"page[limit]": 5, "page[before]": bodies[1]["meta"]["page"]["prevCursor"]},
    )
    assert [r["employeeId"] for r in back.json()["data"]] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    "params, code",
    [
        ({"page[limit]": 2501}, "BadRequest"),
        ({"page[limit]": 0}, "BadRequest"),
        ({"page[after]": "not-a-cursor"}, "BadPage"),
        ({"filter[status]": "gone"}, "BadRequest"),
        ({"filter[salary]": "1"}, "BadRequest"),
        ({"sort": "salary"}, "BadRequest"),
    ],
)
def test_bad_list_requests_are_400_with_a_code(
    api: httpx.Client, params: dict[str, Any], code: str
) -> None:
    response = api.get("employees", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_a_cursor_whose_boundary_employee_vanished_is_bad_page(
    api: httpx.Client, bamboo_emulator: BambooHREmulator
) -> None:
    first = api.get("employees", params={"page[limit]": 3}).json()
    cursor = first["meta"]["page"]["nextCursor"]
    wrong_way = api.get("employees", params={"page[before]": cursor})
    assert wrong_way.json()["error"]["code"] == "BadPage"
    bamboo_emulator.delete_employee(3)
    gone = api.get("employees", params={"page[after]": cursor})
    assert gone.status_code == 400 and gone.json()["error"]["code"] == "BadPage"


def test_list_fields_project_the_world(api: httpx.Client) -> None:
    fields = (
        "hireDate,departmentName,locationName,divisionName,reportsToId,employmentStatusName,"
        "workEmail,nonsense"
    )
    data = api.get("employees", params={"fields": fields}).json()["data"]
    marco = next(r for r in data if r["employeeId"] == str(TERMINATED_ID))
    assert marco["status"] == "Inactive" and marco["employmentStatusName"] == "Terminated"
    assert marco["departmentName"] == "Technology" and marco["locationName"] == "Europe"
    assert marco["divisionName"] == "Meridian Advisory Ltd" and marco["reportsToId"] == "2"
    assert marco["hireDate"] == "2020-02-03" and marco["jobTitleName"] == "Consultant"
    assert "nonsense" not in marco
    assert next(r for r in data if r["employeeId"] == "1")["reportsToId"] is None


def test_filters_status_ids_and_names(api: httpx.Client) -> None:
    inactive = api.get("employees", params={"filter[status]": "inactive"}).json()["data"]
    assert [r["employeeId"] for r in inactive] == [str(TERMINATED_ID)]
    some = api.get("employees", params=[("filter[ids][]", "2"), ("filter[ids][]", "5")]).json()
    assert [r["employeeId"] for r in some["data"]] == ["2", "5"]
    legacy = api.get("employees", params={"filter[ids]": "5,2", "sort": "-employeeId"}).json()
    assert [r["employeeId"] for r in legacy["data"]] == ["5", "2"]
    named = api.get("employees", params={"filter[lastName]": "PAR"}).json()["data"]
    assert [r["lastName"] for r in named] == ["Park"]


def test_one_employee_by_field_aliases(api: httpx.Client) -> None:
    fields = (
        "firstName,department,location,division,jobTitle,terminationDate,status,supervisorEId,"
        "standardHoursPerWeek"
    )
    active = api.get("employees/3", params={"fields": fields}).json()
    assert active["terminationDate"] == "0000-00-00" and active["status"] == "Active"
    assert active["department"] == "Technology" and active["supervisorEId"] == "2"
    gone = api.get(f"employees/{TERMINATED_ID}", params={"fields": fields}).json()
    assert gone["terminationDate"] == "2025-06-30" and gone["status"] == "Inactive"
    assert api.get("employees/999").status_code == 404


def test_directory_lists_current_active_people(api: httpx.Client) -> None:
    body = api.get("employees/directory").json()
    ids = {e["id"] for e in body["employees"]}
    assert str(TERMINATED_ID) not in ids and str(FUTURE_HIRE_ID) not in ids
    assert {f["id"] for f in body["fields"]} >= {"department", "location", "division"}
    later = api.get("employees/directory", params={"onlyCurrent": "false"}).json()
    assert str(FUTURE_HIRE_ID) in {e["id"] for e in later["employees"]}


# --- changes ----------------------------------------------------------------------------------


def test_changed_since_reports_inserts_updates_and_deletes(
    api: httpx.Client, bamboo_emulator: BambooHREmulator, bamboo_clock: FakeClock
) -> None:
    since = bamboo_clock.advance(minutes=1)
    assert api.get("employees/changed", params={"since": since.isoformat()}).json() == {
        "latest": "2026-03-12T12:01:00+00:00",
        "employees": {},
    }
    bamboo_clock.advance(minutes=1)
    bamboo_emulator.terminate(3, date(2026, 3, 31))
    new = bamboo_emulator.hire("Kai", "Berg", role="Analyst", practice_id=1, region_id=2)
    bamboo_clock.advance(minutes=1)
    bamboo_emulator.delete_employee(6)
    body = api.get("employees/changed", params={"since": since.isoformat()}).json()
    assert {k: v["action"] for k, v in body["employees"].items()} == {
        "3": "Updated",
        str(new): "Inserted",
        "6": "Deleted",
    }
    assert body["latest"] == "2026-03-12T12:03:00+00:00"
    deleted = api.get("employees/changed", params={"since": since.isoformat(), "type": "deleted"})
    assert list(deleted.json()["employees"]) == ["6"]
    assert api.get("employees/changed", params={"since": "yesterday"}).status_code == 400
    assert api.get("employees/changed").status_code == 400


# --- time off ---------------------------------------------------------------------------------


def test_time_off_requests_overlap_the_window_in_days_or_hours(api: httpx.Client) -> None:
    march = api.get("time_off/requests", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    assert sorted(r["id"] for r in march) == [1, 2, 3, 5]
    sick = next(r for r in march if r["id"] == 3)
    assert sick["amount"] == {"unit": "hours", "amount": 4.0}
    assert sick["status"]["status"] == "approved" and sick["name"] == "Tom Becker"
    parental = api.get(
        "time_off/requests", params={"start": "2026-05-01", "end": "2026-06-30"}
    ).json()
    (leave,) = parental
    assert leave["amount"] == {"unit": "days", "amount": 7.0}  # 8 weekdays less Memorial Day
    assert leave["dates"]["2026-05-25"] == 0.0 and leave["dates"]["2026-05-30"] == 0.0
    only = api.get(
        "time_off/requests",
        params={"start": "2026-01-01", "end": "2026-12-31", "status": "denied,canceled"},
    ).json()
    assert sorted(r["status"]["status"] for r in only) == ["canceled", "denied"]
    assert api.get("time_off/requests", params={"start": "2026-03-01"}).status_code == 400


def test_whos_out_lists_approved_absences_and_holidays_by_date(
    api: httpx.Client, bamboo_emulator: BambooHREmulator
) -> None:
    default = api.get("time_off/whos_out").json()  # today .. today + 14 days
    assert [(e["type"], e["id"]) for e in default] == [("timeOff", 1), ("holiday", 2)]
    year = api.get("time_off/whos_out", params={"start": "2026-01-01", "end": "2026-12-31"}).json()
    holidays = [e["name"] for e in year if e["type"] == "holiday"]
    assert holidays.count("New Year's Day") == 1
    assert [e["start"] for e in year] == sorted(e["start"] for e in year)
    request = bamboo_emulator.request_time_off(8, date(2026, 3, 13), date(2026, 3, 13))
    assert request not in {
        e["id"] for e in api.get("time_off/whos_out").json() if e["type"] == "timeOff"
    }
    bamboo_emulator.set_time_off_status(request, "approved")
    assert request in {
        e["id"] for e in api.get("time_off/whos_out").json() if e["type"] == "timeOff"
    }
