"""The demo's mail and webhook sinks keep what they receive, in memory and as files."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from pathlib import Path

import httpx

from sandbox.sinks import serve_sinks


def test_the_sinks_keep_mail_and_posts_as_files(tmp_path: Path) -> None:
    sinks = serve_sinks(0, 0, tmp_path)
    try:
        message = EmailMessage()
        message["Subject"] = "[PAGE] something"
        message["From"], message["To"] = "alerts@p2c.test", "ops@firm.test"
        message.set_content("hello")
        with smtplib.SMTP(sinks.smtp_host, sinks.smtp_port, timeout=5) as smtp:
            smtp.send_message(message)
        answer = httpx.post(sinks.webhook_url, json={"text": "hi"}, timeout=5)
    finally:
        sinks.stop()

    assert answer.status_code == 200 and answer.text == "ok"
    [mail] = sinks.mail.messages
    assert mail.message["Subject"] == "[PAGE] something" and mail.rcpt_tos == ("ops@firm.test",)
    [eml] = sorted((tmp_path / "mail").glob("*.eml"))
    assert eml == mail.file and b"Subject: [PAGE] something" in eml.read_bytes()
    [post] = sinks.webhook.posts
    assert post.body == {"text": "hi"}
    [kept] = sorted((tmp_path / "slack").glob("*.json"))
    assert kept == post.file and json.loads(kept.read_text()) == {"text": "hi"}


def test_the_webhook_sink_refuses_as_told_then_takes_posts_again(tmp_path: Path) -> None:
    sinks = serve_sinks(0, 0, None)
    try:
        sinks.webhook.refuse(429, times=2, body="rate_limited", retry_after=3)
        answers = [httpx.post(sinks.webhook_url, json={"n": n}, timeout=5) for n in range(3)]
    finally:
        sinks.stop()

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "3" and answers[0].text == "rate_limited"
    assert [p.body for p in sinks.webhook.posts] == [{"n": 2}]
    assert sinks.webhook.posts[0].file is None and not list(tmp_path.iterdir())
