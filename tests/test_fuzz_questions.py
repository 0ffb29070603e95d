"""Random and adversarial questions through the core and every renderer.

Properties: nothing raises; no ping token (<!channel>, <!here>, a bare @everyone or
@here) reaches a chat; Slack's and Discord's size limits hold for every reply; every
reply can be encoded as UTF-8 (no undecodable byte escapes into a message).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import discord
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from adapters import terminal
from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot.compose import build_citewise
from bot.core import Citewise
from bot.models import Answer, AnswerStatus, Question
from bot.settings import Settings
from knowledge.papers import Paper
from knowledge.store import PaperStore
from tests.conftest import make_papers
from tests.fuzzing import ADVERSARIAL, PING, adversarial_text, fuzz

# A team's papers can be as hostile as its questions: these carry pings and markup.
HOSTILE = [
    Paper.from_abstract(id="hostile-1", title="<!channel> Aspirin @everyone and stroke *risk*",
                        authors=["<@U0EVE>", "@here"],
                        abstract="Aspirin <!here> reduced stroke risk @everyone. Low-dose aspirin & stroke <https://x|y>."),
    Paper.from_abstract(id="hostile-2", title="Vitamin D ```fractures``` ||spoiler|| \u202e",
                        abstract=["Vitamin D lowered fractures " + "very " * 600 + "much.",
                                  "Fractures <!subteam^S1> fell with vitamin D @channel."],
                        url="javascript:alert(1)"),
]
REAL = [
    "Does vitamin D supplementation reduce fractures?", "does low-dose aspirin reduce stroke risk?",
    "Does salt reduction lower blood pressure?", "Is psychological stress linked to telomere length?",
    "what are its limitations?", "aspirin bleeding", "vitamin D fractures older adults",
]


@st.composite
def on_topic(draw: st.DrawFn) -> str:
    """A real question with hostile tokens spliced in, so the answering path (not only refusals) is fuzzed."""
    words = draw(st.sampled_from(REAL)).split()
    for _ in range(draw(st.integers(0, 6))):
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(ADVERSARIAL)))
    return " ".join(words)


questions = st.one_of(adversarial_text(), on_topic())
_BARE_PING = re.compile(r"(?<![\w\u2060\u200b])@(everyone|here|channel)\b")
_DISCORD_PING = re.compile(r"(?<![\w\u2060\u200b])@(everyone|here)\b")  # Discord has no @channel


@pytest.fixture(scope="module")
def fuzz_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Citewise]:
    path = tmp_path_factory.mktemp("fuzz-questions") / "store.db"
    store = PaperStore(path)
    store.add_papers([*make_papers(), *HOSTILE])
    core = build_citewise(Settings(db_path=path, offline=True), store=store)
    yield core
    core.close()


def _slack_strings(blocks: list[dict]) -> Iterator[str]:
    for block in blocks:
        if "text" in block:
            yield block["text"]["text"]
        for element in block.get("elements", []):
            text = element.get("text")
            yield text["text"] if isinstance(text, dict) else str(text or "")
            yield str(element.get("value", ""))


def _check_slack(answer: Answer) -> None:
    for expanded in (False, True):
        blocks = slack_render.render_answer(answer, expanded=expanded)
        json.dumps(blocks, ensure_ascii=False).encode("utf-8")
        assert 0 < len(blocks) <= slack_render.MAX_BLOCKS
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= slack_render.MAX_SECTION_CHARS
            for element in block.get("elements", []):
                if block["type"] == "context":
                    assert len(element["text"]) <= slack_render.MAX_CONTEXT_CHARS
                if element.get("type") == "button":
                    assert len(element["value"]) <= slack_render.MAX_BUTTON_VALUE
                    assert len(element["action_id"]) <= slack_render.MAX_ACTION_ID
        for text in _slack_strings(blocks):
            assert not any(token in text for token in PING), text
            assert _BARE_PING.search(text) is None, text
    fallback = slack_render.fallback_text(answer)
    assert len(fallback) <= slack_render.MAX_FALLBACK_CHARS
    assert not any(token in fallback for token in PING) and _BARE_PING.search(fallback) is None
    fallback.encode("utf-8")


def _embed_strings(embed: discord.Embed) -> Iterator[str]:
    yield from (embed.title or "", embed.description or "", embed.footer.text or "")
    for f in embed.fields:
        yield from (f.name or "", f.value or "")


def _check_discord(answer: Answer) -> None:
    for shown in (False, True):
        reply = discord_render.render_answer(answer, show_sources=shown)
        assert 0 < len(reply.content) <= discord_render.CONTENT_LIMIT
        reply.content.encode("utf-8")
        for embed in reply.embeds:
            assert len(embed) <= discord_render.EMBED_TOTAL_LIMIT
            assert len(embed.title or "") <= discord_render.TITLE_LIMIT
            assert len(embed.description or "") <= discord_render.DESCRIPTION_LIMIT
            assert len(embed.fields) <= discord_render.FIELD_COUNT_LIMIT
            for f in embed.fields:
                assert len(f.name or "") <= discord_render.FIELD_NAME_LIMIT
                assert len(f.value or "") <= discord_render.FIELD_VALUE_LIMIT
        for text in (reply.content, *(s for e in reply.embeds for s in _embed_strings(e))):
            text.encode("utf-8")
            assert _DISCORD_PING.search(text) is None, text
    assert len(discord_render.thread_name(answer.question)) <= discord_render.THREAD_NAME_LIMIT


def _check_terminal(answer: Answer) -> None:
    terminal.render_answer(answer).encode("utf-8")


@fuzz(600)
@given(text=questions)
def test_any_question_is_answered_or_refused_and_renders_within_limits(fuzz_core: Citewise, text: str) -> None:
    answer = fuzz_core.answer_now(Question(text=text, platform="fuzz"))
    assert answer.status in set(AnswerStatus)
    event(f"status {answer.status.value}")
    Answer.model_validate_json(answer.model_dump_json())  # what the store keeps for "Show sources"
    _check_slack(answer)
    _check_discord(answer)
    _check_terminal(answer)


@fuzz(200)
@given(text=questions, follow=questions)
def test_follow_ups_in_a_thread_never_raise(fuzz_core: Citewise, text: str, follow: str) -> None:
    first = fuzz_core.answer_now(Question(text=text, platform="fuzz"))
    answer = fuzz_core.answer_now(Question(text=follow, conversation_id=first.conversation_id, platform="fuzz"))
    _check_slack(answer)
    _check_discord(answer)
