"""The real discord.py client against the loopback fake: what Discord would receive."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.discord import DiscordAdapter
from bot.compose import build_citewise
from bot.core import Citewise
from bot.settings import Settings
from fakes.discord_api import EPHEMERAL, FakeDiscord, RecordedCall
from knowledge.store import PaperStore
from tests.discord_helpers import discord_settings, run_adapter, stop_adapter, wait_until
from tests.fakes.parts import ScriptedCore

QUESTION = "Does vitamin D supplementation reduce fractures in older adults?"


@pytest.fixture
async def bot(fake: FakeDiscord, db_path: Path, core: Citewise) -> AsyncIterator[DiscordAdapter]:
    adapter, task = await run_adapter(fake, discord_settings(db_path, fake), core)
    yield adapter
    await stop_adapter(adapter, task, fake)


def custom_ids(message: dict) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def ask_in_channel(fake: FakeDiscord, question: str = QUESTION) -> tuple[RecordedCall, dict, dict]:
    """Run `/ask`; return the follow-up call, the answer message and the thread opened on it."""
    mark = len(fake.calls)
    interaction = await fake.slash("ask", question=question)
    follow_up = await fake.wait_for_call("POST", rf"/webhooks/\d+/{interaction['token']}", after=mark)
    thread_call = await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages/\d+/threads", after=mark)
    message_id = int(thread_call.path.split("/")[4])
    thread = fake.threads[message_id]
    await wait_until(lambda: fake.messages[message_id]["components"])
    return follow_up, fake.messages[message_id], thread


async def test_login_syncs_commands_to_the_guild(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    sync = await fake.wait_for_call("PUT", rf"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands")
    names = {c["name"]: c for c in sync.json}  # type: ignore[union-attr]
    assert set(names) == {"ask", "search", "paper"}
    assert names["ask"]["options"][0]["name"] == "question"
    identify = await fake.wait_for_frame(2)
    assert identify["d"]["intents"] & (1 << 15), "message-content intent requested"


async def test_ask_defers_then_answers_and_opens_a_thread(fake: FakeDiscord, db_path: Path, core: Citewise) -> None:
    acked_before_answering: list[bool] = []

    async def check_ack(question: object) -> None:
        acked_before_answering.append(any(c.path.endswith("/callback") for c in fake.calls))

    adapter, task = await run_adapter(fake, discord_settings(db_path, fake), ScriptedCore(core, check_ack))
    try:
        await _ask_defers_then_answers_and_opens_a_thread(fake, core)
    finally:
        await stop_adapter(adapter, task, fake)
    # Discord's 3 s deadline holds however long the answer takes: the ack never waits for it.
    assert acked_before_answering == [True]


async def _ask_defers_then_answers_and_opens_a_thread(fake: FakeDiscord, core: Citewise) -> None:
    interaction = await fake.slash("ask", question=QUESTION)
    defer = await fake.wait_for_call("POST", rf"/interactions/{interaction['id']}/[^/]+/callback")
    assert defer.json["type"] == 5  # type: ignore[index]

    follow_up = await fake.wait_for_call("POST", rf"/webhooks/{fake.application_id}/{interaction['token']}")
    body = follow_up.json
    assert isinstance(body, dict)
    assert "[1]" in body["content"] and "sources cited" in body["content"]
    assert body["allowed_mentions"] == {"parse": []}
    ids = [c["custom_id"] for row in body["components"] for c in row["components"]]
    labels = [c.get("label") for row in body["components"] for c in row["components"]]
    assert ids[0].startswith("citewise:src:") and labels[0].startswith("Sources (")
    assert {i.rsplit(":", 1)[1] for i in ids[1:]} == {"up", "down"}
    assert all(len(i) <= 100 for i in ids)

    thread_call = await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages/\d+/threads")
    assert thread_call.json["name"] == QUESTION  # type: ignore[index]
    thread_id = int(thread_call.path.split("/")[4])
    await wait_until(lambda: core.memory.has_conversation(f"discord:{thread_id}"))


async def test_sources_button_shows_then_hides_the_embed(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    _, message, _ = await ask_in_channel(fake)
    sources_id = custom_ids(message)[0]
    message_id = int(message["id"])

    mark = len(fake.calls)
    press = await fake.press(sources_id, message_id)
    shown = await fake.wait_for_call("POST", rf"/interactions/{press['id']}/[^/]+/callback", after=mark)
    assert shown.json["type"] == 7  # type: ignore[index]
    embed = shown.json["data"]["embeds"][0]  # type: ignore[index]
    assert embed["title"].startswith("Sources") and "[1]" in embed["description"]
    assert "Vitamin D supplementation and fracture risk" in embed["description"]
    assert shown.json["data"]["allowed_mentions"] == {"parse": []}  # type: ignore[index]

    mark = len(fake.calls)
    press = await fake.press(sources_id, message_id)
    hidden = await fake.wait_for_call("POST", rf"/interactions/{press['id']}/[^/]+/callback", after=mark)
    assert hidden.json["type"] == 7 and hidden.json["data"]["embeds"] == []  # type: ignore[index]


async def test_feedback_is_recorded(fake: FakeDiscord, bot: DiscordAdapter, core: Citewise) -> None:
    _, message, _ = await ask_in_channel(fake)
    up = next(i for i in custom_ids(message) if i.endswith(":up"))
    press = await fake.press(up, int(message["id"]))
    reply = await fake.wait_for_call("POST", rf"/interactions/{press['id']}/[^/]+/callback")
    assert reply.json["type"] == 4 and reply.json["data"]["flags"] & EPHEMERAL  # type: ignore[index]
    answer_id = up.split(":")[2]
    assert core.memory.feedback(answer_id) == {FakeDiscord.user["id"]: "up"}


async def test_message_in_thread_is_a_follow_up(fake: FakeDiscord, bot: DiscordAdapter, core: Citewise) -> None:
    _, _, thread = await ask_in_channel(fake)
    thread_id = int(thread["id"])
    mark = len(fake.calls)
    await fake.post_message("what are its limitations?", channel_id=thread_id)
    await fake.wait_for_call("POST", rf"/channels/{thread_id}/typing", after=mark)
    reply = await fake.wait_for_call("POST", rf"/channels/{thread_id}/messages", after=mark)
    body = reply.json
    assert isinstance(body, dict)
    assert body["allowed_mentions"]["parse"] == [] and "message_reference" not in body
    # With the thread's context, "its limitations" means the vitamin D papers' limitations.
    assert "heterogeneity" in body["content"]
    assert len(core.memory.conversation(f"discord:{thread_id}").turns) == 2
    assert not any(c.path.endswith("/threads") for c in fake.calls[mark:]), "no thread inside a thread"


async def test_follow_up_posted_as_the_thread_opens_keeps_its_context(
    fake: FakeDiscord, bot: DiscordAdapter, core: Citewise
) -> None:
    posted: list[int] = []

    async def post_at_once(thread: dict) -> None:
        # The follow-up reaches the bot, and is handled, before its own thread-creation call returns.
        thread_id = int(thread["id"])
        posted.append(thread_id)
        mark = len(fake.calls)
        await fake.post_message("what are its limitations?", channel_id=thread_id)
        with contextlib.suppress(AssertionError):  # an ignored message shows as no reply below
            await fake.wait_for_call("POST", rf"/channels/{thread_id}/typing", after=mark, timeout=3)

    fake.on_thread_created = post_at_once
    await fake.slash("ask", question=QUESTION)
    await wait_until(lambda: bool(posted))
    thread_id = posted[0]
    reply = await fake.wait_for_call("POST", rf"/channels/{thread_id}/messages")
    assert "heterogeneity" in reply.json["content"]  # type: ignore[index]
    assert len(core.memory.conversation(f"discord:{thread_id}").turns) == 2


async def test_mention_works_like_ask(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    mark = len(fake.calls)
    await fake.post_message(f"<@{fake.bot_user_id}> does aspirin prevent stroke?", mention_bot=True)
    reply = await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages", after=mark)
    assert "[1]" in reply.json["content"]  # type: ignore[index]
    thread = await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages/\d+/threads", after=mark)
    assert thread.json["name"] == "does aspirin prevent stroke?"  # type: ignore[index]


async def test_unrelated_messages_are_ignored(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    mark = len(fake.calls)
    await fake.post_message("lunch anyone?")
    await asyncio.sleep(0.2)  # proving a negative: give the client a moment to (not) react
    assert [c for c in fake.calls[mark:] if c.path.startswith("/channels/")] == []


async def test_search_lists_papers(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    interaction = await fake.slash("search", query="vitamin D fractures")
    defer = await fake.wait_for_call("POST", rf"/interactions/{interaction['id']}/[^/]+/callback")
    assert defer.json["type"] == 5  # type: ignore[index]
    result = await fake.wait_for_call("POST", rf"/webhooks/\d+/{interaction['token']}")
    fields = result.json["embeds"][0]["fields"]  # type: ignore[index]
    assert fields and "vitamin d" in fields[0]["name"].lower() and fields[0]["name"].endswith(("(2019)", "(2021)"))
    assert result.json["allowed_mentions"] == {"parse": []}  # type: ignore[index]


async def test_ask_in_a_thread_is_a_follow_up_without_the_content_intent(
    fake: FakeDiscord, db_path: Path, core: Citewise
) -> None:
    adapter, task = await run_adapter(fake, discord_settings(db_path, fake, discord_message_content=False), core)
    try:
        identify = await fake.wait_for_frame(2)
        assert not identify["d"]["intents"] & (1 << 15)
        _, _, thread = await ask_in_channel(fake)
        thread_id = int(thread["id"])
        mark = len(fake.calls)
        await fake.post_message("", channel_id=thread_id)  # what Discord delivers without the intent
        interaction = await fake.slash("ask", question="what are its limitations?", channel_id=thread_id)
        reply = await fake.wait_for_call("POST", rf"/webhooks/\d+/{interaction['token']}", after=mark)
        assert "[1]" in reply.json["content"]  # type: ignore[index]
        assert not any(c.path.endswith("/threads") or c.path.endswith("/messages") for c in fake.calls[mark:]
                       if c.path.startswith("/channels/"))
    finally:
        await stop_adapter(adapter, task, fake)


async def test_failure_ends_in_an_ephemeral_apology(fake: FakeDiscord, db_path: Path, core: Citewise) -> None:
    async def broken(question: object) -> None:
        raise RuntimeError("index exploded")

    adapter, task = await run_adapter(fake, discord_settings(db_path, fake), ScriptedCore(core, broken))
    try:
        interaction = await fake.slash("ask", question=QUESTION)
        await fake.wait_for_call("DELETE", rf"/webhooks/\d+/{interaction['token']}/messages/@original")
        apology = await fake.wait_for_call("POST", rf"/webhooks/\d+/{interaction['token']}")
        assert apology.json["flags"] & EPHEMERAL  # type: ignore[index]
        assert "Sorry" in apology.json["content"] and "Traceback" not in apology.json["content"]  # type: ignore[index]
        assert "Reference: " in apology.json["content"]  # type: ignore[index]
    finally:
        await stop_adapter(adapter, task, fake)


async def test_buttons_work_after_a_restart(
    fake: FakeDiscord, db_path: Path, settings: Settings, store: PaperStore
) -> None:
    first_core = build_citewise(settings, store=store)
    adapter, task = await run_adapter(fake, discord_settings(db_path, fake), first_core)
    _, message, _ = await ask_in_channel(fake)
    await stop_adapter(adapter, task, fake)
    store.close()  # a restart: nothing of the first process survives but the db file

    fresh_store = PaperStore(db_path)
    second_core = build_citewise(settings, store=fresh_store)
    adapter, task = await run_adapter(fake, discord_settings(db_path, fake), second_core)
    try:
        mark = len(fake.calls)
        press = await fake.press(custom_ids(message)[0], int(message["id"]))
        shown = await fake.wait_for_call("POST", rf"/interactions/{press['id']}/[^/]+/callback", after=mark)
        assert shown.json["type"] == 7 and shown.json["data"]["embeds"]  # type: ignore[index]
    finally:
        await stop_adapter(adapter, task, fake)
        fresh_store.close()


async def test_gateway_reconnect_resumes(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    await fake.ask_to_reconnect()
    resume = await fake.wait_for_frame(6)
    assert resume["d"]["token"] == "fake-token"
    await fake.wait_ready()
    _, message, _ = await ask_in_channel(fake)
    assert custom_ids(message)


async def test_nothing_sent_may_ping(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    await ask_in_channel(fake, "Does @everyone know if vitamin D prevents fractures?")
    await fake.post_message(f"<@{fake.bot_user_id}> does coffee protect the liver?", mention_bot=True)
    await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages")
    payloads = fake.message_payloads()
    assert payloads
    assert all(p.get("allowed_mentions", {}).get("parse") == [] for p in payloads), payloads


async def test_a_replayed_message_is_answered_once(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    mark = len(fake.calls)
    message = await fake.post_message(f"<@{fake.bot_user_id}> does coffee protect the liver?", mention_bot=True)
    await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages/\d+/threads", after=mark)
    await fake.dispatch("MESSAGE_CREATE", message)  # as after a gateway RESUME replays it
    await asyncio.sleep(0.2)  # proving a negative: give the client a moment to (not) answer again
    answers = [c for c in fake.calls[mark:] if c.method == "POST" and c.path == f"/channels/{fake.channel_id}/messages"]
    assert len(answers) == 1


async def test_an_explicit_gateway_url_skips_discovery(fake: FakeDiscord, db_path: Path, core: Citewise) -> None:
    settings = discord_settings(db_path, fake, discord_gateway_url=fake.gateway_url)
    adapter, task = await run_adapter(fake, settings, core)
    try:
        assert not any(c.path == "/gateway/bot" for c in fake.calls)
    finally:
        await stop_adapter(adapter, task, fake)


def test_run_enables_discord_when_its_token_is_set(db_path: Path, core: Citewise) -> None:
    from adapters.run import enabled_adapters

    adapters = enabled_adapters(Settings(db_path=db_path, discord_token="t"), core)
    assert [a.name for a in adapters] == ["discord"]


def test_the_adapter_package_does_not_shadow_the_library() -> None:
    import discord

    import adapters.discord

    assert discord.__name__ == "discord" and hasattr(discord, "Client")
    assert adapters.discord.__name__ == "adapters.discord"
