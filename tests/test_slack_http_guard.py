"""Slack HTTP mode under attack: whatever an unsigned request carries it gets 401 and one WARNING
line (never a traceback); replayed signed deliveries do nothing; an empty secret never serves."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.base import StartupError
from adapters.run import serve
from adapters.slack import build_slack_adapter
from adapters.slack.http import MAX_BODY_BYTES
from adapters.slack.render import FEEDBACK_UP
from bot.core import Citewise
from bot.settings import Settings
from fakes import slack_payloads as p
from fakes.slack_api import FakeSlack
from tests.fakes.slack_http_client import SECRET, Client, serving

QUESTION = "does low-dose aspirin reduce stroke risk?"
BAD_BODIES: list[tuple[bytes, str]] = [
    (b"{not json", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    (b"payload=" + b"%5B" * 5000, "application/x-www-form-urlencoded"),
    (b"", "application/json"),
]


@pytest.fixture
def http_settings(db_path: Path, slack: FakeSlack) -> Settings:
    return Settings(db_path=db_path, slack_bot_token="xoxb-test", slack_app_token=None,
                    slack_signing_secret=SECRET, slack_api_url=slack.api_url, port=0, host="127.0.0.1")


@pytest.fixture
async def client(http_settings: Settings, core: Citewise) -> AsyncIterator[Client]:
    async with serving(http_settings, core) as c:
        yield c


async def _post(client: Client, body: bytes, headers: dict[str, str]) -> int:
    async with client.session.post(client.url, data=body, headers=headers) as resp:
        await resp.read()
        return resp.status


def _assert_one_clean_warning_each(caplog: pytest.LogCaptureFixture, requests: int) -> None:
    ours = [r for r in caplog.records if r.name.startswith(("adapters", "slack_bolt", "aiohttp"))]
    assert all(r.exc_info is None and r.levelno < logging.ERROR for r in ours), [r.getMessage() for r in ours]
    assert len([r for r in ours if r.levelno == logging.WARNING]) == requests


async def test_unsigned_and_stale_requests_get_401_whatever_the_body(client: Client, slack: FakeSlack,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    now = int(time.time())
    header_sets = [
        {},  # unsigned
        {"X-Slack-Request-Timestamp": "garbage", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=nothex"},
        {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=" + "0" * 64},
    ]
    statuses = []
    for body, content_type in BAD_BODIES:
        for headers in header_sets:
            statuses.append(await _post(client, body, {**headers, "Content-Type": content_type}))
        stale = p.signed_headers(body.decode("latin-1"), SECRET, timestamp=now - 3600, content_type=content_type)
        statuses.append(await _post(client, body.decode("latin-1").encode(), stale))
    assert set(statuses) == {401}
    _assert_one_clean_warning_each(caplog, len(statuses))
    assert slack.calls == []


async def test_signed_but_malformed_bodies_get_400_without_a_traceback(client: Client,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    statuses = []
    for body, content_type in BAD_BODIES[:2] + BAD_BODIES[3:5]:
        statuses.append((await client.send(body.decode(), content_type))[0])
    headers = p.signed_headers("", SECRET, content_type="application/json")
    stamp = headers["X-Slack-Request-Timestamp"]
    raw = b"\xff\xfe not utf-8"
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    statuses.append(await _post(client, raw, {**headers, "X-Slack-Signature": f"v0={digest}"}))
    assert set(statuses) == {400}
    _assert_one_clean_warning_each(caplog, len(statuses))


async def test_a_replayed_ask_is_answered_once(client: Client, slack: FakeSlack) -> None:
    body = p.form_body(p.slash_command(QUESTION, response_url=slack.response_url()))
    headers = p.signed_headers(body, SECRET, content_type="application/x-www-form-urlencoded")
    for _ in range(3):
        assert await _post(client, body.encode(), headers) == 200
    await slack.wait_for("chat.update")
    roots = [c for c in slack.calls_to("chat.postMessage") if c.args.get("text", "").startswith("Question:")]
    assert len(roots) == 1


async def test_a_replayed_button_click_counts_once(client: Client, slack: FakeSlack) -> None:
    assert await client.event(p.mention(QUESTION)) == 200
    update = (await slack.wait_for("chat.update"))[0]
    value = next(e["value"] for b in update.blocks if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == FEEDBACK_UP)
    body = p.interactive_body(p.block_action(FEEDBACK_UP, value, channel="C0RESEARCH", message_ts=update.args["ts"],
                                             thread_ts="1.0", response_url=slack.response_url()))
    headers = p.signed_headers(body, SECRET, content_type="application/x-www-form-urlencoded")
    for _ in range(3):
        assert await _post(client, body.encode(), headers) == 200
    await slack.wait_for("chat.postEphemeral")
    assert await client.event(p.mention("is aspirin safe?")) == 200  # later work is still done …
    await slack.wait_for("chat.update", 2)
    assert len(slack.calls_to("chat.postEphemeral")) == 1  # … but the click was counted once


async def test_an_empty_signing_secret_refuses_to_start(http_settings: Settings, core: Citewise,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    empty = http_settings.model_copy(update={"slack_signing_secret": http_settings.slack_signing_secret.__class__("  ")})
    with pytest.raises(StartupError, match="SLACK_SIGNING_SECRET is empty"):
        build_slack_adapter(empty, core)
    assert await serve(empty) == 2
    assert "SLACK_SIGNING_SECRET is empty" in capsys.readouterr().err


async def test_host_setting_chooses_the_interface(http_settings: Settings, core: Citewise) -> None:
    assert Settings(db_path=http_settings.db_path).host == "0.0.0.0"
    adapter = build_slack_adapter(http_settings, core)
    assert adapter.http is not None
    await adapter.http.start()
    try:
        assert adapter.http.host == "127.0.0.1" and adapter.http.port
    finally:
        await adapter.http.stop()


async def test_an_oversized_body_gets_413_before_it_is_read(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    assert await _post(client, body, {"Content-Type": "application/json"}) == 413
    _assert_one_clean_warning_each(caplog, 1)
