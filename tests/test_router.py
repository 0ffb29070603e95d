"""Every routing rule once, through the neutral push/pop backend (no platform involved)."""

from __future__ import annotations

import pytest

from bot.compose import build_citewise, build_paper_service, build_router
from bot.core import Citewise
from bot.router import AddPapers, Ask, Ignore, Search
from bot.settings import Settings
from tests.fakes.backend import PushPopBackend

QUESTION = "does low-dose aspirin reduce stroke risk?"


@pytest.fixture
def backend(core: Citewise) -> PushPopBackend:
    return PushPopBackend(core, build_paper_service(core), build_router(core))


async def test_a_mention_is_answered_in_the_thread_under_it(backend: PushPopBackend) -> None:
    decision = await backend.push(QUESTION, mentioned=True, message_id="q1")
    assert isinstance(decision, Ask) and decision.question.conversation_id == "test:q1" and not decision.follow_up
    said = backend.pop()
    assert said.thread == "q1" and said.answer is not None and said.answer.sources_cited >= 1


async def test_a_direct_message_needs_no_mention(backend: PushPopBackend) -> None:
    assert isinstance(await backend.push(QUESTION, dm=True), Ask)


async def test_a_reply_in_our_thread_is_a_follow_up_without_a_mention(backend: PushPopBackend, core: Citewise) -> None:
    await backend.push("does vitamin D supplementation prevent fractures?", mentioned=True, message_id="q1")
    decision = await backend.push("what about calcium combined with it?", thread="q1")
    assert isinstance(decision, Ask) and decision.follow_up
    assert decision.question.conversation_id == "test:q1"
    assert len(core.memory.conversation("test:q1").turns) == 2


async def test_channel_chatter_and_other_threads_are_left_alone(backend: PushPopBackend) -> None:
    assert isinstance(await backend.push("a plain channel message about aspirin"), Ignore)
    assert isinstance(await backend.push("chatter about aspirin", thread="someone-else"), Ignore)
    assert not backend.said


async def test_wordless_replies_in_our_thread_are_left_alone(backend: PushPopBackend) -> None:
    await backend.push(QUESTION, mentioned=True, message_id="q1")
    assert isinstance(await backend.push("", thread="q1"), Ignore)  # e.g. no message-content intent


async def test_our_own_posts_and_other_bots_are_ignored(backend: PushPopBackend, core: Citewise) -> None:
    await backend.push(QUESTION, mentioned=True, message_id="q1")
    assert isinstance(await backend.push("my own words", thread="q1", from_self=True), Ignore)
    assert isinstance(await backend.push("bot noise about aspirin", thread="q1", from_bot=True), Ignore)
    answering = PushPopBackend(core, backend.papers, build_router(core, answer_bots=True))
    assert isinstance(await answering.push("bot question about aspirin?", thread="q1", from_bot=True), Ask)
    assert isinstance(await answering.push("still never ourselves", thread="q1", from_self=True), Ignore)


async def test_retries_and_twin_deliveries_are_answered_once_also_after_a_restart(
        backend: PushPopBackend, settings: Settings) -> None:
    assert isinstance(await backend.push(QUESTION, mentioned=True, message_id="q1", event_id="E1"), Ask)
    assert isinstance(await backend.push(QUESTION, mentioned=True, message_id="q1", event_id="E1"), Ignore)
    assert isinstance(await backend.push(QUESTION, message_id="q1", event_id="E2", thread="q1"), Ignore)  # the twin
    restarted = build_citewise(settings)  # a new process over the same file
    try:
        again = PushPopBackend(restarted, build_paper_service(restarted), build_router(restarted))
        assert isinstance(await again.push(QUESTION, mentioned=True, message_id="q1", event_id="E1"), Ignore)
        assert isinstance(await again.push("and for women?", thread="q1"), Ask)  # the thread is still ours
    finally:
        restarted.close()


async def test_a_conversation_is_ours_before_its_first_answer_lands(backend: PushPopBackend) -> None:
    first = await backend.router.route(backend.message(QUESTION, mentioned=True, message_id="q1"))
    assert isinstance(first, Ask)  # routed, not yet answered
    assert isinstance(await backend.push("and in older women?", thread="q1"), Ask)


async def test_when_the_reply_opens_the_thread_the_conversation_continues_there(core: Citewise) -> None:
    backend = PushPopBackend(core, build_paper_service(core), build_router(core), replies_open_threads=True)
    first = await backend.push("does vitamin D supplementation prevent fractures?", mentioned=True, message_id="q1")
    assert isinstance(first, Ask)
    thread = backend.pop().thread
    follow_up = await backend.push("what about calcium combined with it?", thread=thread)
    assert isinstance(follow_up, Ask) and follow_up.follow_up
    assert follow_up.question.conversation_id == first.question.conversation_id
    assert len(core.memory.conversation(f"test:{thread}").turns) == 2


@pytest.mark.parametrize(
    ("text", "files", "expected"),
    [
        ("paper add 10.1000/xyz", (), AddPapers),
        ("here are our refs", ("refs.bib",), AddPapers),
        ("", ("photo.png",), AddPapers),  # a file alone is read, or explained
        ("does aspirin prevent stroke?", ("chart.png",), Ask),  # a screenshot with a question
        ("paper on sleep and memory?", (), Ask),
        ("paper search coffee cirrhosis", (), Search),
    ],
)
async def test_a_mention_grows_the_store_only_with_a_command_or_paper_files(
        backend: PushPopBackend, text: str, files: tuple[str, ...], expected: type) -> None:
    assert isinstance(await backend.push(text, mentioned=True, files=files), expected)


async def test_store_commands_need_a_mention_or_a_dm(backend: PushPopBackend) -> None:
    await backend.push(QUESTION, mentioned=True, message_id="q1")
    assert isinstance(await backend.push("paper add 10.1000/xyz", thread="q1"), Ask)  # in our thread: a question
    decision = await backend.push("paper add 10.1000/xyz", dm=True)
    assert isinstance(decision, AddPapers) and decision.added_by == "test:U1"


async def test_a_search_mention_lists_the_store(backend: PushPopBackend) -> None:
    await backend.push("paper search coffee cirrhosis", mentioned=True)
    said = backend.pop()
    assert said.papers is not None and said.papers.hits[0].id == "coffee-liver"
