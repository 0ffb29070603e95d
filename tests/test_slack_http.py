"""Slack in HTTP mode, end to end: signed requests to the real aiohttp server, real Bolt app,
real slack-sdk client pointed at the loopback fake; assertions on what the fake received."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.render import FEEDBACK_UP, HIDE_SOURCES, MAX_BLOCKS, MAX_SECTION_CHARS, SHOW_SOURCES
from bot.compose import build_citewise
from bot.core import Citewise
from bot.models import Question
from bot.settings import Settings
from fakes import slack_payloads as p
from fakes.slack_api import Call, FakeSlack
from tests.fakes.parts import ScriptedCore
from tests.fakes.slack_http_client import SECRET, Client, serving

QUESTION = "does low-dose aspirin reduce stroke risk?"


@pytest.fixture
def http_settings(db_path: Path, slack: FakeSlack) -> Settings:
    return Settings(db_path=db_path, slack_bot_token="xoxb-test", slack_app_token=None,
                    slack_signing_secret=SECRET, slack_api_url=slack.api_url, port=0)


@pytest.fixture
async def client(http_settings: Settings, core: Citewise) -> AsyncIterator[Client]:
    async with serving(http_settings, core) as c:
        yield c


def _texts(call: Call) -> list[str]:
    out = []
    for block in call.blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return out


def _buttons(call: Call) -> dict[str, dict]:
    return {e["action_id"]: e for b in call.blocks if b["type"] == "actions" for e in b["elements"]}


def _assert_within_limits(call: Call) -> None:
    assert 0 < len(call.blocks) <= MAX_BLOCKS
    for block in call.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
    for button in _buttons(call).values():
        assert len(button["value"]) <= 2000 and len(button["action_id"]) <= 255
    assert "link_names" not in call.args


async def _answered(slack: FakeSlack, count: int = 1) -> list[Call]:
    return await slack.wait_for("chat.update", count, where=lambda c: bool(_buttons(c)))


async def test_mention_is_answered_in_a_thread_with_verified_citations(client: Client, slack: FakeSlack,
                                                                       core: Citewise) -> None:
    payload = p.mention(QUESTION)
    ts = payload["event"]["ts"]
    assert await client.event(payload) == 200
    placeholder = (await slack.wait_for("chat.postMessage"))[0]
    assert placeholder.args["thread_ts"] == ts and placeholder.args["channel"] == "C0RESEARCH"
    assert "Searching 12 papers" in placeholder.args["text"]
    update = (await _answered(slack))[0]
    _assert_within_limits(update)
    answer_id = _buttons(update)[SHOW_SOURCES]["value"]
    answer = await core.stored_answer(answer_id)
    assert answer is not None and answer.verification.passed and answer.sources_cited >= 1
    assert answer.conversation_id == f"slack:T0TEAM:C0RESEARCH:{ts}"
    texts = _texts(update)
    assert re.match(r"\*(Yes|Mostly yes|No|Mostly no|Mixed evidence|Unclear)\*", texts[0]), "the bottom line comes first"
    assert "[1]" in texts[1] and "aspirin" in texts[1].lower()
    assert any(f"{answer.sources_cited} source" in t and "cited" in t for t in texts)
    assert _buttons(update)[SHOW_SOURCES]["text"]["text"] == f"Show sources ({answer.sources_cited})"
    assert {"citewise.feedback.up", "citewise.feedback.down"} <= set(_buttons(update))
    assert update.args["ts"] == "1700000000.000001"  # the placeholder was replaced, not a second post


async def test_pair_and_retries_are_answered_once(client: Client, slack: FakeSlack) -> None:
    first = p.mention(QUESTION)
    ts = first["event"]["ts"]
    twin = p.message(first["event"]["text"], ts=ts)  # Slack's message event for the same post
    assert await client.event(first) == 200
    assert await client.event(twin) == 200
    assert await client.event(first, retry=1) == 200
    assert await client.event(first, retry=2) == 200
    await _answered(slack)
    await client.event(p.mention("is coffee good for the liver?"))  # a later question flushes the queue
    await _answered(slack, 2)
    threads = [c.args.get("thread_ts") for c in slack.calls_to("chat.postMessage")]
    assert threads.count(ts) == 1


async def test_follow_up_in_the_thread_needs_no_mention(client: Client, slack: FakeSlack, core: Citewise) -> None:
    start = p.mention("does vitamin D supplementation prevent fractures?")
    thread = start["event"]["ts"]
    await client.event(start)
    await _answered(slack)
    await client.event(p.message("what about calcium combined with it?", thread_ts=thread))
    updates = await _answered(slack, 2)
    placeholders = slack.calls_to("chat.postMessage")
    assert [c.args["thread_ts"] for c in placeholders] == [thread, thread]
    conversation = core.memory.conversation(f"slack:T0TEAM:C0RESEARCH:{thread}")
    assert [t.question for t in conversation.turns] == [
        "does vitamin D supplementation prevent fractures?", "what about calcium combined with it?"]
    assert "calcium" in " ".join(_texts(updates[1])).lower()


async def test_a_reply_sent_before_the_first_answer_lands_is_still_answered(
        http_settings: Settings, slack: FakeSlack, core: Citewise) -> None:
    release = asyncio.Event()

    async def slow_first(question: Question) -> None:
        if not release.is_set():
            await release.wait()

    async with serving(http_settings, ScriptedCore(core, slow_first)) as client:
        start = p.mention("does vitamin D supplementation prevent fractures?")
        thread = start["event"]["ts"]
        await client.event(start)
        await slack.wait_for("chat.postMessage")  # the placeholder: the first answer is on its way
        await client.event(p.message("and in older women?", thread_ts=thread))
        await slack.wait_for("chat.postMessage", 2)
        release.set()
        await _answered(slack, 2)
        assert [c.args["thread_ts"] for c in slack.calls_to("chat.postMessage")] == [thread, thread]


async def test_other_threads_bots_and_self_are_ignored(client: Client, slack: FakeSlack) -> None:
    start = p.mention(QUESTION)
    thread = start["event"]["ts"]
    await client.event(start)
    await _answered(slack)
    await client.event(p.message("unrelated chatter about aspirin", thread_ts=p.next_ts()))
    await client.event(p.message("a plain channel message about aspirin"))
    await client.event(p.message("bot noise about aspirin", thread_ts=thread, user="U0OTHER", bot_id="B0OTHER"))
    await client.event(p.message("my own words", thread_ts=thread, user="UCITEWISE", bot_id="BCITEWISE"))
    await client.event(p.message("does aspirin cause bleeding?", channel="D0ALICE", channel_type="im"))
    await _answered(slack, 2)
    threads = [c.args.get("thread_ts") for c in slack.calls_to("chat.postMessage")]
    assert len(threads) == 2 and threads[0] == thread
    assert slack.calls_to("chat.postMessage")[1].args["channel"] == "D0ALICE"


async def test_sources_expand_and_collapse_also_after_restart(http_settings: Settings, core: Citewise,
                                                               slack: FakeSlack) -> None:
    payload = p.mention(QUESTION)
    async with serving(http_settings, core) as client:
        await client.event(payload)
        update = (await _answered(slack))[0]
        answer_id = _buttons(update)[SHOW_SOURCES]["value"]
        msg = {"channel": "C0RESEARCH", "message_ts": update.args["ts"], "thread_ts": payload["event"]["ts"],
               "response_url": slack.response_url()}
        await client.action(p.block_action(SHOW_SOURCES, answer_id, **msg))
        expanded = (await _answered(slack, 2))[1]
        _assert_within_limits(expanded)
        assert expanded.args["ts"] == update.args["ts"]
        assert HIDE_SOURCES in _buttons(expanded) and SHOW_SOURCES not in _buttons(expanded)
        answer = await core.stored_answer(answer_id)
        assert answer is not None
        body = "\n".join(_texts(expanded))
        for source in answer.sources:
            assert f"*[{source.n}]*" in body
        assert "https://example.org/aspirin|" in body and "Maria Rossi" in body and "> “" in body
        await client.action(p.block_action(HIDE_SOURCES, answer_id, **msg))
        collapsed = (await _answered(slack, 3))[2]
        assert collapsed.blocks == update.blocks

    restarted = build_citewise(http_settings)  # a new process: same database file, nothing in memory
    try:
        async with serving(http_settings, restarted) as client:
            await client.action(p.block_action(SHOW_SOURCES, answer_id, **msg))
            again = (await _answered(slack, 4))[3]
            assert again.blocks == expanded.blocks
            await client.event(payload, retry=3)  # Slack retrying the original mention after our restart
            await client.event(p.mention("is coffee good for the liver?"))
            await _answered(slack, 5)
            assert [c.args.get("thread_ts") for c in slack.calls_to("chat.postMessage")].count(
                payload["event"]["ts"]) == 1
    finally:
        restarted.close()


async def test_feedback_is_recorded(client: Client, slack: FakeSlack, core: Citewise) -> None:
    await client.event(p.mention(QUESTION))
    update = (await _answered(slack))[0]
    answer_id = _buttons(update)[FEEDBACK_UP]["value"]
    await client.action(p.block_action(FEEDBACK_UP, answer_id, channel="C0RESEARCH", message_ts=update.args["ts"],
                                       thread_ts="1.0", response_url=slack.response_url()))
    await slack.wait_for("chat.postEphemeral")
    assert core.memory.feedback(answer_id) == {"U0BOB": "up"}


async def test_forged_and_stale_requests_get_401(client: Client, slack: FakeSlack) -> None:
    body = json.dumps(p.mention(QUESTION))
    forged, _ = await client.send(body, "application/json", secret="not-the-secret")
    stale, _ = await client.send(body, "application/json", timestamp=int(time.time()) - 3600)
    assert (forged, stale) == (401, 401)
    async with client.session.post(client.url, data=body, headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 401
    assert slack.calls_to("chat.postMessage") == []


async def test_healthz(client: Client) -> None:
    async with client.session.get(client.url.replace("/slack/events", "/healthz")) as resp:
        assert resp.status == 200 and (await resp.json())["ok"] is True


async def test_rate_limit_and_server_errors_are_retried(client: Client, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", 429, headers={"Retry-After": "0"})
    slack.fail_next("chat.update", 503)
    await client.event(p.mention(QUESTION))
    await _answered(slack, 2)  # the 503 and its retry
    assert len(slack.calls_to("chat.postMessage")) == 2  # the 429 and its retry
    assert len(slack.calls_to("chat.update")) == 2


async def test_core_failure_ends_in_an_apology(http_settings: Settings, slack: FakeSlack, core: Citewise,
                                               caplog: pytest.LogCaptureFixture) -> None:
    async def broken(question: Question) -> None:
        raise RuntimeError("index exploded")

    async with serving(http_settings, ScriptedCore(core, broken)) as client:
        payload = p.mention(QUESTION)
        await client.event(payload)
        update = (await slack.wait_for("chat.update"))[0]
    text = " ".join(_texts(update))
    assert "Sorry" in text and "index exploded" not in text and "Traceback" not in text
    assert slack.calls_to("chat.postMessage")[0].args["thread_ts"] == payload["event"]["ts"]
    assert any("question=" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_ask_posts_a_new_thread(client: Client, slack: FakeSlack) -> None:
    assert await client.command(p.slash_command(QUESTION, response_url=slack.response_url())) == 200
    root = (await slack.wait_for("chat.postMessage"))[0]
    assert "thread_ts" not in root.args and "aspirin" in root.args["text"]
    await _answered(slack)
    placeholder = slack.calls_to("chat.postMessage")[1]
    assert placeholder.args["thread_ts"] == "1700000000.000001"


async def test_ask_private_answers_only_the_asker(client: Client, slack: FakeSlack) -> None:
    await client.command(p.slash_command(f"-private {QUESTION}", response_url=slack.response_url()))
    reply = (await slack.wait_for("response_url", where=lambda c: bool(c.blocks)))[0]
    assert reply.args["response_type"] == "ephemeral"
    assert SHOW_SOURCES in _buttons(reply)
    assert slack.calls_to("chat.postMessage") == []
    answer_id = _buttons(reply)[SHOW_SOURCES]["value"]
    await client.action(p.block_action(SHOW_SOURCES, answer_id, channel="C0RESEARCH", message_ts="1.0",
                                       thread_ts=None, response_url=slack.response_url(), ephemeral=True))
    expanded = (await slack.wait_for("response_url", 2, where=lambda c: bool(c.blocks)))[1]
    assert expanded.args["replace_original"] is True and HIDE_SOURCES in _buttons(expanded)


async def test_unknown_answer_id_is_explained_not_crashed(client: Client, slack: FakeSlack) -> None:
    await client.action(p.block_action(SHOW_SOURCES, "0123456789abcdef", channel="C0RESEARCH", message_ts="1.0",
                                       thread_ts=None, response_url=slack.response_url()))
    reply = (await slack.wait_for("response_url"))[0]
    assert "no longer available" in reply.args["text"] and slack.calls_to("chat.update") == []


def test_citewise_run_builds_the_slack_adapter(http_settings: Settings, core: Citewise) -> None:
    from adapters.base import ChatAdapter
    from adapters.run import enabled_adapters

    adapters = enabled_adapters(http_settings, core)
    assert [a.name for a in adapters] == ["slack"]
    adapter: ChatAdapter = adapters[0]
    assert isinstance(adapter, SlackAdapter) and adapter.mode == "http"


async def test_an_answer_slack_refuses_becomes_an_apology(client: Client, slack: FakeSlack) -> None:
    slack.fail_next("chat.update", 200, error="invalid_blocks")
    await client.event(p.mention(QUESTION))
    apology = (await slack.wait_for("chat.update", 2))[1]
    assert "Sorry" in " ".join(_texts(apology)) and apology.args["ts"] == "1700000000.000001"


async def test_a_question_that_starts_with_paper_is_answered_not_taken_as_a_command(
    client: Client, slack: FakeSlack, core: Citewise
) -> None:
    await client.event(p.mention("paper evidence on aspirin and stroke risk?"))
    update = (await _answered(slack))[0]
    assert "[1]" in _texts(update)[1] and "aspirin" in _texts(update)[1].lower()
    assert not any("Usage:" in t or "don't know" in t for c in slack.calls for t in _texts(c))


async def test_a_screenshot_shared_with_a_question_is_answered_as_a_question(
    client: Client, slack: FakeSlack
) -> None:
    payload = p.mention(QUESTION)
    payload["event"]["files"] = [{"id": "F0PNG", "name": "chart.png", "size": 4, "filetype": "png",
                                  "url_private": f"{slack.api_url}/files/chart.png"}]
    await client.event(payload)
    update = (await _answered(slack))[0]
    assert "[1]" in _texts(update)[1]
    assert slack.calls_to("files.download") == [], "an image is never fetched"
