"""Who is at the dashboard: the identity every page acts as, from ``[auth]``.

The role comes from :func:`sync.access.role_for`; the engine checks it again in every action.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import data
from sync.access import AuthMode, Identity, Role, role_for

DEMO_SUBJECT = "dashboard user"


def identity() -> Identity:
    """The signed-in person with their role; in demo mode (the sandbox on loopback, nobody
    signs in) an administrator called "dashboard user"."""
    auth = data.settings().auth
    user = st.user
    email = str(user.get("email") or "") if user.get("is_logged_in") else ""
    if auth.mode is AuthMode.DEMO:
        return Identity(email or DEMO_SUBJECT, Role.ADMIN, "demo", auth.bulk_limit)
    claim: Any = user.get(auth.groups_claim) or []
    groups = claim.split(",") if isinstance(claim, str) else [str(g) for g in claim]
    role = role_for(email, groups, auth)
    return Identity(email or "anonymous", role, auth.mode.value, auth.bulk_limit)
