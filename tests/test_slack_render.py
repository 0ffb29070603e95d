"""Block Kit rendering and inbound translation: limits, escaping, no pings, payload shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from adapters.slack import inbound
from adapters.slack.render import (
    FEEDBACK_DOWN,
    HIDE_SOURCES,
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    SHOW_SOURCES,
    escape,
    fallback_text,
    link,
    render_answer,
)
from bot.models import Answer, AnswerSentence, AnswerStatus, Citation, Evidence, Source

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _answer(n_sources: int = 2, *, sentence: str = "Aspirin reduced stroke", text: str = "") -> Answer:
    sources = [
        Source(n=i, id=f"p{i}", title=f"Paper {i} <!channel> & friends", authors=["A <@U999>", "B"], year=2020,
               venue="Venue", url=f"https://example.org/{i}?a=1&b=2", takeaway=text or "A takeaway @here.",
               evidence=[Evidence(index=0, text=text or "Quoted <b>evidence</b>.")])
        for i in range(1, n_sources + 1)
    ]
    sentences = [AnswerSentence(text=sentence, citations=[Citation(n=s.n, index=0)]) for s in sources]
    return Answer(question="q", status=AnswerStatus.answered, sentences=sentences, sources=sources, searched=5183)


def _all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _check_limits(blocks: list[dict]) -> None:
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["value"]) <= 2000 and len(element["action_id"]) <= 255
                assert len(element["text"]["text"]) <= 75


def test_collapsed_answer_shape() -> None:
    answer = _answer()
    blocks = render_answer(answer)
    assert [b["type"] for b in blocks] == ["section", "context", "actions"]
    assert "[1]" in blocks[0]["text"]["text"] and "[2]" in blocks[0]["text"]["text"]
    assert blocks[1]["elements"][0]["text"].startswith("2 sources cited · searched 5,183 papers")
    buttons = blocks[2]["elements"]
    assert [b["action_id"] for b in buttons] == [SHOW_SOURCES, "citewise.feedback.up", FEEDBACK_DOWN]
    assert buttons[0]["text"]["text"] == "Show sources (2)" and {b["value"] for b in buttons} == {answer.id}


def test_outside_text_is_escaped_and_cannot_ping() -> None:
    blocks = render_answer(_answer(), expanded=True)
    text = _all_text(blocks)
    assert "<!channel>" not in text and "<@U999>" not in text and "<b>" not in text
    assert "&lt;!channel&gt; &amp; friends" in text and "&lt;b&gt;" in text
    assert "@here" not in text and "@\u2060here" in text
    assert "<https://example.org/1?a=1&amp;b=2|Paper 1 &lt;!channel&gt; &amp; friends>" in text
    assert HIDE_SOURCES in text and SHOW_SOURCES not in text
    assert escape("@channel <!here>") == "@\u2060channel &lt;!here&gt;"
    assert link("javascript:alert(1)", "x") == "x" and link("https://a.b/x|y>z", "t") == "<https://a.b/x%7Cy%3Ez|t>"


def test_long_texts_and_many_sources_degrade_gracefully() -> None:
    long = "word & " * 2000
    answer = _answer(80, sentence=long, text=long)
    for expanded in (False, True):
        blocks = render_answer(answer, expanded=expanded)
        _check_limits(blocks)
        assert blocks[-1]["type"] == "actions"
    expanded_text = _all_text(render_answer(answer, expanded=True))
    assert "more sources" in expanded_text
    assert len(fallback_text(answer)) <= 3000
    for block in render_answer(answer, expanded=True):
        if block["type"] == "section":
            assert not block["text"]["text"].rstrip("…").endswith(("&", "&am", "&amp"))


def test_non_answers_render_their_message() -> None:
    none = Answer(question="q", status=AnswerStatus.no_evidence, message="No paper in the store covers that.",
                  searched=12)
    blocks = render_answer(none)
    assert blocks[0]["text"]["text"] == "No paper in the store covers that."
    assert SHOW_SOURCES not in _all_text(blocks) and FEEDBACK_DOWN in _all_text(blocks)
    invalid = Answer(question="", status=AnswerStatus.invalid_question, message="Please ask a question.")
    assert "actions" not in [b["type"] for b in render_answer(invalid)]


def test_question_text_reads_slack_markup_back() -> None:
    text = "<@UBOT> does <https://x.org/a|this paper> &amp; <#C1|research> hold? <!here> <@U2|bob> &lt;3"
    assert inbound.question_text(text, "UBOT") == "does this paper & #research hold? <3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-private is it safe?", (True, "is it safe?")), ("--private x", (True, "x")), ("-p x", (True, "x")),
     ("private equity and health?", (False, "private equity and health?")), ("-private", (True, ""))],
)
def test_parse_ask(text: str, expected: tuple[bool, str]) -> None:
    assert inbound.parse_ask(text) == expected


@pytest.mark.parametrize("name", ["slack_app_mention_event_shape.json", "slack_message_event_shape.json"])
def test_full_field_set_payloads_are_read(name: str) -> None:
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert inbound.to_post(body) is None  # shape samples have subtype/ts placeholders: not a new post
    body = copy.deepcopy(body)
    body.update(type="event_callback", team_id="T1")
    body["event"].update(subtype=None, ts="1.1", thread_ts="", channel="C1", channel_type="channel", bot_id="",
                         user="U1", text="<@UBOT> is aspirin safe?")
    post = inbound.to_post(body)
    assert post is not None and post.thread == "1.1" and not post.from_bot and not post.is_dm
    assert inbound.question_text(post.text, "UBOT") == "is aspirin safe?"
    assert inbound.conversation_key(post.team, post.channel, post.thread) == "slack:T1:C1:1.1"


def test_an_answer_that_looked_beyond_the_store_says_so() -> None:
    note = "The team's papers had little on this, so I also searched OpenAlex and added 2 papers <to> the store."
    answer = _answer().model_copy(update={"looked_beyond": True, "beyond_note": note})
    contexts = [e["text"] for b in render_answer(answer) if b["type"] == "context" for e in b["elements"]]
    assert any("also searched OpenAlex" in c and "&lt;to&gt;" in c for c in contexts)
    assert not any("OpenAlex" in e["text"] for b in render_answer(_answer()) if b["type"] == "context"
                   for e in b["elements"])
