"""Checks emulator traffic against the vendors' OpenAPI specs with openapi-core.

The specs live in ``shared/vendors/specs`` beside the repository. They are large, so each is
loaded once per session. Emulator URLs are mapped onto the spec's server (host and base path)
before matching; the spec itself is not validated (community specs carry small errors such as
``type: 'null'``), only the traffic is.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "vendors" / "specs"
HARVEST_SPEC = "harvest-openapi.yaml"
XERO_SPEC = "xero_accounting.yaml"
_SERVERS: dict[str, str] = {}
_NULL = {"type": "object", "nullable": True, "enum": [None]}


def _normalised(node: Any) -> Any:
    """Repair two artefacts of the community Harvest spec without changing its meaning.

    YAML reads ``200:`` as an int, but OpenAPI response keys are strings; and OpenAPI 3.0 has no
    ``type: 'null'`` (the spec uses it in ``anyOf`` next to ``nullable: true``), so that branch
    becomes the 3.0 way of saying "null only".
    """
    if isinstance(node, list):
        return [_normalised(v) for v in node]
    if not isinstance(node, dict):
        return node
    fixed = {str(k): _normalised(v) for k, v in node.items()}
    if isinstance(fixed.get("anyOf"), list):
        fixed["anyOf"] = [_NULL if b == {"type": "null"} else b for b in fixed["anyOf"]]
    return fixed


@cache
def load_spec(name: str) -> OpenAPI:
    path = SPEC_DIR / name
    if not path.is_file():
        pytest.skip(f"vendor spec {path} is missing (shared/ must sit beside the repository)")
    with path.open(encoding="utf-8") as handle:
        document = _normalised(
            yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        )
    _SERVERS[name] = str(document["servers"][0]["url"])
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


def _server(name: str) -> str:
    load_spec(name)
    return _SERVERS[name]


class SpecRequest:
    """An ``httpx.Request`` to an emulator, seen as if it had gone to the vendor's server."""

    def __init__(self, request: httpx.Request, server_url: str, local_prefix: str) -> None:
        self._request = request
        server = urlsplit(server_url)
        url = urlsplit(str(request.url))
        self.host_url = f"{server.scheme}://{server.netloc}"
        self.path = server.path + url.path.removeprefix(local_prefix)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", "application/json"))


class SpecResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.content_type = str(response.headers.get("content-type", ""))
        self.data = response.content


def check_response(spec_name: str, response: httpx.Response, local_prefix: str) -> None:
    """Raise if ``response`` (and the operation it answers) disagrees with the spec."""
    spec = load_spec(spec_name)
    request = SpecRequest(response.request, _server(spec_name), local_prefix)
    spec.validate_response(request, SpecResponse(response))


def check_request(spec_name: str, request: httpx.Request, local_prefix: str) -> None:
    spec = load_spec(spec_name)
    spec.validate_request(SpecRequest(request, _server(spec_name), local_prefix))
