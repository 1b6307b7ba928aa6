"""Who is at the dashboard, what they may see, and the pages shown to those who may see nothing.

``[auth] mode`` decides who someone is:

- ``oidc``: signed in with Streamlit's ``st.login`` (an OpenID Connect provider); the e-mail
  claim (when the provider says it is unverified: nobody) and the groups claim;
- ``header``: the e-mail (and groups) a trusted sign-in proxy put in its headers, which
  Streamlit copies into ``st.user`` (the launcher trusts those headers in this mode only);
- ``demo``: nobody signs in; everyone is an administrator of the sandbox firm, and every page
  says so. Only on the sandbox on loopback (:func:`sync.loopback.demo_refusals`).

The role comes from :func:`sync.access.role_for`. Hiding a page or a button is a courtesy: every
action function in the engine checks the role again, and audits a refusal.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import data, labels
from sync.access import Action, AuthMode, Identity, Role, role_for
from sync.loopback import demo_refusals
from sync.settings_checks import ConfigurationError

DEMO_SUBJECT = "dashboard user"
DEMO_BANNER = "Demo mode: no sign-in; everyone here is an administrator of the sandbox firm."
NO_ACCESS = "You have no access to plan2cash; ask an administrator."
PAYLOAD_HIDDEN = "payload hidden: needs the operator role"


def identity() -> Identity:
    """The person at this session with their role (``Role.NONE``: anonymous or not granted)."""
    auth = data.settings().auth
    user = st.user
    if auth.mode is AuthMode.DEMO:
        email = str(user.get("email") or "") if user.get("is_logged_in") else ""
        return Identity(email or DEMO_SUBJECT, Role.ADMIN, "demo", auth.bulk_limit)
    email = _email(user, auth.mode)
    claim: Any = user.get("groups" if auth.mode is AuthMode.HEADER else auth.groups_claim) or []
    groups = claim.split(",") if isinstance(claim, str) else [str(g) for g in claim]
    role = role_for(email, groups, auth)
    return Identity(email or "anonymous", role, auth.mode.value, auth.bulk_limit)


def _email(user: Any, mode: AuthMode) -> str:
    if mode is AuthMode.OIDC and (
        not user.get("is_logged_in") or user.get("email_verified") is False
    ):
        return ""
    return str(user.get("email") or "").strip()


def demo_refusal() -> str | None:
    """Why demo mode may not serve this dashboard (``None``: it may, or it is not demo mode)."""
    settings = data.settings()
    if settings.auth.mode is not AuthMode.DEMO:
        return None
    reasons = demo_refusals(settings, st.get_option("server.address"))
    return "; ".join(reasons) or None


def configuration_refused() -> bool:
    """Show why the configuration is refused, if it is (nothing else can be shown then)."""
    try:
        data.settings()
    except ConfigurationError as exc:
        st.title("plan2cash")
        st.error(f"The configuration is refused: {labels.text(str(exc))}", icon=":material/block:")
        st.caption("An administrator can see every setting and its source with "
                   "`plan2cash config check`, fix it, and reload this page.")  # fmt: skip
        return True
    return False


def needs(who: Identity, action: Action, count: int = 1) -> str | None:
    """A tooltip for a control ``who`` may not use: which role it needs; ``None`` if they may."""
    if who.may(action, count=count):
        return None
    what = f" for {count:,} records" if count > who.bulk_limit else ""
    return f"Needs the {who.needs(action, count).label} role{what}; you are {who.role.label}."


def banner(who: Identity) -> None:
    """Demo mode says so on every page; a signed-in person sees who they are and can sign out."""
    if who.via == "demo":
        st.warning(DEMO_BANNER, icon=":material/warning:")
        return
    if who.role is Role.NONE:
        return
    with st.sidebar:
        st.caption(f"Signed in as **{labels.text(who.subject)}** · {who.role.label}")
        if who.via == AuthMode.OIDC.value:
            st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)


def closed_page() -> None:
    """What someone who may see nothing gets: a sign-in page, a no-access page, or why demo
    mode was refused. No data, no navigation."""
    refusal = demo_refusal()
    if refusal is not None:
        st.title("plan2cash")
        st.error(f"Demo mode refused: {refusal}.", icon=":material/block:")
        st.caption('Configure [auth] mode = "oidc" or "header" to serve anything else.')
        return
    who = identity()
    mode = data.settings().auth.mode
    st.title("plan2cash")
    if mode is AuthMode.OIDC and not st.user.get("is_logged_in"):
        st.subheader("Sign in")
        st.write("Sign in with your organisation's account to see plan2cash.")
        st.button("Sign in", key="sign_in", type="primary", icon=":material/login:",
                  on_click=st.login)  # fmt: skip
        return
    if mode is AuthMode.HEADER and who.subject == "anonymous":
        st.error(
            "No one is signed in: this dashboard is served behind a sign-in proxy, and no user "
            "arrived from it. Open it through the proxy's address.",
            icon=":material/block:",
        )
        return
    st.error(NO_ACCESS, icon=":material/block:")
    st.caption(f"Signed in as {labels.text(who.subject)}.")
    if mode is AuthMode.OIDC:
        st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
