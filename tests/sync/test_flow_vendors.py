"""``sync.FLOW_VENDORS`` says which vendors each flow calls; it is checked against the code."""

from __future__ import annotations

import ast
from pathlib import Path

import sync
from sync.store.vocabulary import ErpSystem

ROOT = Path(__file__).resolve().parents[2]
ERPS = frozenset(erp.value for erp in ErpSystem)
VENDORS = frozenset({"harvest", "salesforce", "kantata", "bamboohr"}) | ERPS


def _module(name: str) -> Path:
    return ROOT / (name.replace(".", "/") + ".py")


def _calls_and_imports(module: str) -> tuple[set[str], set[str]]:
    """The vendors ``module`` reaches through the flow context (``ctx.<vendor>``, and every ERP
    through ``ctx.erps``) and the engine modules it imports."""
    tree = ast.parse(_module(module).read_text())
    called: set[str] = set()
    imported: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "ctx"
        ):
            called |= ERPS if node.attr == "erps" else {node.attr} & VENDORS
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            candidates = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            imported |= {
                c
                for c in candidates
                if c.startswith(("sync.flows", "sync.outbox")) and _module(c).exists()
            }
    return called, imported


def _reached(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            called, imported = _calls_and_imports(name)
            reached |= called
            todo.extend(imported)
    return reached


def _flow_module(flow: str) -> str:
    return "sync.outbox" if flow == "outbox" else f"sync.flows.{flow}"


def test_every_flow_names_its_vendors() -> None:
    assert set(sync.FLOW_VENDORS) == set(sync.FLOWS)
    assert all(vendors <= VENDORS for vendors in sync.FLOW_VENDORS.values())


def test_a_flow_names_the_vendors_it_calls_and_no_vendor_it_cannot_reach() -> None:
    for flow, vendors in sync.FLOW_VENDORS.items():
        direct, _ = _calls_and_imports(_flow_module(flow))
        assert direct <= vendors, f"{flow} calls {sorted(direct - vendors)} itself"
        assert vendors <= _reached(_flow_module(flow)), f"{flow} cannot reach all of {vendors}"
