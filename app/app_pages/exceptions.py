"""Exceptions: records that could not flow, why, what they put at risk, and what to do about them.

Billing and ops staff triage here: filter (the filters live in the URL, so an alert can link
straight to ``?category=negative_hours&status=open``), pick an exception to see its payload,
history and journey, then dry-run, replay, resolve, ignore or assign it — or every exception the
filter matches. Every action goes through :mod:`app.data` to :mod:`sync.replay`, the functions the
CLI uses, and is audited with who and why.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import charts, data, labels, signin
from sync.access import Action, Forbidden, Identity
from sync.store import OPEN_STATUSES, ExceptionStatus

STATUSES = tuple(status.value for status in ExceptionStatus)
AGES: dict[str, float | None] = {  # the words are the URL values (?age=over+7+days)
    "any age": None,
    "over 1 day": 1.0,
    "over 7 days": 7.0,
    "over 30 days": 30.0,
}
ACTIONS = ("Dry run", "Replay", "Resolve", "Ignore", "Assign")
NEEDS = {  # what each action is, for the role check (the engine checks again)
    "Dry run": Action.REPLAY,
    "Replay": Action.REPLAY,
    "Resolve": Action.RESOLVE,
    "Ignore": Action.IGNORE,
    "Assign": Action.ASSIGN,
}
ACTION_HELP = {
    "Dry run": "Checks the record again and shows what replay would do. Changes nothing.",
    "Replay": "Checks the record again through the same idempotent path as the sync: a fixed "
    "time entry becomes a billing event; a refused invoice is queued for delivery again.",
    "Resolve": "Marks it fixed elsewhere. It is no longer counted as open.",
    "Ignore": "Marks it as not to be billed or retried. It is no longer counted as open.",
    "Assign": "Makes someone responsible for it. The audit log records who assigned whom.",
}
TABLE = "exception_table"
MONEY = "accounting"
NO_SELECTION: dict[str, Any] = {"selection": {"rows": [], "columns": [], "cells": []}}
EMPTY = (
    "**No exceptions have been recorded.** Every record synced so far has flowed.\n\n"
    "If nothing has synced yet, run `plan2cash sync --once` or `make demo`, then press "
    "**Refresh**."
)


def actor() -> Identity:
    """Who acts, for the audit log and the engine's role check."""
    return signin.identity()


def clear_selection() -> None:
    st.session_state[TABLE] = NO_SELECTION


def header() -> None:
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    left.title("Exceptions")
    if right.button("Refresh", icon=":material/refresh:", width="stretch"):
        data.refresh()


