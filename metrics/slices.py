"""Slicing: the dimensions every KPI can be cut by, and who owns each figure's dimensions.

A figure is sliced by the dimensions of the record that owns it:

- work, billing and billing cycle (time, WIP, realization, cycle time, approvals) belong to a
  *project*: region, practice and legal entity are the project's, customer is the project's
  customer, person is who did the work;
- capacity and utilization belong to a *person*: region and practice are the person's home region
  and practice (a person has no customer, project or legal entity, so utilization by those is
  the firm-wide figure, with a note);
- receivables (DSO) belong to a *customer*: region and legal entity are the customer's (DSO by
  practice, project or person is not defined: it is the firm-wide figure, with a note).

Dimensions are joined at read time from the current customers, projects and people, so a slice
shows history under today's organisation (a project moved to another practice moves its past).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import polars as pl
from sqlalchemy import Connection, select

from sync.store import CustomerRow, ProjectRow, ResourceRow, read_frame

Dimension = Literal["region", "practice", "legal_entity", "customer", "project", "person"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
Owner = Literal["project", "person", "customer"]

# the column of each owner's dimension frame that holds a dimension (None: not defined)
COLUMNS: dict[Owner, dict[Dimension, str | None]] = {
    "project": {
        "region": "region",
        "practice": "practice",
        "legal_entity": "legal_entity",
        "customer": "customer_id",
        "project": "project_id",
        "person": "resource_id",
    },
    "person": {
        "region": "region",
        "practice": "practice",
        "legal_entity": None,
        "customer": None,
        "project": None,
        "person": "resource_id",
    },
    "customer": {
        "region": "region",
        "practice": None,
        "legal_entity": "legal_entity",
        "customer": "customer_id",
        "project": None,
        "person": None,
    },
}


@dataclass(frozen=True)
class Dimensions:
    """The current dimension tables, small enough to join to any fact frame."""

    projects: pl.DataFrame  # project_id, customer_id, contract_id, region, practice, legal_entity,
    # currency, status, name
    people: pl.DataFrame  # resource_id, region, practice, name
    customers: pl.DataFrame  # customer_id, region, legal_entity, name


def dimensions(connection: Connection) -> Dimensions:
    project = ("customer_id", "contract_id", "region", "practice", "legal_entity", "currency")
    return Dimensions(
        projects=_text(connection, ProjectRow, "project_id", *project, "status", "name"),
        people=_text(connection, ResourceRow, "resource_id", "region", "practice", "name"),
        customers=_text(connection, CustomerRow, "customer_id", "region", "legal_entity", "name"),
    )


def _text(connection: Connection, row: type[Any], key: str, *names: str) -> pl.DataFrame:
    """``row``'s id (named ``key``) and its columns ``names``, all read as text."""
    return read_frame(
        connection,
        select(row.id, *(getattr(row, name) for name in names)),
        dict.fromkeys([key, *names], pl.String),
    )


def sliceable(owner: Owner, by: Dimension | None) -> bool:
    return by is None or COLUMNS[owner][by] is not None


def attach(
    facts: pl.DataFrame,
    dims: Dimensions,
    owner: Owner,
    by: Dimension | None,
    where: Mapping[Dimension, str] | None = None,
) -> pl.DataFrame:
    """``facts`` with a column named ``by`` (the slice value; null where the owner has no such
    dimension) and only the rows inside ``where`` (filters on dimensions the owner lacks are
    ignored: see ``notes``). ``facts`` carries the owner's keys: project_id and resource_id for
    projects, resource_id for people, customer_id for customers."""
    asked = [*(where or {}), *([by] if by else [])]
    wanted = [d for d in dict.fromkeys(asked) if COLUMNS[owner][d] is not None]
    own = owner == "project" and "person" in wanted  # the worker is on the fact row itself
    looked_up = [d for d in wanted if not (own and d == "person")]
    out = facts
    if looked_up:
        out = out.join(_lookup(dims, owner, looked_up), on=_key(owner), how="left")
    if own:
        worker = pl.col("resource_id")
        out = out.with_columns(pl.when(worker != "").then(worker).alias("__person"))
    for dimension, value in (where or {}).items():
        if COLUMNS[owner][dimension] is not None:
            out = out.filter(pl.col(f"__{dimension}") == value)
    if by is not None:
        column = pl.col(f"__{by}") if f"__{by}" in out.columns else pl.lit(None, pl.String)
        out = out.with_columns(column.alias(by))
    return out.drop([c for c in out.columns if c.startswith("__")])


def notes(
    owner: Owner, kpi: str, by: Dimension | None, where: Mapping[Dimension, str] | None
) -> list[str]:
    """Plain words for the slices a KPI cannot honour."""
    missing = [d for d in ([by] if by else []) + list(where or {}) if COLUMNS[owner][d] is None]
    return [
        f"{kpi} belongs to a {owner} and has no {d.replace('_', ' ')}: shown for the whole firm"
        for d in dict.fromkeys(missing)
    ]


def _key(owner: Owner) -> str:
    return {"project": "project_id", "person": "resource_id", "customer": "customer_id"}[owner]


def _lookup(dims: Dimensions, owner: Owner, wanted: list[Dimension]) -> pl.DataFrame:
    """Key → ``__<dimension>`` columns for the dimensions wanted."""
    base = {"project": dims.projects, "person": dims.people, "customer": dims.customers}[owner]
    key = _key(owner)
    columns = [pl.col(str(COLUMNS[owner][d])).alias(f"__{d}") for d in wanted]
    return base.select(pl.col(key), *columns).unique(key)


def labels(dims: Dimensions, by: Dimension) -> pl.DataFrame:
    """``key``, ``label``: a readable name for each value of ``by`` (ids become names)."""
    named = {
        "customer": dims.customers.select(pl.col("customer_id").alias("key"), pl.col("name")),
        "project": dims.projects.select(pl.col("project_id").alias("key"), pl.col("name")),
        "person": dims.people.select(pl.col("resource_id").alias("key"), pl.col("name")),
    }
    if by in named:
        return named[by].rename({"name": "label"})
    values = pl.concat(
        [
            d.select(pl.col(by).alias("key"))
            for d in (dims.projects, dims.people, dims.customers)
            if by in d.columns
        ]
    ).unique()
    return values.with_columns(pl.col("key").alias("label")).drop_nulls().sort("key")
