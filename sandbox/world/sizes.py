"""Firm sizes: the presets (``tiny``, ``small``, ``medium``, ``large``) and explicit overrides.

A ``Shape`` is every number the generator needs. ``tiny`` is the eight-week, one-entity test firm
the engine tests were written against: its history starts at go-live (nothing was invoiced before
plan2cash), all contracts are time-and-materials, and it plants the five faults the engine catches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sandbox.world.catalog import ENTITIES, ERPS
from sandbox.world.model import (
    FAULT_CLOSED_PROJECT,
    FAULT_NEGATIVE_HOURS,
    FAULT_OVER_24H,
    FAULT_UNKNOWN_PROJECT,
    FAULTS,
)

FAULT_NO_ASSIGNMENT = "no_assignment"  # time by a person not assigned to the project (tiny)
TINY_FAULTS = (
    FAULT_UNKNOWN_PROJECT,
    FAULT_CLOSED_PROJECT,
    FAULT_NEGATIVE_HOURS,
    FAULT_OVER_24H,
    FAULT_NO_ASSIGNMENT,
)
PLANTABLE = (*FAULTS, FAULT_NO_ASSIGNMENT)


@dataclass(frozen=True)
class Shape:
    """How big the firm is and how its history is laid out."""

    size: str
    consultants: int
    customers: int
    days: int  # of history, ending yesterday
    entities: int  # legal entities (1-4)
    go_live_months: (
        int | None
    )  # go-live this many month starts before today; None: at history start
    faults: tuple[str, ...]
    faults_per_label: int
    turnover_per_month: float  # share of people who leave each month (and are replaced)
    only_time_and_materials: bool
    # the ERP of each legal entity, in turn; a firm on several ERPs gives every entity a customer
    erps: tuple[str, ...] = ("xero",)


PRESETS = {
    "tiny": Shape("tiny", 8, 4, 56, 1, None, TINY_FAULTS, 1, 0.0, True),
    "small": Shape("small", 50, 15, 548, 3, 3, FAULTS, 2, 0.012, False),
    "medium": Shape("medium", 500, 120, 548, 3, 3, FAULTS, 10, 0.012, False),
    "large": Shape("large", 5000, 1000, 548, 3, 3, FAULTS, 40, 0.012, False),
}


def resolve(
    size: str,
    *,
    months: int | None = None,
    weeks: int | None = None,
    faults: tuple[str, ...] | None = None,
    **overrides: Any,
) -> Shape:
    """The preset ``size`` with explicit numbers applied (``consultants=``, ``customers=``, …)."""
    if size not in PRESETS:
        raise ValueError(f"unknown size {size!r}; choose one of {sorted(PRESETS)}")
    shape = PRESETS[size]
    unknown = set(overrides) - set(Shape.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown world options {sorted(unknown)}")
    if weeks is not None:
        overrides["days"] = 7 * weeks
    elif months is not None and size != "tiny":
        overrides["days"] = round(months * 30.44)
    if faults is not None:
        bad = set(faults) - set(PLANTABLE)
        if bad:
            raise ValueError(f"unknown fault labels {sorted(bad)}")
        overrides["faults"] = tuple(faults)
    if {"consultants", "customers"} & set(overrides):
        overrides.setdefault("size", "custom" if size != "tiny" else "tiny")
    shape = replace(shape, **overrides)
    if shape.consultants < 1 or shape.customers < 1 or shape.days < 7:
        raise ValueError("consultants and customers must be positive and history at least a week")
    if not 1 <= shape.entities <= len(ENTITIES):
        raise ValueError(f"a firm has 1 to {len(ENTITIES)} legal entities, not {shape.entities}")
    if not shape.erps or set(shape.erps) - set(ERPS):
        raise ValueError(f"unknown ERPs {sorted(set(shape.erps) - set(ERPS))}; choose from {ERPS}")
    if len(shape.erps) > 1 and shape.customers < shape.entities:
        raise ValueError("a firm on several ERPs needs a customer for every legal entity")
    return shape
