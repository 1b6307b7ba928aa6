"""Exceptions: records that could not flow, why, what they put at risk, and what to do about them.

Billing and ops staff triage here: filter (the filters live in the URL, so an alert can link
straight to ``?category=negative_hours&status=open``), pick an exception to see its payload,
history and journey, then dry-run, replay, resolve, ignore or assign it — or every exception the
filter matches. The worklist, the detail and the actions are in :mod:`app.views`; every action
goes through :mod:`app.data` to :mod:`sync.replay`, the functions the CLI uses, and is audited
with who and why.
"""

from __future__ import annotations

import streamlit as st

from app import charts, data, labels, signin
from app.views import page, triage_actions, triage_detail, triage_worklist

EMPTY = (
    "**No exceptions have been recorded.** Every record synced so far has flowed.\n\n"
    "If nothing has synced yet, run `plan2cash sync --once` or `make demo`, then press "
    "**Refresh**."
)


def tiles(headline: data.ExceptionHeadline) -> None:
    who = signin.identity()
    st.caption(
        f"Source: plan2cash store `{data.store_label()}` · as of "
        f"{headline.fetched_at:%d %b %Y %H:%M} UTC · acting as **{labels.text(who.subject)}**"
        f" ({who.role.label})"
    )
    risks = list(headline.value_at_risk.iter_rows(named=True))
    columns = st.columns(3 + max(1, len(risks)))
    columns[0].metric(
        "Open exceptions",
        f"{headline.open:,}",
        help="Open or retrying, in every flow.",
        border=True,
    )
    columns[1].metric(
        "Oldest open",
        labels.days(headline.oldest_open_days) if headline.oldest_open_days is not None else "—",
        help="Time since the oldest open exception was first seen.",
        border=True,
    )
    columns[2].metric(
        "Opened in the last 24 h",
        f"{headline.opened_last_day:,}",
        help="Exceptions first seen in the last 24 hours, whatever their status now.",
        border=True,
    )
    if not risks:
        columns[3].metric("Value at risk", "—", help="No open exception carries a value.")
    for column, risk in zip(columns[3:], risks, strict=False):
        column.metric(
            f"Value at risk — {risk['currency']}",
            labels.money(risk["amount"], risk["currency"]),
            help=f"{labels.count(risk['count'], 'open exception')} carrying a "
            f"{risk['currency']} value (hours × rate of the held work, or the invoice total).",
            border=True,
        )


def category_chart(headline: data.ExceptionHeadline) -> None:
    if headline.by_category.is_empty():
        st.success("Nothing is open: every exception has been resolved or ignored.")
        return
    with st.expander("Open exceptions by category (all flows)", expanded=True):
        st.plotly_chart(
            charts.exceptions_by_category(headline.by_category, headline.at_risk_by_category),
            key="by_category",
        )


triage_actions.reset_after_action()
page.header("Exceptions")
headline = data.exception_headline()
tiles(headline)
if headline.total == 0:
    st.info(EMPTY, icon=":material/check_circle:")
else:
    category_chart(headline)
    st.subheader("Worklist")
    which = triage_worklist.filters()
    listing = data.exceptions(which)
    selected = triage_worklist.exception_table(listing)
    triage_actions.show_last_outcome()
    detail = data.exception_detail(selected) if selected is not None else None
    if detail is not None:
        triage_detail.detail_panel(detail)
        with st.container(border=True):
            st.markdown(f"**Act on exception #{detail.exception['id']}**")
            one = data.ExceptionFilter(ids=(detail.exception["id"],), statuses=())
            triage_actions.actions_form("one_", one, 1, detail)
    with st.expander(
        f"Bulk actions — all {labels.count(listing.matching, 'exception')} matching the filter"
    ):
        triage_actions.actions_form("bulk_", which, listing.matching)