def tiles(headline: data.ExceptionHeadline) -> None:
    st.caption(
        f"Source: plan2cash store `{data.store_label()}` · as of "
        f"{headline.fetched_at:%d %b %Y %H:%M} UTC · acting as **{labels.text(actor().subject)}**"
        f" ({actor().role.label})"
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


def filters() -> data.ExceptionFilter:
    flows, categories = data.exception_choices()
    status_col, flow_col, category_col, age_col = st.columns([3, 2, 3, 2])
    statuses = status_col.multiselect(
        "Status",
        STATUSES,
        default=[status.value for status in OPEN_STATUSES],
        placeholder="Any status",
        key="status",
        bind="query-params",
        on_change=clear_selection,
    )
    flow = flow_col.selectbox(
        "Flow",
        flows,
        index=None,
        placeholder="All flows",
        key="flow",
        bind="query-params",
        on_change=clear_selection,
    )
    category = category_col.selectbox(
        "Category",
        categories,
        index=None,
        placeholder="All categories",
        help="The names alerts use; the chart above shows what each means.",
        key="category",
        bind="query-params",
        on_change=clear_selection,
    )
    age = age_col.selectbox(
        "Age (since first seen)",
        list(AGES),
        key="age",
        bind="query-params",
        on_change=clear_selection,
    )
    return data.ExceptionFilter(
        flow=flow,
        category=category,
        statuses=tuple(ExceptionStatus(s) for s in statuses),
        older_than_days=AGES[age or "any age"],
    )


def exception_table(listing: data.ExceptionList) -> int | None:
    """The worklist; returns the id of the selected exception, if any."""
    shown = listing.rows.height
    st.caption(
        f"{labels.count(listing.matching, 'exception')} match the filter"
        + (f"; the first {shown:,} are listed." if shown < listing.matching else ".")
        + " Select one to see its details and act on it."
    )
    if listing.rows.is_empty():
        return None
    event = st.dataframe(
        listing.rows,
        key=TABLE,
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        placeholder="—",
        column_order=[
            "id",
            "status",
            "category",
            "reason",
            "value_at_risk",
            "currency",
            "age_days",
            "assignee",
            "attempts",
            "flow",
            "record_key",
        ],
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d", width="small"),
            "status": st.column_config.TextColumn("Status", width="small"),
            "flow": st.column_config.TextColumn("Flow", width="small"),
            "category": st.column_config.TextColumn("Category"),
            "reason": st.column_config.TextColumn("Reason", width="large"),
            "age_days": st.column_config.NumberColumn(
                "Age (days)", format="%.1f", help="Days since first seen.", width="small"
            ),
            "record_key": st.column_config.TextColumn("Record"),
            "value_at_risk": st.column_config.NumberColumn("Value at risk", format=MONEY),
            "currency": st.column_config.TextColumn("Currency", width="small"),
            "attempts": st.column_config.NumberColumn("Attempts", format="%d", width="small"),
            "assignee": st.column_config.TextColumn("Assignee"),
        },
    )
    rows = event.selection.rows
    if not rows or rows[0] >= shown:
        return None
    return int(listing.rows["id"][rows[0]])


def detail_panel(detail: data.ExceptionDetail) -> None:
    ex = detail.exception
    st.subheader(f"Exception #{ex['id']} · {labels.text(labels.category(ex['category']))}")
    st.markdown(f"**{labels.text(ex['reason'])}**")
    if labels.category_help(ex["category"]):
        st.caption(labels.category_help(ex["category"]))
    facts, payload = st.columns([2, 3], gap="large")
    risk = (
        labels.money(ex["value_at_risk"], ex["currency"])
        if ex["value_at_risk"] is not None and ex["currency"]
        else "—"
    )
    entity = labels.code(ex["entity_id"]) if ex["entity_id"] else "—"
    facts.markdown(
        "\n".join(
            f"- **{name}:** {value}"
            for name, value in (
                (
                    "Status",
                    labels.text(ex["status"] + (f" — {ex['notes']}" if ex["notes"] else "")),
                ),
                ("Category", labels.code(ex["category"])),
                ("Flow / stage", labels.text(f"{ex['flow']} / {ex['stage']}")),
                ("Record", labels.code(ex["record_key"])),
                ("Entity", labels.text(ex["entity_type"] or "—") + " " + entity),
                ("Value at risk", labels.text(risk)),
                ("Attempts", ex["attempts"]),
                (
                    "First seen",
                    f"{ex['first_seen']:%d %b %Y %H:%M} UTC ({labels.days(ex['age_days'])} ago)",
                ),
                ("Last seen", f"{ex['last_seen']:%d %b %Y %H:%M} UTC"),
                ("Trace id", labels.code(ex["trace_id"]) if ex["trace_id"] else "—"),
                ("Assignee", labels.text(ex["assignee"] or "nobody yet")),
            )
        )
    )
    with payload:
        st.markdown("**Payload as received** (secrets are removed before it is stored)")
        if not actor().may(Action.VIEW_PAYLOAD):
            st.info(signin.PAYLOAD_HIDDEN, icon=":material/lock:")
        elif detail.payload:
            st.json(detail.payload, expanded=1)
        else:
            st.caption("No payload was stored for this record.")
    history, journey = st.columns(2, gap="large")
    with history:
        st.markdown("**History** — who did what, and why")
        if detail.history.is_empty():
            st.caption("No one has acted on this exception yet.")
        else:
            st.dataframe(
                detail.history,
                hide_index=True,
                column_config={
                    "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm"),
                    "actor": st.column_config.TextColumn("Who"),
                    "action": st.column_config.TextColumn("Action"),
                    "reason": st.column_config.TextColumn("Why"),
                    "detail": st.column_config.TextColumn("Detail"),
                },
            )
    with journey:
        st.markdown("**Journey** — the record's business events, in time order")
        if detail.journey.is_empty():
            st.caption("No business events recorded for this record.")
        else:
            st.dataframe(
                detail.journey,
                hide_index=True,
                column_config={
                    "occurred_at": st.column_config.DatetimeColumn(
                        "When (UTC)", format="D MMM YYYY, HH:mm"
                    ),
                    "event": st.column_config.TextColumn("Event"),
                    "entity_type": st.column_config.TextColumn("Entity"),
                    "entity_id": st.column_config.TextColumn("Id"),
                    "trace_id": st.column_config.TextColumn("Trace id"),
                },
            )


