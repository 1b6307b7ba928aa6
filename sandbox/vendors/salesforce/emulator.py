"""The Salesforce REST API emulator: one org projected from the world, served by ``.app``.

Routes: ``POST /services/oauth2/token`` and everything under ``/services/data/vXX.X/`` (query,
queryAll and locators, sObject rows, getUpdated/getDeleted, composite, limits). Every API call
needs a live bearer token (else 401 ``INVALID_SESSION_ID``) and counts against the org's daily
allocation, a rolling 24 hours (times ``time_scale``); every reply carries
``Sforce-Limit-Info: api-usage=used/max``, and once the allocation is used up calls get 403
``REQUEST_LIMIT_EXCEEDED`` (Salesforce does not use 429 for it). A composite request counts once.
Tests and the demo change the org through ``update_account``, ``delete``, ``win`` and
``activate``; each change bumps ``SystemModstamp`` on the injected clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import utc_now
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.salesforce.composite import run_composite
from sandbox.vendors.salesforce.identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SalesforceIdentity,
)
from sandbox.vendors.salesforce.records import Record, Store, project
from sandbox.vendors.salesforce.resources import ApiError, Call, Reply, Resources
from sandbox.vendors.salesforce.schema import SOBJECTS
from sandbox.vendors.wire import FastJSON
from sandbox.world.model import World

DAY_SECONDS = 86_400.0
_VERSION = re.compile(r"v(\d+)\.(\d)")
_WRITES = ("POST", "PATCH", "PUT")


class SalesforceEmulator:
    """One Salesforce org for one connected app (client credentials), served by ``.app``."""

    def __init__(
        self,
        world: World,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        api_version: str = "v60.0",
        daily_limit: int = 100_000,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = utc_now,
        instance_url: str | None = None,
    ) -> None:
        if _VERSION.fullmatch(api_version) is None:
            raise ValueError(f"api_version must look like 'v60.0', not {api_version!r}")
        self.world = world
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
        self.daily_limit = daily_limit
        self._now = now
        self.identity = SalesforceIdentity(
            client_id, client_secret, now=now, instance_url=instance_url
        )
        self.store = Store(project(world))
        self.resources = Resources(self.store, now=now, limits=self.usage)
        self._allocation = SlidingWindow(daily_limit, DAY_SECONDS * time_scale)
        self.app = Starlette(
            routes=[
                Route("/services/oauth2/token", self.identity.token_endpoint, methods=["POST"]),
                Route(
                    "/services/data/{version}/{rest:path}",
                    self._api,
                    methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
                ),
            ]
        )

    # --- control surface for tests and the demo (not HTTP) -------------------------------

    def usage(self) -> tuple[int, int]:
        """API calls used in the current rolling day, and the allocation."""
        remaining = self._allocation.peek("org").remaining
        return self.daily_limit - remaining, self.daily_limit

    def accounts(self) -> list[Record]:
        with self.store.lock:
            return [dict(r) for r in self.store.all("Account")]

    def record(self, type_name: str, record_id: str) -> Record:
        with self.store.lock:
            found = self.store.get(type_name, record_id)
            if found is None:
                raise KeyError(f"no {type_name} {record_id}")
            return dict(found)

    def update_account(self, account_id: str, **fields: Any) -> Record:
        return self._update("Account", account_id, fields)

    def win(self, opportunity_id: str) -> Record:
        """The opportunity moves to Closed Won."""
        fields = {
            "StageName": "Closed Won",
            "IsClosed": True,
            "IsWon": True,
            "Probability": 100.0,
            "ForecastCategory": "Closed",
        }
        return self._update("Opportunity", opportunity_id, fields)

    def activate(self, contract_id: str) -> Record:
        fields = {"Status": "Activated", "StatusCode": "Activated"}
        return self._update("Contract", contract_id, fields | {"ActivatedDate": self._stamp()})

    def delete(self, type_name: str, record_id: str) -> None:
        self.record(type_name, record_id)
        self.store.delete(type_name, record_id, self._stamp())

    def revoke_tokens(self) -> None:
        self.identity.revoke_all()

    def _update(self, type_name: str, record_id: str, fields: dict[str, Any]) -> Record:
        unknown = set(fields) - set(SOBJECTS[type_name].fields)
        if unknown:
            raise ValueError(f"{type_name} has no fields {sorted(unknown)}")
        self.record(type_name, record_id)
        return dict(self.store.update(type_name, record_id, self._stamp(), **fields))

    def _stamp(self) -> datetime:
        return self.resources.stamp()

    # --- HTTP ----------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        version: str = request.path_params["version"]
        if not self._supported(version):
            return _reply(ApiError(404, "NOT_FOUND", "The requested resource does not exist").reply)
        if not self.identity.valid(request.headers.get("authorization", "")):
            body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            return _reply(Reply(401, body))
        verdict = self._allocation.hit("org")
        if not verdict.allowed:
            body = [
                {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
            ]
            return _reply(Reply(403, body), self.daily_limit, self.daily_limit)
        used = self.daily_limit - verdict.remaining
        try:
            call = Call(
                method=request.method,
                path=request.path_params["rest"],
                version=version,
                params=dict(request.query_params),
                body=await _body(request),
                headers={k.lower(): v for k, v in request.headers.items()},
            )
            with self.store.lock:
                reply = self._serve(call)
        except ApiError as refused:
            reply = refused.reply
        return _reply(reply, used, self.daily_limit)

    def _serve(self, call: Call) -> Reply:
        if re.fullmatch(r"composite/?", call.path):
            if call.method != "POST":
                raise ApiError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{call.method}' not allowed. Allowed are POST",
                )
            return run_composite(self.resources, call)
        return self.resources.dispatch(call)

    def _supported(self, version: str) -> bool:
        asked, ours = _VERSION.fullmatch(version), _VERSION.fullmatch(self.api_version)
        if asked is None or ours is None:
            return False
        return (int(asked[1]), int(asked[2])) <= (int(ours[1]), int(ours[2]))


async def _body(request: Request) -> Any:
    if request.method not in _WRITES:
        return None
    raw = await request.body()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None


def _reply(reply: Reply, used: int | None = None, maximum: int | None = None) -> Response:
    headers = dict(reply.headers)
    if used is not None and maximum is not None:
        headers["Sforce-Limit-Info"] = f"api-usage={used}/{maximum}"
    if reply.status == 204:
        return Response(status_code=204, headers=headers)
    return FastJSON(reply.body, status_code=reply.status, headers=headers)


__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "SalesforceEmulator"]
