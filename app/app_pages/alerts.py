"""Alerts: what fires and what resolved, the SLOs and their error budgets, silences, and every
notification sent with the message as rendered.

Alerts are evaluated by the engine (``plan2cash run``, every ``alerts.evaluate_seconds``) or on
demand (``plan2cash alerts evaluate``); this page reads what they left in the store, through
:mod:`app.data`. Selecting an alert prefills a silence for it (:mod:`app.views.alert_silences`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import charts, data, labels
from app.views import alert_silences, columns, page

EMPTY = (
    "**No alert is firing or resolved in the last day.** The rules are evaluated every "
    "minute while the engine runs (`plan2cash run`, or `make demo`); "
    "`plan2cash alerts evaluate` runs one pass now."
)
ALERTS = columns.table(
    "state", "severity", "rule", "labels", "summary", "value_shown", "threshold_shown",
    "value_at_risk", "currency", "since", "resolved_at", "suppressed", "link",
    state=columns.text("State", width="small"),
    severity=columns.text("Severity", width="small"),
    rule=columns.text("Rule"),
    labels=columns.text("Slice"),
    summary=columns.text("Summary", width="large"),
    value_shown=columns.text("Value", help="What was measured, in its unit."),
    threshold_shown=columns.text("Threshold", help="Where the rule fires, in the same unit."),
    value_at_risk=columns.money("Value at risk", help="Money at stake, in the currency beside."),
    since=columns.when("Firing since (UTC)"),
    resolved_at=columns.when("Resolved (UTC)"),
    suppressed=columns.text("Not notified", help="Silenced (by which silence) or inhibited."),
    link=st.column_config.LinkColumn("Explained in", display_text="open"),
)  # fmt: skip
SILENCES = columns.table(
    "state", "matchers", "starts_at", "ends_at", "created_by", "comment",
    state=columns.text("State", width="small"),
    matchers=columns.text("Matchers", width="large"),
    starts_at=columns.when("From (UTC)"),
    ends_at=columns.when("Until (UTC)"),
    created_by=columns.text("By"),
    comment=columns.text("Why", width="large"),
)  # fmt: skip
HISTORY = columns.table(
    "id", "created_at", "channel", "rule", "severity", "status", "delivery", "attempts",
    "sent_at", "error",
    created_at=columns.when("Decided (UTC)"),
    channel=columns.text("Channel", width="small"),
    rule=columns.text("Rule"),
    severity=columns.text("Severity", width="small"),
    status=columns.text("Firing / resolved"),
    delivery=columns.text("Delivery"),
    attempts=columns.number("Attempts", "%d", width="small"),
    sent_at=columns.when("Sent (UTC)"),
    error=columns.text("Last error", width="large"),
)  # fmt: skip
MESSAGES_SHOWN = 10


def tiles(report: data.AlertsReport) -> None:
    firing = report.firing()
    by_severity = {s: firing.filter(firing["severity"] == s).height for s in ("page", "ticket")}
    risks = report.at_risk()
    cells = st.columns(4 + max(1, len(risks)))
    cells[0].metric("Firing now", f"{firing.height:,}", border=True,
                    help=f"{by_severity['page']} page, {by_severity['ticket']} ticket, the rest "
                    "info; silenced and inhibited ones included.")  # fmt: skip
    resolved = report.alerts.height - firing.height
    cells[1].metric("Resolved, last 24 h", f"{resolved:,}", border=True)
    cells[2].metric("Silences in force", f"{report.silences.height:,}", border=True)
    cells[3].metric("Failed notifications", f"{report.failed():,}", border=True,
                    help="Of the newest notifications: given up after every retry.")  # fmt: skip
    if not risks:
        cells[4].metric("Value at risk, firing", "—", border=True,
                        help="No firing alert carries an amount.")  # fmt: skip
    for cell, (currency, amount) in zip(cells[4:], risks, strict=False):
        cell.metric(f"Value at risk, firing — {currency}", labels.money_tile(amount, currency),
                    help=labels.money(amount, currency), border=True)  # fmt: skip


def alert_table(report: data.AlertsReport) -> dict[str, Any] | None:
    """The alerts; the selected one (a row as a dict), if any."""
    if report.alerts.is_empty():
        st.info(EMPTY, icon=":material/notifications_none:")
        return None
    event = columns.dataframe(report.alerts, ALERTS, key="alert_table", on_select="rerun",
                              selection_mode="single-row")  # fmt: skip
    rows = event.selection.rows if event is not None else []
    return report.alerts.row(rows[0], named=True) if rows else None


def slo_section() -> None:
    statuses = data.slo_report()
    if not statuses:
        st.caption("No `slo` rule is in force.")
        return
    for status in statuses:
        left, right = st.columns([1, 3])
        left.markdown(f"**{labels.text(status.sli)}** (objective {status.objective:g} %)  \n"
                      f"{labels.text(status.description)}")  # fmt: skip
        budget = status.budget_remaining
        left.metric("Error budget left (30 days)",
                    "—" if budget is None else f"{budget * 100:,.1f} %",
                    help=f"{status.bad:,} late of {status.events:,} events judged in the last "
                    "30 days; negative once overspent.", border=True)  # fmt: skip
        right.plotly_chart(
            charts.burn_rate(status.burn, status.thresholds,
                             f"{status.sli}: burn rate, last 3 days (15-minute steps)"),
            key=f"burn_{status.sli}",
        )  # fmt: skip


def notification_log(report: data.AlertsReport) -> None:
    if report.history.is_empty():
        st.caption("No notification has been sent yet.")
        return
    columns.dataframe(report.history, HISTORY, key="history_table")
    st.caption(f"The newest {MESSAGES_SHOWN} messages as they were rendered:")
    for row in report.history.head(MESSAGES_SHOWN).iter_rows(named=True):
        title = (f"#{row['id']} · {row['channel']} · {row['rule']} · {row['status']} · "
                 f"{row['delivery']} · {row['created_at']:%d %b %H:%M} UTC")  # fmt: skip
        with st.expander(labels.text(title)):
            st.code(row["message"], language="json" if row["channel"] == "slack" else None)


page.header("Alerts")
report = data.alerts_report()
st.caption(
    f"Source: plan2cash store `{data.store_label()}` · as of "
    f"{report.fetched_at:%d %b %Y %H:%M} UTC · {labels.count(report.rules, 'rule')} in force · "
    f"channels: {', '.join(report.channels) or 'none configured'}"
)
if report.problem:
    st.error(f"The alert configuration is refused: {labels.text(report.problem)}",
             icon=":material/block:")  # fmt: skip
alert_silences.show_outcome()
tiles(report)
st.subheader("Firing and recently resolved")
selected = alert_table(report)
st.subheader("Service level objectives")
slo_section()
st.subheader("Silences")
if not report.silences.is_empty():
    columns.dataframe(report.silences, SILENCES, key="silence_table")
with st.expander("Silence alerts", expanded=selected is not None):
    alert_silences.silence_form(selected)
if not report.silences.is_empty():
    with st.expander("Expire a silence"):
        alert_silences.expire_form(report.silences)
st.subheader("Notification log")
notification_log(report)