def actions_form(
    prefix: str,
    target: data.ExceptionFilter,
    count: int,
    detail: data.ExceptionDetail | None = None,
) -> None:
    """Action, reason (and assignee, edit, confirmation) for ``target``; keys start ``prefix``.

    ``detail`` is given for one selected exception (which may be edited before a replay);
    without it the form acts on everything the filter matches, and asks for confirmation.
    """
    single = detail is not None
    who = actor()
    action = (
        st.segmented_control(
            "Action", ACTIONS, default="Dry run", key=f"{prefix}action", required=True
        )
        or "Dry run"
    )
    st.caption(ACTION_HELP[action])
    # sync.replay.assign records who assigned whom, but takes no reason: none is asked for
    reason = (
        st.text_input(
            "Reason (required, kept in the audit log)",
            key=f"{prefix}reason",
            placeholder="e.g. hours were typed with a minus sign; corrected with the consultant",
        )
        if action != "Assign"
        else "assigned"
    )
    assignee = (
        st.text_input("Assign to", key=f"{prefix}assignee", placeholder="name or email")
        if action == "Assign"
        else ""
    )
    edit_text = ""
    if action in ("Dry run", "Replay") and detail is not None and detail.replayable_with_edit:
        may_edit = who.may(Action.EDIT)
        edit_text = st.text_area(
            "Edit before replaying (optional: a JSON object of the Harvest fields to change)",
            key=f"{prefix}edit",
            placeholder='{"hours": 2.0}',
            help=(
                "Only the fields you give change; the edit is recorded in the audit log. "
                "Fields of the payload: " + labels.text(", ".join(sorted(detail.payload or {})))
                if may_edit
                else signin.needs(who, Action.EDIT)
            ),
            height=80,
            disabled=not may_edit,
        )
    needs_confirm = action == "Ignore" or (not single and action != "Dry run")
    confirmed = (
        st.checkbox(
            f"Yes, {action.lower()} {labels.count(count, 'exception')}", key=f"{prefix}confirm"
        )
        if needs_confirm
        else True
    )
    label = f"{action} {labels.count(count, 'exception')}" if not single else action
    blocked = signin.needs(who, Action.EDIT if edit_text.strip() else NEEDS[action], count)
    if blocked is not None:
        st.caption(f":material/lock: {blocked}")
    if not st.button(
        label,
        key=f"{prefix}run",
        type="primary",
        disabled=count == 0 or blocked is not None,
        help=blocked,
    ):
        return
    if not reason.strip():
        st.error("Say why: a reason is required for every action, and is kept in the audit log.")
    elif action == "Assign" and not assignee.strip():
        st.error("Say who to assign to.")
    elif not confirmed:
        st.error(f"Tick the confirmation box to {action.lower()} {count:,} exceptions.")
    else:
        try:
            run_action(action, target, reason.strip(), assignee.strip(), edit_text, count)
        except Forbidden as exc:  # the engine refused (and audited) what the role may not do
            st.error(labels.text(exc), icon=":material/block:")


