"""How ``--dist loadfile`` hands the suite to its workers: the longest units of work first.

A unit is a test file (what a module shares stays on one worker), except in two kinds of file:

- ``ONE_TEST_AT_A_TIME``: slow tests that share nothing but what each process makes once (their
  fixtures are function- or session-scoped), a test per unit, so that no one worker is left
  with a whole file of them while the others wait;
- ``ONE_PARAM_AT_A_TIME``: a module-scoped fixture builds one sandbox firm per parameter (the
  only parameter of the file's tests), and the tests of a parameter only read it: a parameter
  per unit, so the firms are built on different workers at once, each once.

Units are handed out in the order of ``LONGEST_FIRST`` (each unit not named there took under
~8 s on a quiet machine), then by number of tests, as xdist orders them. The last units to start
are then short ones, and no worker is still running a long one when the others have run out of
work. (xdist's own order, most tests first, started the long single-test files last.) The order
is a matter of speed only: every test runs whatever it is.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

ONE_TEST_AT_A_TIME = frozenset(
    {
        "tests/app/cli/test_cli.py",
        "tests/reliability/test_crash_anywhere.py",
        "tests/reliability/test_lost_replies.py",
        "tests/reliability/test_outage.py",
        "tests/sync/flows/test_billable_store.py",
        "tests/sync/flows/test_compensation.py",
        "tests/sync/flows/test_reconcile.py",
        "tests/sync/flows/test_rollups.py",
        "tests/sync/flows/test_rollups_clock.py",
        "tests/sync/test_business_clock.py",
        "tests/sync/test_queue.py",
        "tests/sync/test_replay.py",
        "tests/sync/test_time_to_invoice.py",
    }
)
ONE_PARAM_AT_A_TIME = frozenset(
    {"tests/reliability/test_bad_input.py", "tests/metrics/test_truth.py"}
)

# the units that took longest (in whole runs on this machine), longest first; a file handed out
# a test or a parameter at a time stands where one of its units would
LONGEST_FIRST = (
    "tests/app/test_signin_browser.py",
    "tests/app/test_browser.py",
    "tests/reliability/test_fault_storm.py",
    "tests/app/test_scale_out.py",
    "tests/reliability/test_outage.py",
    "tests/app/cli/test_synced.py",
    "tests/reliability/test_slo_outage.py",
    "tests/reliability/test_unreadable_records.py",
    "tests/reliability/test_bad_input.py",
    "tests/metrics/test_truth.py",
    "tests/reliability/test_crash_anywhere.py",
    "tests/reliability/test_lost_replies.py",
    "tests/sync/test_business_clock.py",
    "tests/sync/test_time_to_invoice.py",
    "tests/sync/test_queue.py",
    "tests/app/cli/test_cli.py",
    "tests/sync/test_replay.py",
    "tests/sync/flows/test_reconcile.py",
    "tests/sync/flows/test_rollups.py",
    "tests/sync/flows/test_rollups_clock.py",
    "tests/sync/flows/test_billable_store.py",
    "tests/sync/flows/test_compensation.py",
    "tests/app/cli/test_demo_alerts.py",
    "tests/alerts/test_inputs.py",
)


def unit_of(nodeid: str) -> str:
    """The unit of work ``nodeid`` belongs to."""
    file, _, test = nodeid.partition("::")
    if file in ONE_TEST_AT_A_TIME:
        return nodeid
    if file in ONE_PARAM_AT_A_TIME and test.endswith("]"):
        return f"{file}[{test.split('[', 1)[1]}"
    return file


def rank(unit: str) -> int:
    """Where ``unit`` stands in ``LONGEST_FIRST`` (every other unit after all of them)."""
    file = unit.partition("[")[0].partition("::")[0]
    return LONGEST_FIRST.index(file) if file in LONGEST_FIRST else len(LONGEST_FIRST)


def units(nodeids: Iterable[str]) -> dict[str, dict[str, bool]]:
    """The units of work of ``nodeids`` in the order they are handed out: each unit's tests in
    the order given, each marked not yet run (as xdist's work queue holds them)."""
    found: dict[str, dict[str, bool]] = {}
    for nodeid in nodeids:
        found.setdefault(unit_of(nodeid), {})[nodeid] = False
    return dict(sorted(found.items(), key=lambda item: (rank(item[0]), -len(item[1]))))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def schedule(self) -> None:
            if self.collection is None and self.collection_is_completed:
                # xdist's ``schedule`` fills the (ordered) ``workqueue`` from the collection; a
                # unit already in it keeps its place when set again, so the order made here is
                # the one the units are handed out in
                collection = next(iter(self.registered_collections.values()))
                self.workqueue.update(units(collection))
            super().schedule()

    return LongestFirst(config, log)
