"""A Slack question whose worker stopped is finished by a live worker's claim keeper: in the
placeholder the stopped worker left (noted, or found in the thread), with the answer it had
recorded when it got that far, an apology once the question has cost too many workers, and a
new message when the placeholder is gone. The stopped worker is a second set of claims over the
same SQLite file that stops heartbeating; the live one is the real adapter against the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack import SlackAdapter, build_slack_adapter, render
from adapters.slack.app import reply_place
from bot.conversations import SQLiteConversations
from bot.core import Citewise
from bot.models import InboundMessage, Question
from bot.recovery import MAX_ATTEMPTS, ClaimKeeper
from bot.router import Ask, Router
from bot.settings import Settings
from fakes import slack_payloads as p
from fakes.slack_api import BOT_USER, Call, FakeSlack

QUESTION = "does low-dose aspirin reduce stroke risk?"
THREAD = "1700000000.000100"


@pytest.fixture
async def adapter(db_path: Path, core: Citewise, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    settings = Settings(db_path=db_path, slack_bot_token="xoxb-test", slack_signing_secret="s",
                        slack_api_url=slack.api_url, port=0)
    slack_adapter = build_slack_adapter(settings, core)
    yield slack_adapter
    await slack_adapter.bot.papers.aclose()


@pytest.fixture
def keeper(core: Citewise, adapter: SlackAdapter) -> ClaimKeeper:
    assert adapter.resumer is not None
    return ClaimKeeper(core.memory, [adapter.resumer])


async def _stopped_worker_holds(core: Citewise, text: str = QUESTION) -> tuple[SQLiteConversations, Question]:
    """A worker that routed a mention (its claim held with the question) and then stopped."""
    dead = SQLiteConversations(core.store.db)  # type: ignore[attr-defined]
    message = InboundMessage(platform="slack", text=text, user="U1", team="T0TEAM", mentioned=True,
                             conversation_key=f"slack:T0TEAM:C0RESEARCH:{THREAD}", message_id=f"C0RESEARCH:{THREAD}")
    ask = await Router(dead).route(message, reply_to=reply_place("C0RESEARCH", THREAD))
    assert isinstance(ask, Ask) and ask.question.claim is not None
    return dead, ask.question


async def _placeholder(adapter: SlackAdapter, question: Question) -> str:
    posted = await adapter.client.chat_postMessage(channel="C0RESEARCH", thread_ts=THREAD, text="Searching…",
                                                   blocks=render.render_placeholder(12, question.id))
    return str(posted["ts"])


async def _noted_placeholder(adapter: SlackAdapter, dead: SQLiteConversations, question: Question) -> str:
    """The stopped worker posted its placeholder and noted it on the claim before it died."""
    ts = await _placeholder(adapter, question)
    assert question.claim is not None
    dead.note_reply(question.claim, ts)
    return ts


def _answer_updates(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls_to("chat.update") if any(b.get("type") == "actions" for b in c.blocks)]


async def test_a_question_left_by_a_stopped_worker_is_answered_in_its_placeholder(
    core: Citewise, adapter: SlackAdapter, keeper: ClaimKeeper, slack: FakeSlack,
) -> None:
    dead, question = await _stopped_worker_holds(core)
    ts = await _placeholder(adapter, question)  # posted, but the worker died before it could note where
    assert await keeper.tick() == []  # its worker is alive still: nothing to take
    dead.retire()
    [taken] = await keeper.tick()
    await keeper.drain()
    assert taken.question.id == question.id
    [update] = _answer_updates(slack)
    assert update.args["ts"] == ts and update.args["channel"] == "C0RESEARCH"
    assert len(slack.calls_to("chat.postMessage")) == 1  # no second placeholder: the thread shows one answer
    assert len(core.memory.conversation(question.conversation_id).turns) == 1
    assert await keeper.tick() == []  # finished: never resumed again
    assert not core.memory.claim_event(taken.key)  # nor taken by a late Slack retry


async def test_an_answer_recorded_before_the_worker_stopped_is_shown_not_worked_out_again(
    core: Citewise, adapter: SlackAdapter, keeper: ClaimKeeper, slack: FakeSlack,
) -> None:
    dead, question = await _stopped_worker_holds(core)
    ts = await _noted_placeholder(adapter, dead, question)
    recorded = await core.answer(question)  # worked out and recorded on its claim; then the worker died
    dead.retire()
    [taken] = await keeper.tick()
    await keeper.drain()
    assert taken.answer_id == recorded.id
    [update] = _answer_updates(slack)
    assert update.args["ts"] == ts
    assert any(b.get("elements", [{}])[0].get("value") == recorded.id for b in update.blocks if b["type"] == "actions")
    assert len(core.memory.conversation(question.conversation_id).turns) == 1  # the one turn, not two


async def test_a_redelivery_that_takes_a_question_over_finishes_it_in_place(
    core: Citewise, adapter: SlackAdapter, slack: FakeSlack,
) -> None:
    dead, question = await _stopped_worker_holds(core)
    ts = await _noted_placeholder(adapter, dead, question)
    recorded = await core.answer(question)
    dead.retire()
    # The mention is delivered again (a retry) and reaches this worker after the first one died.
    await adapter.bot.on_event(p.mention(QUESTION, ts=THREAD), {"bot_user_id": BOT_USER}, adapter.client)
    await adapter.bot.drain()
    [update] = _answer_updates(slack)
    assert update.args["ts"] == ts  # in the stopped worker's placeholder, not a second one
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert any(b.get("elements", [{}])[0].get("value") == recorded.id for b in update.blocks if b["type"] == "actions")
    assert len(core.memory.conversation(question.conversation_id).turns) == 1  # shown, not answered twice


async def test_a_question_that_cost_too_many_workers_gets_an_apology_in_its_placeholder(
    core: Citewise, adapter: SlackAdapter, keeper: ClaimKeeper, slack: FakeSlack,
) -> None:
    dead, question = await _stopped_worker_holds(core)
    ts = await _noted_placeholder(adapter, dead, question)
    for _ in range(MAX_ATTEMPTS - 1):  # each worker that took it over died on it too
        dead.retire()
        assert [c.key for c in dead.take_abandoned(["slack"])] == [question.claim]
    dead.retire()
    [taken] = await keeper.tick()
    await keeper.drain()
    assert taken.attempts == MAX_ATTEMPTS + 1
    [apology] = slack.calls_to("chat.update")
    assert apology.args["ts"] == ts and question.id in apology.args["text"]
    assert core.memory.conversation(question.conversation_id).turns == []
    assert await keeper.tick() == []


async def test_when_the_placeholder_is_gone_the_answer_is_posted_in_the_thread(
    core: Citewise, adapter: SlackAdapter, keeper: ClaimKeeper, slack: FakeSlack,
) -> None:
    dead, question = await _stopped_worker_holds(core)
    assert question.claim is not None
    dead.note_reply(question.claim, "1700000000.999999")  # someone deleted it meanwhile
    slack.fail_next("chat.update", 200, error="message_not_found")
    dead.retire()
    await keeper.tick()
    await keeper.drain()
    [posted] = slack.calls_to("chat.postMessage")
    assert posted.args["thread_ts"] == THREAD and any(b.get("type") == "actions" for b in posted.blocks)
    assert await keeper.tick() == []


async def test_a_resume_that_slack_refuses_is_tried_again_by_a_later_round(
    core: Citewise, adapter: SlackAdapter, keeper: ClaimKeeper, slack: FakeSlack,
) -> None:
    dead, question = await _stopped_worker_holds(core)
    dead.retire()
    slack.fail_next("chat.postMessage", 200, error="channel_not_found")
    [first] = await keeper.tick()
    await keeper.drain()
    assert _answer_updates(slack) == []  # refused: nothing shown yet, nothing lost
    [again] = await keeper.tick()
    await keeper.drain()
    assert again.key == first.key and again.attempts == first.attempts + 1
    assert len(_answer_updates(slack)) == 1


async def test_a_held_claim_with_an_unreadable_reply_place_is_dropped_with_a_log_line(
    core: Citewise, keeper: ClaimKeeper, slack: FakeSlack, caplog: pytest.LogCaptureFixture,
) -> None:
    dead = SQLiteConversations(core.store.db)  # type: ignore[attr-defined]
    question = Question(text=QUESTION, platform="slack", claim="slack:post:C1:9.9")
    assert dead.claim_event("slack:post:C1:9.9")
    dead.hold_claim("slack:post:C1:9.9", question, "not json")
    dead.retire()
    await keeper.tick()
    await keeper.drain()
    assert slack.calls == [] and await keeper.tick() == []
    assert any("no readable reply place" in r.getMessage() and r.exc_info is None for r in caplog.records)


async def test_a_worker_stopped_on_purpose_hands_its_questions_over_at_once(
    core: Citewise, keeper: ClaimKeeper, slack: FakeSlack,
) -> None:
    leaving, question = await _stopped_worker_holds(core)
    assert await keeper.tick() == []  # its worker is alive
    await ClaimKeeper(leaving, []).stop()  # SIGTERM: `citewise run` stops its keeper after draining
    [taken] = await keeper.tick()  # no wait for the claim timeout
    await keeper.drain()
    assert taken.question.id == question.id and len(_answer_updates(slack)) == 1
