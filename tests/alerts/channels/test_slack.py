"""Slack notifications posted to a real webhook receiver on loopback, read back as Block Kit."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alerts.channels import SlackNotifier, sample_notification
from alerts.channels.slack import escape, link, retry_after_seconds
from alerts.model import AlertStatus, DeliveryError, Notification
from sandbox.sinks import WebhookSink
from sync.settings_alerts import SlackChannel
from tests.alerts.channels.conftest import (
    DASHBOARD,
    NOW,
    free_port,
    make_alert,
    make_notification,
)

SECRET = "XXsecretXXtokenXX"


def notifier(url: str, transport: httpx.BaseTransport | None = None) -> SlackNotifier:
    return SlackNotifier(SlackChannel(webhook_url=url, timeout_seconds=5), transport=transport)


def mrkdwn_texts(value: Any) -> list[str]:
    """Every mrkdwn text in a payload, however deep."""
    if isinstance(value, dict):
        own = [value["text"]] if value.get("type") == "mrkdwn" else []
        return own + [t for v in value.values() for t in mrkdwn_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in mrkdwn_texts(v)]
    return []


def posted(sink: WebhookSink, notification: Notification) -> dict[str, Any]:
    notifier(sink.url).send(notification)
    [post] = sink.posts
    assert post.path == "/services/T0SANDBOX/B0SANDBOX/sandbox-webhook"
    assert isinstance(post.body, dict)
    return post.body


def test_a_firing_group_is_posted_as_block_kit(
    webhook_sink: WebhookSink, firing: Notification
) -> None:
    body = posted(webhook_sink, firing)

    blocks = body["blocks"]
    kinds = [b["type"] for b in blocks]
    assert kinds == [
        *("header", "section", "divider"),
        *("section", "section", "section"),  # two alerts, the top causes
        *("actions", "context"),
    ]
    assert len(blocks) <= 50
    header = blocks[0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) <= 150
    assert header["text"] == "[PAGE] xero-posting: 2 firing — vendor=xero — USD 60,000 at risk"
    assert body["text"] == header["text"]  # the fallback, nothing in it to escape
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[1]["fields"]}
    assert fields["*Value at risk*"] == "USD 60,000"
    assert fields["*Alerts*"] == "2 firing"
    assert fields["*Severity*"] == "page"
    assert fields["*Slice*"] == "vendor=xero"
    first = blocks[3]["text"]["text"]
    assert first.startswith(
        f"*FIRING* <{DASHBOARD}/exceptions?category=post_failed&amp;status=open&amp;flow=invoices"
        "|Xero refuses every invoice post>"
    )
    assert "97.5 % (threshold 5 %) · USD 48,200 at risk" in first
    causes = blocks[5]["text"]["text"]
    assert causes.startswith("*Top causes*\n")
    assert "rate_card_missing" in causes and "post_failed: 12 invoices · USD 8,200" in causes
    [button, home] = blocks[6]["elements"]
    assert button["type"] == "button" and button["style"] == "primary"
    assert button["url"] == firing.alerts[0].link  # JSON, not mrkdwn: the URL as it is
    assert home["url"] == DASHBOARD
    footer = blocks[7]["elements"][0]["text"]
    assert "rule xero-posting" in footer and firing.alerts[0].fingerprint in footer


def test_text_from_data_can_neither_ping_nor_link(
    webhook_sink: WebhookSink, firing: Notification
) -> None:
    body = posted(webhook_sink, firing)

    texts = mrkdwn_texts(body["blocks"])
    assert any("&lt;!channel&gt; Xero &amp; &lt;b&gt;friends&lt;/b&gt;" in t for t in texts)
    assert not any("<!" in t for t in [*texts, body["text"]])


def test_a_single_alert_titles_the_message_and_its_value_is_a_field(
    webhook_sink: WebhookSink,
) -> None:
    hostile = make_notification(make_alert(summary="<!here> rates & <cards>"))
    body = posted(webhook_sink, hostile)

    header = body["blocks"][0]["text"]["text"]
    assert header.startswith("[PAGE] <!here> rates & <cards>")  # plain_text is shown as it is
    assert body["text"].startswith("[PAGE] &lt;!here&gt; rates &amp; &lt;cards&gt;")
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert "*Value vs threshold*\n97.5 % (threshold 5 %)" in fields


def test_a_resolved_group_is_posted_as_resolved(
    webhook_sink: WebhookSink, resolved: Notification
) -> None:
    body = posted(webhook_sink, resolved)

    blocks = body["blocks"]
    assert blocks[0]["text"]["text"] == "[RESOLVED] Xero refuses every invoice post — vendor=xero"
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*Alerts*\n1 resolved" in fields and "*Value at risk*\n—" in fields
    section = next(b for b in blocks if b["type"] == "section" and "text" in b)
    assert section["text"]["text"].startswith("*RESOLVED* <")
    assert "resolved 2026-05-04 09:15 UTC" in section["text"]["text"]
    [button, _] = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert button["url"] == resolved.alerts[0].link and "style" not in button


def test_render_is_the_json_as_posted(webhook_sink: WebhookSink, firing: Notification) -> None:
    rendered = notifier(webhook_sink.url).render(firing)
    assert json.loads(rendered) == posted(webhook_sink, firing)
    assert webhook_sink.url not in rendered


def test_many_alerts_are_summarised_within_slacks_limits(webhook_sink: WebhookSink) -> None:
    many = make_notification(*(make_alert(summary="x" * 400, flow=f"flow{i}") for i in range(200)))
    body = posted(webhook_sink, many)

    blocks = body["blocks"]
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    assert any("180 more alerts" in t for t in mrkdwn_texts(blocks))
    assert all(len(t) <= 3000 for t in mrkdwn_texts(blocks))


def test_the_sample_is_marked_as_a_test(webhook_sink: WebhookSink) -> None:
    body = posted(webhook_sink, sample_notification(DASHBOARD, NOW))

    assert body["blocks"][0]["text"]["text"].startswith("[TEST] [PAGE] ")
    assert any("nothing is wrong" in t for t in mrkdwn_texts(body["blocks"]))


@pytest.mark.parametrize(
    ("status", "said", "retryable"),
    [
        (500, "rollup_error", True),
        (503, "", True),
        (403, "invalid_token", False),
        (404, "no_service", False),
        (400, "invalid_blocks", False),
        (410, "channel_is_archived", False),
    ],
)
def test_refusals_are_classified_and_never_name_the_webhook(
    status: int, said: str, retryable: bool, webhook_sink: WebhookSink, firing: Notification
) -> None:
    webhook_sink.refuse(status, body=said)
    with pytest.raises(DeliveryError) as caught:
        notifier(webhook_sink.url).send(firing)
    assert caught.value.retryable is retryable and caught.value.retry_after is None
    assert str(caught.value) == f"slack: the webhook answered {status} {said}".strip()
    assert webhook_sink.posts == []
    notifier(webhook_sink.url).send(firing)  # the next post goes through
    assert len(webhook_sink.posts) == 1


def test_429_is_retryable_after_what_slack_says(
    webhook_sink: WebhookSink, firing: Notification
) -> None:
    webhook_sink.refuse(429, body="rate_limited", retry_after=7)
    with pytest.raises(DeliveryError) as caught:
        notifier(webhook_sink.url).send(firing)
    assert caught.value.retryable is True and caught.value.retry_after == 7.0


def test_a_webhook_that_cannot_be_reached_is_retryable(firing: Notification) -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T1/B1/{SECRET}"
    with pytest.raises(DeliveryError) as caught:
        notifier(url).send(firing)
    assert caught.value.retryable is True
    assert SECRET not in str(caught.value) and "could not be reached" in str(caught.value)


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout("timed out"), httpx.ConnectTimeout("timed out")]
)
def test_a_timeout_is_retryable(error: httpx.TimeoutException, firing: Notification) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise error

    url = f"https://hooks.slack.test/services/T1/B1/{SECRET}"
    with pytest.raises(DeliveryError) as caught:
        notifier(url, httpx.MockTransport(hang)).send(firing)
    assert caught.value.retryable is True and str(caught.value) == "slack: the webhook timed out"


def test_an_error_echoing_the_url_has_it_taken_out(firing: Notification) -> None:
    url = f"https://hooks.slack.test/services/T1/B1/{SECRET}"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text=f"no_service for {request.url} at {request.url.path}")

    with pytest.raises(DeliveryError) as caught:
        notifier(url, httpx.MockTransport(echo)).send(firing)
    assert caught.value.retryable is False
    assert SECRET not in str(caught.value) and "no_service" in str(caught.value)


def test_the_webhook_url_stays_out_of_httpx_log(
    caplog: pytest.LogCaptureFixture, firing: Notification
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"https://hooks.slack.test/services/T1/B1/{SECRET}"
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="ok"))
    notifier(url, transport).send(firing)
    assert any(r.name == "httpx" for r in caplog.records), "httpx logged no request"
    assert SECRET not in caplog.text


def test_escape_and_link() -> None:
    assert escape("<!channel> & <a|b>") == "&lt;!channel&gt; &amp; &lt;a|b&gt;"
    assert (
        link("http://x.test/?a=1&b=|", "<Q&A>") == "<http://x.test/?a=1&amp;b=%7C|&lt;Q&amp;A&gt;>"
    )


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 5, 4, 9, 15, tzinfo=UTC)
    later = now + timedelta(seconds=30)
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("-4") == 0.0


def test_a_mixed_group_lists_firing_before_resolved(webhook_sink: WebhookSink) -> None:
    mixed = make_notification(make_alert(AlertStatus.RESOLVED, flow="credits"), make_alert())
    body = posted(webhook_sink, mixed)

    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section" and "text" in b]
    assert sections[0].startswith("*FIRING*") and sections[1].startswith("*RESOLVED*")
    assert "*Alerts*\n1 firing · 1 resolved" in [f["text"] for f in body["blocks"][1]["fields"]]
