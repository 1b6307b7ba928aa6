"""Xero webhooks: the emulator signs deliveries as Xero does; our verification agrees."""

from __future__ import annotations

from datetime import date

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collectors.xero import verify_webhook
from sandbox.server import Sandbox
from sandbox.transport import InProcessTransport
from sandbox.vendors.xero_webhooks import event, intent_to_receive

KEY = SecretStr("sandbox-xero-webhook-key")


def receiver() -> Starlette:
    async def receive(request: Request) -> Response:
        body = await request.body()
        ok = verify_webhook(request.headers, body, KEY)
        return Response(status_code=200 if ok else 401)

    return Starlette(routes=[Route("/hooks/xero", receive, methods=["POST"])])


def test_a_delivery_verifies_and_a_tampered_one_does_not() -> None:
    box = Sandbox(7, today=date(2026, 11, 25))
    invoice = "5f3c0a1e-0000-4000-8000-000000000001"
    headers, body = box.xero.webhook_delivery([event(box.xero.tenant_id, "INVOICE", invoice)])
    assert verify_webhook(headers, body, KEY)
    assert not verify_webhook(headers, body.replace(b"UPDATE", b"CREATE"), KEY)
    assert not verify_webhook({}, body, KEY)
    assert not verify_webhook(headers, body, SecretStr("another-key"))


def test_intent_to_receive_gets_200_then_401_from_a_correct_receiver() -> None:
    transport = InProcessTransport(receiver())
    try:
        statuses = intent_to_receive(
            "http://receiver.local/hooks/xero", KEY.get_secret_value(), transport=transport
        )
    finally:
        transport.close()
    assert statuses == (200, 401)
