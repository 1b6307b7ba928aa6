"""Who may act: identities, roles and the check every action function makes itself.

Roles are ordered; each includes the ones below it::

    viewer    read every page and KPI; no payloads, no actions
    operator  + see payloads; replay, resolve, ignore, assign, note, silence alerts
    admin     + edit-then-retry, bulk actions over ``bulk_limit`` records, settings

An :class:`Identity` is who acts and the role configuration gave them: the signed-in e-mail on
the dashboard (OIDC or a trusted proxy header), ``os:<user>@<host>`` on the CLI. Every action
function in the engine calls :func:`require` with the identity it was handed before it changes
anything, so a page that forgets to hide a button (or a caller that forges a call) is still
refused. A refusal raises :class:`Forbidden` and is written to the audit log on a connection of
its own: the caller's transaction is rolled back by the refusal, its record of it is not.

Roles come from ``[auth.roles]``: keys are an e-mail (``ana@firm.com``), a domain (``@firm.com``)
or a group of the identity provider's groups claim (``group:finance-ops``); the highest role any
key grants wins. A signed-in person no key names gets ``default_role`` (``none``: no access).
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from sqlalchemy.orm import Session

from sync.store.repo import audit


class Role(IntEnum):
    """What a person may do; a higher role includes every lower one."""

    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown role {name!r}: use viewer, operator, admin (or none)"
            ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(StrEnum):
    """The things a person can do to the engine's records, each with the role it needs."""

    VIEW_PAYLOAD = "view_payload"
    REPLAY = "replay"
    RESOLVE = "resolve"
    IGNORE = "ignore"
    REOPEN = "reopen"
    ASSIGN = "assign"
    NOTE = "note"
    SILENCE = "silence"
    EDIT = "edit"
    BULK = "bulk"
    SETTINGS = "settings"


REQUIRED: dict[Action, Role] = {
    Action.VIEW_PAYLOAD: Role.OPERATOR,
    Action.REPLAY: Role.OPERATOR,
    Action.RESOLVE: Role.OPERATOR,
    Action.IGNORE: Role.OPERATOR,
    Action.REOPEN: Role.OPERATOR,
    Action.ASSIGN: Role.OPERATOR,
    Action.NOTE: Role.OPERATOR,
    Action.SILENCE: Role.OPERATOR,
    Action.EDIT: Role.ADMIN,
    Action.BULK: Role.ADMIN,
    Action.SETTINGS: Role.ADMIN,
}


DEFAULT_BULK_LIMIT = 25  # an action over more records than this is a bulk action


class AuthMode(StrEnum):
    """How the dashboard knows who is there."""

    OIDC = "oidc"  # Streamlit's st.login against an OpenID Connect provider
    HEADER = "header"  # a trusted reverse proxy (oauth2-proxy …) sets the user's e-mail
    DEMO = "demo"  # nobody signs in; only for the sandbox on loopback


class OidcSettings(BaseModel):
    """The OpenID Connect client the dashboard signs people in with (Streamlit's ``[auth]``)."""

    model_config = ConfigDict(extra="forbid")

    server_metadata_url: str = ""  # …/.well-known/openid-configuration
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    redirect_uri: str = ""  # <dashboard>/oauth2callback
    cookie_secret: SecretStr = SecretStr("")  # signs the identity cookie; long and random
    scope: str = "openid profile email"


class AuthSettings(BaseModel):
    """``[auth]``: the dashboard's sign-in and who gets which role."""

    model_config = ConfigDict(extra="forbid")

    mode: AuthMode = AuthMode.DEMO
    roles: dict[str, str] = Field(default_factory=dict)  # e-mail | @domain | group:name → role
    default_role: str = "none"
    groups_claim: str = "groups"
    header: str = "X-Forwarded-Email"  # header mode: the proxy's e-mail header
    groups_header: str = ""  # header mode: the proxy's groups header (comma-separated)
    bulk_limit: int = Field(default=DEFAULT_BULK_LIMIT, ge=1)
    oidc: OidcSettings = OidcSettings()

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, str]) -> dict[str, str]:
        for key, role in roles.items():
            Role.named(role)
            if not key.strip():
                raise ValueError("an empty key in [auth.roles]")
        return roles

    @field_validator("default_role")
    @classmethod
    def _known_default(cls, role: str) -> str:
        Role.named(role)
        return role


@dataclass(frozen=True)
class Identity:
    """Who acts, as the audit log names them, and the role they hold."""

    subject: str
    role: Role
    via: str  # oidc, header, demo, cli
    bulk_limit: int = DEFAULT_BULK_LIMIT  # ``[auth] bulk_limit``

    def needs(self, action: Action, count: int = 1) -> Role:
        """The role ``action`` over ``count`` records needs."""
        needed = REQUIRED[action]
        return max(needed, REQUIRED[Action.BULK]) if count > self.bulk_limit else needed

    def may(self, action: Action, *, count: int = 1) -> bool:
        return self.role >= self.needs(action, count)


class Forbidden(PermissionError):
    """The identity's role does not allow the action; the message says which role would."""


def role_for(email: str | None, groups: list[str] | None, auth: AuthSettings) -> Role:
    """The highest role ``[auth.roles]`` grants this e-mail (exactly or by domain) or any of its
    groups; ``default_role`` when none does; no role without an e-mail."""
    if not email:
        return Role.NONE
    address = email.strip().lower()
    domain = "@" + address.rpartition("@")[2]
    wanted = {address, domain} | {f"group:{g.strip().lower()}" for g in groups or ()}
    granted = [Role.named(role) for key, role in auth.roles.items() if key.lower() in wanted]
    return max(granted, default=Role.named(auth.default_role))


def cli_identity() -> Identity:
    """The person at the terminal: the OS user (whoever can reach the store's credentials from
    a shell administers it anyway)."""
    return Identity(f"os:{getpass.getuser()}@{socket.gethostname()}", Role.ADMIN, "cli")


def require(
    session: Session,
    identity: Identity,
    action: Action,
    target: str,
    *,
    count: int = 1,
    **detail: Any,
) -> None:
    """Raise :class:`Forbidden` unless ``identity`` may do ``action`` to ``count`` records; a
    refusal is audited on its own connection, so it outlives the caller's transaction."""
    if identity.may(action, count=count):
        return
    needed = identity.needs(action, count)
    with Session(session.get_bind()) as own, own.begin():
        audit(
            own,
            identity.subject,
            f"refused.{action}",
            target,
            role=identity.role.label,
            needed=needed.label,
            count=count,
            via=identity.via,
            **detail,
        )
    what = f"{count} records" if count > 1 else target
    raise Forbidden(
        f"{identity.subject} ({identity.role.label}) may not {action.replace('_', ' ')} "
        f"{what}: that needs the {needed.label} role"
    )


__all__ = [
    "REQUIRED",
    "Action",
    "AuthMode",
    "AuthSettings",
    "Forbidden",
    "Identity",
    "OidcSettings",
    "Role",
    "cli_identity",
    "require",
    "role_for",
]