def run_action(
    action: str,
    target: data.ExceptionFilter,
    reason: str,
    assignee: str,
    edit_text: str,
    count: int,
) -> None:
    who = actor()
    if action in ("Dry run", "Replay"):
        try:
            edit = data.parse_edit(edit_text)
        except ValueError as exc:
            st.error(labels.text(exc))
            return
        bar = st.progress(0.0, text=f"{action}: 0 of {count:,}")

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{action}: {done:,} of {total:,}")

        try:
            outcomes = data.replay_exceptions(
                target,
                actor=who,
                reason=reason,
                dry_run=action == "Dry run",
                edit=edit,
                progress=progress,
            )
        except ValueError as exc:
            st.error(labels.text(exc))
            return
        if action == "Dry run":
            show_outcome({"message": "Dry run: nothing was changed.", "outcomes": outcomes})
            return
        done(f"Replayed {labels.count(outcomes.height, 'exception')}.", outcomes)
    elif action == "Assign":
        changed = data.assign_exceptions(target, assignee, actor=who)
        done(f"Assigned {labels.count(changed, 'exception')} to {labels.text(assignee)}.")
    else:
        status = ExceptionStatus.RESOLVED if action == "Resolve" else ExceptionStatus.IGNORED
        changed = data.set_exception_status(target, status, actor=who, reason=reason)
        done(f"Marked {labels.count(changed, 'exception')} {status}.")


def done(message: str, outcomes: Any = None) -> None:
    """Keep the outcome for the next run, reset the action form, and show the fresh list."""
    st.session_state["last_outcome"] = {"message": message, "outcomes": outcomes}
    st.session_state["reset_actions"] = True
    st.rerun()


def show_outcome(outcome: dict[str, Any]) -> None:
    st.success(outcome["message"], icon=":material/task_alt:")
    outcomes = outcome.get("outcomes")
    if outcomes is not None and not outcomes.is_empty():
        st.dataframe(
            outcomes,
            hide_index=True,
            key="outcomes",
            column_config={
                "id": st.column_config.NumberColumn("#", format="%d", width="small"),
                "record_key": st.column_config.TextColumn("Record"),
                "result": st.column_config.TextColumn("Result"),
                "before": st.column_config.NumberColumn(
                    "Before", format=MONEY, help="Value at risk of the record as it was held."
                ),
                "after": st.column_config.NumberColumn(
                    "After", format=MONEY, help="The billing event's amount (blank: none)."
                ),
                "currency": st.column_config.TextColumn("Currency", width="small"),
                "detail": st.column_config.TextColumn("What happened", width="large"),
            },
        )


def reset_after_action() -> None:
    """After an action changed the store: empty the forms and the selection before they render."""
    if st.session_state.pop("reset_actions", False):
        for prefix in ("one_", "bulk_"):
            for key in ("reason", "assignee", "edit", "confirm"):
                st.session_state.pop(prefix + key, None)
        clear_selection()


reset_after_action()
header()
headline = data.exception_headline()
if headline.total == 0:
    tiles(headline)
    st.info(EMPTY, icon=":material/check_circle:")
else:
    tiles(headline)
    category_chart(headline)
    st.subheader("Worklist")
    which = filters()
    listing = data.exceptions(which)
    selected = exception_table(listing)
    last = st.session_state.pop("last_outcome", None)
    if last is not None:
        show_outcome(last)
    detail = data.exception_detail(selected) if selected is not None else None
    if detail is not None:
        detail_panel(detail)
        with st.container(border=True):
            st.markdown(f"**Act on exception #{detail.exception['id']}**")
            one = data.ExceptionFilter(ids=(detail.exception["id"],), statuses=())
            actions_form("one_", one, 1, detail)
    with st.expander(
        f"Bulk actions — all {labels.count(listing.matching, 'exception')} matching the filter"
    ):
        actions_form("bulk_", which, listing.matching)
