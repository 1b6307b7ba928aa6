"""``POST /composite``: up to 25 subrequests in one API call, with ``@{ref.path}`` references.

Each subrequest goes through the same resources as a direct call. A later subrequest may use an
earlier result in its URL or body (``@{refAccount.id}``, ``@{refQuery.records[0].Id}``); when the
referenced subrequest failed, the dependent one is not run (400 ``PROCESSING_HALTED``). With
``allOrNone`` the first failure rolls every change back and every other subrequest answers 400
``PROCESSING_HALTED``. The composite itself always answers 200 (unless its own body is invalid).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from sandbox.vendors.salesforce.resources import ApiError, Call, Reply, Resources

MAX_SUBREQUESTS = 25
INHERITED_HEADERS = frozenset({"accept", "authorization", "content-type"})
_REFERENCE = re.compile(r"@\{(?P<ref>\w+)(?P<path>(?:\.\w+|\[\d+\])*)\}")
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")
_URL = re.compile(r"/services/data/(?P<version>v\d+\.\d+)/(?P<path>[^?]*)(?:\?(?P<query>.*))?")
ROLLED_BACK = (
    "The transaction was rolled back since another operation in the same transaction failed."
)


class _Unresolved(Exception):
    pass


def run_composite(resources: Resources, call: Call) -> Reply:
    """Run the subrequests of one composite request in order."""
    subrequests = _validated(call.body)
    all_or_none = bool(call.body.get("allOrNone", False))
    results: dict[str, Reply] = {}
    answers: list[dict[str, Any]] = []
    failed: int | None = None
    resources.store.begin()
    for index, sub in enumerate(subrequests):
        reply = _one(resources, sub, results)
        results[sub["referenceId"]] = reply
        answers.append(_answer(sub["referenceId"], reply))
        if reply.status >= 400 and all_or_none:
            failed = index
            break
    if failed is None:
        resources.store.commit()
        return Reply(200, {"compositeResponse": answers})
    resources.store.rollback()
    halted = Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": ROLLED_BACK}])
    answers = [
        answers[i] if i == failed else _answer(sub["referenceId"], halted)
        for i, sub in enumerate(subrequests)
    ]
    return Reply(200, {"compositeResponse": answers})


def _validated(body: Any) -> list[dict[str, Any]]:
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"Composite request can't contain more than {MAX_SUBREQUESTS} subrequests",
        )
    seen: set[str] = set()
    for sub in subrequests:
        if not isinstance(sub, dict) or not all(k in sub for k in ("method", "url", "referenceId")):
            raise ApiError(
                400, "JSON_PARSER_ERROR", "each subrequest needs method, url and referenceId"
            )
        ref = str(sub["referenceId"])
        if not re.fullmatch(r"\w+", ref) or ref in seen:
            raise ApiError(400, "INVALID_INPUT", f"Invalid or duplicate referenceId: {ref}")
        seen.add(ref)
        headers = {str(k).lower() for k in (sub.get("httpHeaders") or {})}
        if headers & INHERITED_HEADERS:
            raise ApiError(
                400, "INVALID_INPUT", "Subrequests inherit Accept, Authorization and Content-Type"
            )
    return subrequests


def _one(resources: Resources, sub: dict[str, Any], results: dict[str, Reply]) -> Reply:
    try:
        url = _resolve(str(sub["url"]), results)
        body = _resolve(sub.get("body"), results)
    except _Unresolved as missing:
        return Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": str(missing)}])
    match = _URL.fullmatch(url)
    if match is None:
        return ApiError(404, "NOT_FOUND", "The requested resource does not exist").reply
    headers = {str(k).lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()}
    call = Call(
        method=str(sub["method"]).upper(),
        path=match.group("path"),
        version=match.group("version"),
        params=dict(parse_qsl(match.group("query") or "")),
        body=body,
        headers=headers,
    )
    try:
        return resources.dispatch(call)
    except ApiError as refused:
        return refused.reply


def _resolve(value: Any, results: dict[str, Reply]) -> Any:
    """``value`` with every ``@{ref.path}`` replaced by the referenced result's value."""
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole is not None:
        return _lookup(whole, results)
    return _REFERENCE.sub(lambda m: str(_lookup(m, results)), value)


def _lookup(match: re.Match[str], results: dict[str, Reply]) -> Any:
    ref, path = match.group("ref"), match.group("path")
    reply = results.get(ref)
    current: Any = reply.body if reply is not None and reply.status < 400 else None
    for name, index in _STEP.findall(path):
        if name and isinstance(current, dict):
            current = current.get(name)
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            current = None
    if current is None:
        expression = f"{ref}{path}"
        raise _Unresolved(
            f"Invalid reference specified. No value for {expression} found in {ref}. "
            f"Provided referenceId ({ref}) must be the referenceId of a previous successful "
            "subrequest."
        )
    return current


def _answer(reference: str, reply: Reply) -> dict[str, Any]:
    return {
        "body": reply.body,
        "httpHeaders": dict(reply.headers),
        "httpStatusCode": reply.status,
        "referenceId": reference,
    }
