"""What every ERP of a sandbox firm holds, per legal entity, beside the world's ground truth.

An invoice is compared as (customer, currency, total), one per project and month (a month's
later invoice, for time approved after the first, adds to it): the truth names the project and
month an invoice bills, not the number plan2cash gives it, and the customer is billed by one
legal entity, so equal lists per entity mean each ERP holds exactly the invoices it should, to
the cent. A
contract whose time passes its cap (``truth.over_cap``) is billed up to the cap instead of as the
truth's invoices say: its invoices (known by the project code in plan2cash's numbers,
``P2C-<yyyymm>-<project code>``) are compared with the cap, the rest as above.

``Sandbox.books`` lists the invoices each ERP has booked (posted, completed, authorised).
``documents`` counts every sales document each emulator stores under a number, booked or not (a
Dynamics 365 free text invoice never posted, a Fusion invoice never completed, a Xero draft):
equal to the booked numbers, nothing was made twice or left half-made by a crash or a lost reply.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from sandbox.server import Sandbox
from sandbox.world import truth
from sandbox.world.model import World

Held = tuple[str, str, Decimal]  # customer, currency, total
PLAN2CASH = "P2C-"  # the prefix of the numbers plan2cash gives its invoices


def capped(world: World) -> dict[str, Decimal]:
    """The code of each project whose contract's time passes its cap → that cap."""
    over = truth.over_cap(world)
    return {p.code: over[p.contract_id][0] for p in world.projects if p.contract_id in over}


def project_code(number: str) -> str:
    """``P2C-202610-ACME-01`` (and a second invoice of that month, ``…-ACME-01-2``) →
    ``ACME-01``."""
    code = number.split("-", 2)[-1]
    head, _, tail = code.rpartition("-")
    return head if tail.isdigit() and head.count("-") else code


def month_of(number: str) -> str:
    """The project's month a plan2cash invoice bills: ``P2C-202610-ACME-01`` and the month's
    later invoice for time approved after the first, ``…-ACME-01-2``, bill the same one."""
    code = project_code(number)
    return number[: number.index(code) + len(code)]


def held(box: Sandbox, prefix: str = "") -> dict[int, list[Held]]:
    """Per legal entity: what its ERP has booked under numbers starting with ``prefix``, one
    total per project and month (but for contracts billed up to their cap), as the truth counts
    invoices."""
    caps = capped(box.world)
    months: dict[tuple[int, str, str, str], Decimal] = defaultdict(Decimal)
    for entity, invoice in box.books():
        if invoice.number.startswith(prefix) and project_code(invoice.number) not in caps:
            month = (entity, month_of(invoice.number), invoice.customer_name, invoice.currency)
            months[month] += invoice.total
    out: dict[int, list[Held]] = defaultdict(list)
    for (entity, _, customer, currency), total in months.items():
        out[entity].append((customer, currency, total))
    return {entity: sorted(invoices) for entity, invoices in out.items()}


def expected(world: World) -> dict[int, list[Held]]:
    """Per legal entity: the invoices the truth says plan2cash must have booked for it (but
    those of contracts billed up to their cap)."""
    caps = capped(world)
    out: dict[int, list[Held]] = defaultdict(list)
    for invoice in truth.expected_invoices(world):
        if invoice["project_code"] not in caps:
            row = (invoice["client_name"], invoice["currency"], invoice["total"])
            out[invoice["legal_entity_id"]].append(row)
    return {entity: sorted(invoices) for entity, invoices in out.items()}


def billed_up_to_caps(box: Sandbox) -> dict[int, tuple[Decimal, Decimal]]:
    """Each contract over its cap → (what its projects' invoices total in the ERPs, the cap)."""
    world = box.world
    over = truth.over_cap(world)
    contract_of = {p.code: p.contract_id for p in world.projects if p.contract_id in over}
    billed: dict[int, Decimal] = defaultdict(Decimal)
    for _, invoice in box.books():
        contract = contract_of.get(project_code(invoice.number))
        if invoice.number.startswith(PLAN2CASH) and contract is not None:
            billed[contract] += invoice.total
    return {contract: (billed[contract], cap) for contract, (cap, _) in over.items()}


def booked_numbers(box: Sandbox, prefix: str = "") -> Counter[str]:
    return Counter(i.number for _, i in box.books() if i.number.startswith(prefix))


def documents(box: Sandbox, prefix: str = "") -> Counter[str]:
    """The number of every sales document each ERP stores, however far it got."""
    numbers = [i["InvoiceNumber"] for i in box.xero.invoices() if i["Type"] == "ACCREC"]
    for erp, field in (
        ("dynamics365", "ExternalInvoiceId"),
        ("oracle_fusion", "TransactionNumber"),
        ("netsuite", "tranId"),
    ):
        emulator = box.emulators[erp]
        for company, _, _ in emulator.companies():
            numbers += [str(document[field]) for document in emulator.invoices(company)]
    return Counter(n for n in numbers if n.startswith(prefix))


def assert_each_erp_holds_the_truth(box: Sandbox, prefix: str = "", note: str = "") -> None:
    """Each legal entity's ERP holds exactly the truth's invoices for it: each booked once
    under one number, no other document, the same customers, currencies and totals."""
    numbers = booked_numbers(box, prefix)
    twice = sorted(n for n, count in numbers.items() if count > 1)
    assert not twice, f"booked more than once {note}: {twice}"
    assert documents(box, prefix) == numbers, f"documents besides the booked invoices {note}"
    want = expected(box.world)
    assert len(want) > 1, "the firm books in more than one ERP"
    got = held(box, prefix)
    assert got == want, f"{note} ERPs hold {_differences(got, want)}"
    for contract, (billed, cap) in billed_up_to_caps(box).items():
        assert 0 < billed <= cap, f"contract {contract} billed {billed}, its cap {cap} {note}"


def _differences(
    got: dict[int, list[tuple[str, str, Decimal]]], want: dict[int, list[tuple[str, str, Decimal]]]
) -> dict[int, dict[str, list[tuple[str, str, Decimal]]]]:
    """Per legal entity, the invoices the ERP holds beyond the truth's, and those it lacks."""
    out = {}
    for entity in sorted(set(got) | set(want)):
        extra = Counter(got.get(entity, [])) - Counter(want.get(entity, []))
        lacking = Counter(want.get(entity, [])) - Counter(got.get(entity, []))
        if extra or lacking:
            out[entity] = {"extra": sorted(extra.elements()), "lacking": sorted(lacking.elements())}
    return out
