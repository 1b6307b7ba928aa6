"""Acting on exceptions: dry run, replay (optionally with an edit), resolve, ignore or assign one
selected exception or every exception the filter matches.

Every action needs a reason (kept in the audit log; assigning records who assigned whom instead),
acting on more than one exception or ignoring one needs a ticked confirmation, and a role that may
not act sees why. Actions go through :mod:`app.data` to :mod:`sync.replay`, the functions the CLI
uses, which check the role again and audit with who and why. After an action the outcome is kept
for the next run, and the forms and the selection are emptied before they render.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import data, labels, signin
from app.views import columns
from app.views.triage_worklist import clear_selection
from sync.access import Action, Forbidden
from sync.store import ExceptionStatus

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
FORMS = ("one_", "bulk_")  # the key prefixes of the form for one exception and the bulk form
OUTCOMES = columns.table(
    "id", "record_key", "result", "before", "after", "currency", "detail",
    result=columns.text("Result"),
    before=columns.money("Before", help="Value at risk of the record as it was held."),
    after=columns.money("After", help="The billing event's amount (blank: none)."),
    detail=columns.text("What happened", width="large"),
)  # fmt: skip


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
    who = signin.identity()
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
        edit_text = _edit_box(prefix, detail)
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


def _edit_box(prefix: str, detail: data.ExceptionDetail) -> str:
    """The JSON edit of a held time entry's fields, disabled for a role that may not edit."""
    who = signin.identity()
    may_edit = who.may(Action.EDIT)
    return st.text_area(
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


def run_action(
    action: str,
    target: data.ExceptionFilter,
    reason: str,
    assignee: str,
    edit_text: str,
    count: int,
) -> None:
    """Carry out ``action`` on ``target`` as the signed-in person; a bad edit is said, not run."""
    who = signin.identity()
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
    """The outcome's message, and per exception what happened (a dry run's or a replay's)."""
    st.success(outcome["message"], icon=":material/task_alt:")
    outcomes = outcome.get("outcomes")
    if outcomes is not None and not outcomes.is_empty():
        st.dataframe(outcomes, hide_index=True, key="outcomes", column_config=OUTCOMES)


def show_last_outcome() -> None:
    """The outcome an action kept for this run, shown once."""
    last = st.session_state.pop("last_outcome", None)
    if last is not None:
        show_outcome(last)


def reset_after_action() -> None:
    """After an action changed the store: empty the forms and the selection before they render."""
    if st.session_state.pop("reset_actions", False):
        for prefix in FORMS:
            for key in ("reason", "assignee", "edit", "confirm"):
                st.session_state.pop(prefix + key, None)
        clear_selection()
