"""Per collection: what ``include`` may side-load, and which filters narrow a list.

Workspaces leave archived ones out unless ``include_archived=true`` or ``archived=include``
(``archived=only`` gives only those); ``/participations`` needs ``workspace_id``;
``/external_references`` needs ``subject_type``. A filter on an id accepts a comma-separated list
[unconfirmed for every endpoint]. Unknown parameters are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sandbox.vendors.kantata.query import Include, QueryError, Record, ref, split

INCLUDES: dict[str, dict[str, Include]] = {
    "workspaces": {
        "external_references": ("external_references", ref("external_reference_ids")),
        "rate_card": ("rate_cards", ref("rate_card_id")),
        "creator": ("users", ref("creator_id")),
        "participants": ("users", ref("participant_ids")),
        "participations": ("participations", ref("participation_ids")),
    },
    "participations": {
        "workspace": ("workspaces", ref("workspace_id")),
        "user": ("users", ref("user_id")),
        "primary_role": ("roles", ref("primary_role_id")),
    },
    "stories": {"workspace": ("workspaces", ref("workspace_id"))},
    "rate_card_sets": {"rate_cards": ("rate_cards", ref("rate_card_ids"))},
    "rate_cards": {
        "rate_card_versions": ("rate_card_versions", ref("rate_card_version_ids")),
        "rate_card_set": ("rate_card_sets", ref("rate_card_set_id")),
    },
    "rate_card_versions": {
        "rate_card_roles": ("rate_card_roles", ref("rate_card_role_ids")),
        "rate_card": ("rate_cards", ref("rate_card_id")),
    },
    "rate_card_roles": {
        "role": ("roles", ref("role_id")),
        "rate_card_version": ("rate_card_versions", ref("rate_card_version_id")),
    },
    "roles": {},
    "users": {},
    "time_entries": {
        "user": ("users", ref("user_id")),
        "workspace": ("workspaces", ref("workspace_id")),
    },
    "invoices": {"workspaces": ("workspaces", ref("workspace_ids"))},
    "external_references": {"subject": ("workspaces", ref("subject_id"))},
}

# Filters that match a record field against a comma-separated list of values.
FILTERS: dict[str, dict[str, str]] = {
    "participations": {"workspace_id": "workspace_id", "by_user": "user_id"},
    "stories": {"workspace_id": "workspace_id", "story_type": "story_type"},
    "rate_cards": {"rate_card_set_id": "rate_card_set_id"},
    "rate_card_versions": {"rate_card_id": "rate_card_id"},
    "rate_card_roles": {"rate_card_version_id": "rate_card_version_id"},
    "invoices": {"workspace_id": "workspace_ids"},
    "external_references": {
        "subject_type": "subject_type",
        "subject_id": "subject_id",
        "service_name": "service_name",
        "service_model": "service_model",
        "service_model_ref": "service_model_ref",
    },
}
REQUIRED = {"participations": "workspace_id", "external_references": "subject_type"}


def filtered(
    name: str, records: Iterable[Record], params: Mapping[str, str], *, single: bool = False
) -> list[Record]:
    """The records of ``name`` that pass its filters; ``single`` is a show by id."""
    required = REQUIRED.get(name)
    if required and not single and not params.get(required):
        raise QueryError(f"{required} is required", 400)
    wanted = {
        field: set(split(params.get(param)))
        for param, field in FILTERS.get(name, {}).items()
        if params.get(param)
    }
    chosen = [r for r in records if all(_matches(r.get(f), v) for f, v in wanted.items())]
    if name == "workspaces":
        keep = _archive_filter(params)
        chosen = [w for w in chosen if keep(bool(w["archived"]))]
    return chosen


def _matches(value: object, wanted: set[str]) -> bool:
    if isinstance(value, list):
        return any(str(v) in wanted for v in value)
    return str(value) in wanted


def _archive_filter(params: Mapping[str, str]) -> Callable[[bool], bool]:
    mode = params.get("archived") or (
        "include" if params.get("include_archived") == "true" else "exclude"
    )
    if mode not in ("only", "exclude", "include"):
        raise QueryError("archived must be one of only, exclude, include")
    keep: dict[str, Callable[[bool], bool]] = {
        "only": lambda archived: archived,
        "exclude": lambda archived: not archived,
        "include": lambda archived: True,
    }
    return keep[mode]
