"""Kantata OX (formerly Mavenlink), the PSA: workspaces, participations, milestones, rate cards.

See ``connector`` for reads and writes, ``mapping`` for the vendor ⇄ canonical mapping and
``pages`` for the ID-keyed page format.
"""

from __future__ import annotations

from collectors.kantata.connector import (
    MAX_PER_PAGE,
    STREAMS,
    Batch,
    KantataConnector,
    KantataSettings,
    kantata_pacer,
)
from collectors.kantata.mapping import VENDOR, Person
from collectors.kantata.pages import IdKeyed, KantataPage
from collectors.kantata.writes import WorkspaceRequest

__all__ = [
    "MAX_PER_PAGE",
    "STREAMS",
    "VENDOR",
    "Batch",
    "IdKeyed",
    "KantataConnector",
    "KantataPage",
    "KantataSettings",
    "Person",
    "WorkspaceRequest",
    "kantata_pacer",
]
