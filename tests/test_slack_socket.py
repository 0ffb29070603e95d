"""Slack in Socket Mode, end to end: the real Bolt app and slack-sdk Socket Mode client
connect to the loopback fake's websocket (apps.connections.open → URL, hello, envelopes, acks)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack import SlackAdapter, build_slack_adapter
from adapters.slack.render import HIDE_SOURCES, SHOW_SOURCES
from bot.core import Citewise
from bot.settings import Settings
from fakes import slack_payloads as p
from fakes.slack_api import FakeSlack

QUESTION = "does low-dose aspirin reduce stroke risk?"


@pytest.fixture
async def adapter(db_path: Path, slack: FakeSlack, core: Citewise) -> AsyncIterator[SlackAdapter]:
    settings = Settings(db_path=db_path, slack_bot_token="xoxb-test", slack_app_token="xapp-test",
                        slack_signing_secret=None, slack_api_url=slack.api_url)
    adapter = build_slack_adapter(settings, core)
    task = asyncio.create_task(adapter.start())
    await asyncio.wait_for(adapter.ready.wait(), 5)
    await slack.wait_connected()
    yield adapter
    await adapter.stop()
    await asyncio.wait_for(task, 5)


def _buttons(blocks: list[dict]) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


async def _ack_fast(slack: FakeSlack, envelope_id: str) -> dict | None:
    started = asyncio.get_running_loop().time()
    payload = await slack.wait_ack(envelope_id)
    assert asyncio.get_running_loop().time() - started < 1.0
    return payload


async def test_connects_through_the_api_url_with_the_app_token(adapter: SlackAdapter, slack: FakeSlack) -> None:
    opened = slack.calls_to("apps.connections.open")
    assert adapter.mode == "socket" and len(opened) == 1
    assert opened[0].headers["Authorization"] == "Bearer xapp-test"


async def test_mention_follow_up_and_sources_over_the_socket(adapter: SlackAdapter, slack: FakeSlack,
                                                            core: Citewise) -> None:
    mention = p.mention(QUESTION)
    thread = mention["event"]["ts"]
    await _ack_fast(slack, await slack.send_envelope("events_api", mention))
    update = (await slack.wait_for("chat.update"))[0]
    assert slack.calls_to("chat.postMessage")[0].args["thread_ts"] == thread
    answer_id = _buttons(update.blocks)[SHOW_SOURCES]["value"]

    retry = await slack.send_envelope("events_api", mention, retry_attempt=1)
    await _ack_fast(slack, retry)
    await _ack_fast(slack, await slack.send_envelope("events_api", p.message("and the bleeding risk?",
                                                                             thread_ts=thread)))
    await slack.wait_for("chat.update", 2)
    assert [c.args["thread_ts"] for c in slack.calls_to("chat.postMessage")] == [thread, thread]
    assert len(core.memory.conversation(f"slack:T0TEAM:C0RESEARCH:{thread}").turns) == 2

    click = p.block_action(SHOW_SOURCES, answer_id, channel="C0RESEARCH", message_ts=update.args["ts"],
                           thread_ts=thread, response_url=slack.response_url())
    await _ack_fast(slack, await slack.send_envelope("interactive", click))
    expanded = (await slack.wait_for("chat.update", 3))[2]
    assert expanded.args["ts"] == update.args["ts"] and HIDE_SOURCES in _buttons(expanded.blocks)


async def test_ask_over_the_socket(adapter: SlackAdapter, slack: FakeSlack) -> None:
    command = p.slash_command(QUESTION, response_url=slack.response_url())
    await _ack_fast(slack, await slack.send_envelope("slash_commands", command))
    await slack.wait_for("chat.update")
    root, placeholder = slack.calls_to("chat.postMessage")
    assert "thread_ts" not in root.args and placeholder.args["thread_ts"] == "1700000000.000001"


async def test_assistant_pane(adapter: SlackAdapter, slack: FakeSlack, core: Citewise) -> None:
    started = p.assistant_thread_started(channel="D0ALICE")
    thread = started["event"]["assistant_thread"]["thread_ts"]
    await _ack_fast(slack, await slack.send_envelope("events_api", started))
    prompts = (await slack.wait_for("assistant.threads.setSuggestedPrompts"))[0]
    assert len(prompts.args["prompts"]) == 3

    asked = p.message(QUESTION, channel="D0ALICE", channel_type="im", thread_ts=thread)
    await _ack_fast(slack, await slack.send_envelope("events_api", asked))
    reply = (await slack.wait_for("chat.postMessage"))[0]
    assert reply.args["thread_ts"] == thread and SHOW_SOURCES in _buttons(reply.blocks)
    status = slack.calls_to("assistant.threads.setStatus")[0]
    assert status.args["status"] == "Searching 12 papers…"
    assert slack.calls_to("assistant.threads.setTitle")[0].args["title"] == QUESTION
    assert await core.has_conversation(f"slack:T0TEAM:D0ALICE:{thread}")
