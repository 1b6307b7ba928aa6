"""Time entry pages read straight from the body: the same frame as the record-by-record mapping,
records decoded only when asked for, the same paging and retries as the shared page loop, and
``whole_days`` regrouping frames the way ``sync.flows.history.whole_days`` regroups lists."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from collectors import harvest
from collectors.errors import RetryableError, SchemaDriftError
from collectors.harvest import HarvestConnector, HarvestSettings, read_time_entry_page
from collectors.harvest.pages import concat_pages
from collectors.http import RetryPolicy
from sandbox.server import Sandbox
from sync.flows.history import whole_days as whole_days_of_lists
from tests.collectors.records import harvest_time_entry

FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


def _body(records: list[Any], following: str | None = None) -> bytes:
    return orjson.dumps({"time_entries": records, "per_page": 2000, "links": {"next": following}})


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(7, today=date(2026, 11, 25)) as sandbox:
        yield sandbox


def test_a_sandbox_page_reads_into_the_frame_the_mapping_builds(box: Sandbox) -> None:
    connector = HarvestConnector(
        HarvestSettings(per_page=100), transport=box.transports()["harvest"]
    )
    with connector.client() as client:
        framed = list(connector.time_entry_pages(client))
        listed = list(connector.pages(client, "time_entries"))
    assert [len(p) for p in framed] == [len(p) for p in listed] and len(framed) > 1
    for page, records in zip(framed, listed, strict=True):
        assert_frame_equal(page.frame, harvest.time_entries_frame(records))
        assert list(page) == records  # each record as received


def test_numbers_nulls_and_odd_values_read_as_the_mapping_reads_them() -> None:
    records: list[Any] = [
        harvest_time_entry(1),
        harvest_time_entry(2, hours="seven", spent_date="31/02/2026"),
        harvest_time_entry(3, is_closed=False, hours=-2, billable_rate=None),
        harvest_time_entry(4, invoice={"id": 9, "number": "A"}),
        {"no": "id"},
        None,
        harvest_time_entry(6, hours=26, updated_at="2026-10-20T10:00:00+02:00"),
        harvest_time_entry(7, task=None, project=None),
        harvest_time_entry(8, hours=0.1, created_at="bad", billable_rate=0.30000000000000004),
        harvest_time_entry(
            9, updated_at="2026-11-25T18:31:00.123456+00:00", created_at="2026-11-25T18:31:00"
        ),
        harvest_time_entry(
            10, hours=8, billable_rate="175.50", notes='tab\tand "quotes" and ünïcode'
        ),
    ]
    page = read_time_entry_page(_body(records))
    assert_frame_equal(page.frame, harvest.time_entries_frame(records))
    assert_frame_equal(page.frame, harvest._time_entries_by_record(records))


def test_a_value_no_column_can_hold_falls_back_and_keeps_the_payload() -> None:
    records: list[Any] = [
        harvest_time_entry(1),
        harvest_time_entry(2, billable="yes", user="x"),
        "garbage",
        [1, 2],
    ]
    page = read_time_entry_page(_body(records))
    assert_frame_equal(page.frame, harvest.time_entries_frame(records))
    assert page.frame["source_id"].to_list() == ["1", "2", None, None]
    assert page[2] == "garbage" and page[-1] == [1, 2] and page[1]["user"] == "x"


def test_an_empty_page_is_an_empty_frame() -> None:
    page = read_time_entry_page(_body([]))
    assert len(page) == 0 and page.frame.height == 0
    assert page.frame.schema == harvest.time_entries_frame([harvest_time_entry(1)]).schema


def test_pages_slice_and_join_with_rows_renumbered() -> None:
    page = read_time_entry_page(_body([harvest_time_entry(i) for i in range(1, 6)]))
    head, tail = page[:2], page[2:]
    assert [r["id"] for r in tail] == [3, 4, 5]
    assert tail.frame["row"].to_list() == [0, 1, 2] and tail.frame["source_id"][0] == "3"
    joined = concat_pages([tail, head])
    assert [r["id"] for r in joined] == [3, 4, 5, 1, 2]
    assert joined.frame["row"].to_list() == list(range(5))
    assert joined.frame["source_id"].to_list() == ["3", "4", "5", "1", "2"]


def test_whole_days_regroups_frames_as_the_list_version_regroups_records() -> None:
    days = ["2026-11-05"] * 3 + ["2026-11-04"] * 4 + ["2026-11-03"] * 2 + ["2026-11-02"] * 3
    records = [harvest_time_entry(i, spent_date=d) for i, d in enumerate(days, start=1)]
    records.insert(5, "garbage")  # a record without a day stays where the list version keeps it
    chunks = [records[0:4], records[4:6], records[6:11], records[11:]]
    framed = list(harvest.whole_days(read_time_entry_page(_body(c)) for c in chunks))
    listed = list(whole_days_of_lists(chunks))
    assert [list(p) for p in framed] == listed
    for page, group in zip(framed, listed, strict=True):
        assert_frame_equal(page.frame, harvest.time_entries_frame(group))


def _serving(bodies: list[bytes]) -> httpx.MockTransport:
    served = iter(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=next(served))

    return httpx.MockTransport(handler)


def test_a_cut_body_is_retried_then_paging_follows_the_next_link() -> None:
    following = "https://api.harvestapp.com/v2/time_entries?page=2&per_page=2000"
    first = _body([harvest_time_entry(1)], following)
    transport = _serving([first[:40], first, _body([harvest_time_entry(2)])])
    settings = HarvestSettings(base_url="https://api.harvestapp.com/v2")  # the link's origin
    connector = HarvestConnector(settings, transport=transport, policy=FAST)
    with connector.client() as client:
        pages = list(connector.time_entry_pages(client))
    assert [[r["id"] for r in p] for p in pages] == [[1], [2]]


def test_a_cut_body_that_stays_cut_is_a_retryable_error() -> None:
    transport = _serving([b'{"time_entries": [{"id"'] * 3)
    connector = HarvestConnector(HarvestSettings(), transport=transport, policy=FAST)
    with connector.client() as client, pytest.raises(RetryableError, match="not valid JSON"):
        list(connector.time_entry_pages(client))


def test_a_body_without_time_entries_is_schema_drift() -> None:
    transport = _serving([orjson.dumps({"entries": []})])
    connector = HarvestConnector(HarvestSettings(), transport=transport, policy=FAST)
    with connector.client() as client, pytest.raises(SchemaDriftError, match="time_entries"):
        list(connector.time_entry_pages(client))


def test_records_are_decoded_only_when_asked_for() -> None:
    page = read_time_entry_page(_body([harvest_time_entry(1), harvest_time_entry(2)]))
    assert page._decoded == {}
    assert page[1]["id"] == 2 and set(page._decoded) == {1}
    assert isinstance(page.frame, pl.DataFrame)
