"""metrics' front door: every public name resolves to the object its module defines."""

from __future__ import annotations

import importlib
from types import ModuleType

import metrics
from metrics import drill, erps, health, load, periods, report, slices, wip

DEFINED_IN: dict[str, tuple[ModuleType, str]] = {
    "AGE_BUCKETS": (wip, "BUCKETS"),
    "KPIS": (report, "KPIS"),
    "CLOSE_DAYS": (report, "CLOSE_DAYS"),
    "DIMENSIONS": (slices, "DIMENSIONS"),
    "Dimension": (slices, "Dimension"),
    "Dimensions": (slices, "Dimensions"),
    "Grain": (periods, "Grain"),
    "KpiReport": (report, "KpiReport"),
    "Owner": (slices, "Owner"),
    "Source": (report, "Source"),
    "bounds": (periods, "bounds"),
    "dimensions": (slices, "dimensions"),
    "executive_kpis": (report, "executive_kpis"),
    "previous": (periods, "previous"),
    "revenue_leakage": (report, "revenue_leakage"),
    "slice_labels": (slices, "labels"),
    "sliceable": (slices, "sliceable"),
}
MODULES = {"drill": drill, "erps": erps, "health": health, "load": load}


def test_all_names_exactly_the_public_names_and_modules() -> None:
    assert sorted(metrics.__all__) == sorted(DEFINED_IN.keys() | MODULES.keys())
    assert len(set(metrics.__all__)) == len(metrics.__all__)


def test_each_name_is_the_object_its_module_defines() -> None:
    for name, (module, attribute) in DEFINED_IN.items():
        assert getattr(metrics, name) is getattr(module, attribute), name


def test_the_public_modules_are_the_submodules() -> None:
    for name, module in MODULES.items():
        assert getattr(metrics, name) is importlib.import_module(f"metrics.{name}")
        assert module is getattr(metrics, name)


def test_star_import_gives_the_front_door() -> None:
    namespace: dict[str, object] = {}
    exec("from metrics import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(metrics.__all__)
