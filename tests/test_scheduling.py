"""The units ``--dist loadfile`` hands out (``tests/scheduling.py``): what stays together on one
worker, and the order, longest first."""

from __future__ import annotations

from tests.scheduling import LONGEST_FIRST, units

CRASH = "tests/reliability/test_crash_anywhere.py"
BAD_INPUT = "tests/reliability/test_bad_input.py"
BROWSER = "tests/app/test_browser.py"
QUICK = "tests/collectors/test_errors.py"


def test_a_file_is_one_unit_unless_it_goes_out_a_test_or_a_parameter_at_a_time() -> None:
    found = units(
        [
            f"{QUICK}::test_a",
            f"{QUICK}::test_b[401]",
            f"{CRASH}::test_trial[0]",
            f"{CRASH}::test_trial[1]",
            f"{BAD_INPUT}::test_held[tiny]",
            f"{BAD_INPUT}::test_billed[tiny]",
            f"{BAD_INPUT}::test_held[small]",
            f"{BAD_INPUT}::test_late_time",
            f"{BROWSER}::test_billing",
            f"{BROWSER}::test_alerts",
        ]
    )
    assert sorted(map(list, found.values())) == sorted(
        [
            [f"{QUICK}::test_a", f"{QUICK}::test_b[401]"],
            [f"{CRASH}::test_trial[0]"],
            [f"{CRASH}::test_trial[1]"],
            [f"{BAD_INPUT}::test_held[tiny]", f"{BAD_INPUT}::test_billed[tiny]"],
            [f"{BAD_INPUT}::test_held[small]"],
            [f"{BAD_INPUT}::test_late_time"],
            [f"{BROWSER}::test_billing", f"{BROWSER}::test_alerts"],
        ]
    )
    assert not any(done for unit in found.values() for done in unit.values())


def test_the_longest_units_go_first_then_the_most_tests() -> None:
    few = "tests/sandbox/test_few.py"
    many = "tests/sandbox/test_many.py"
    found = units(
        [
            f"{few}::test_a",
            f"{many}::test_a",
            f"{many}::test_b",
            f"{CRASH}::test_trial[0]",
            f"{BROWSER}::test_billing",
        ]
    )
    assert [unit.split("::")[0] for unit in found] == [BROWSER, CRASH, many, few]
    assert LONGEST_FIRST.index(BROWSER) < LONGEST_FIRST.index(CRASH)
