"""Rendering for Discord stays within every limit Discord enforces, and escapes what it shows."""

from __future__ import annotations

from adapters.discord.inbound import conversation_key, question_text
from adapters.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    THREAD_NAME_LIMIT,
    render_answer,
    render_hits,
    render_sources,
    thread_name,
)
from adapters.discord.views import CUSTOM_ID_LIMIT, answer_view
from bot.models import Answer, AnswerSentence, AnswerStatus, Citation, Evidence, SearchHit, Source

ANSWER_ID = "a1b2c3d4e5f60718"


def make_answer(*, sentences: int = 2, sources: int = 2, words: int = 12, answer_id: str = ANSWER_ID) -> Answer:
    return Answer(
        id=answer_id,
        question="q",
        status=AnswerStatus.answered,
        sentences=[
            AnswerSentence(
                text=" ".join(["finding"] * words) + f" number {i}.", citations=[Citation(n=i % sources + 1)]
            )
            for i in range(sentences)
        ],
        sources=[
            Source(
                n=n, id=f"p{n}", title=f"Paper {n} " + "long title " * 40, authors=["A. Author", "B. Author"],
                year=2020, venue="Venue", url=f"https://example.org/p({n})", takeaway="takeaway " * 80,
                evidence=[Evidence(index=i, text="quoted evidence " * 40) for i in range(3)],
            )
            for n in range(1, sources + 1)
        ],
    )


def test_short_answer_keeps_markers_and_sources_line() -> None:
    reply = render_answer(make_answer())
    assert "[1]" in reply.content and reply.content.endswith("2 sources cited")
    assert reply.embeds == []


def test_long_answer_drops_whole_sentences_to_fit() -> None:
    answer = make_answer(sentences=60, words=10)
    reply = render_answer(answer)
    assert len(reply.content) <= CONTENT_LIMIT
    assert "sources cited" in reply.content and "Shortened to fit Discord" in reply.content
    body = reply.content.split("\n\n")[0]
    assert body.endswith("]"), "the last kept sentence is whole, with its citation"


def test_one_giant_sentence_is_cut_with_an_ellipsis() -> None:
    reply = render_answer(make_answer(sentences=1, words=800))
    assert len(reply.content) <= CONTENT_LIMIT and "…" in reply.content


def test_markdown_from_papers_is_escaped() -> None:
    answer = make_answer()
    answer.sentences[0].text = "**Bold** claim with _emphasis_ and `code`"
    answer.sources[0].title = "A [bracketed] *title*"
    reply = render_answer(answer, show_sources=True)
    assert r"\*\*Bold\*\*" in reply.content and r"\_emphasis\_" in reply.content and r"\`code\`" in reply.content
    description = reply.embeds[0].description or ""
    assert r"(bracketed) \*title\*" in description
    assert "https://example.org/p%281%29" in description  # parentheses would end the link early


def test_source_embed_fits_description_and_total_limits() -> None:
    embed = render_sources(make_answer(sentences=40, sources=40))
    assert len(embed.description or "") <= DESCRIPTION_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert "more sources not shown" in (embed.description or "")
    assert "**[1] [Paper 1" in (embed.description or "")


def test_sources_are_hidden_unless_asked_for() -> None:
    answer = make_answer()
    assert render_answer(answer, show_sources=False).embeds == []
    assert render_answer(answer, show_sources=True).embeds[0].title == "Sources (2)"


def test_unsafe_links_are_not_linked() -> None:
    answer = make_answer(sources=1, sentences=1)
    answer.sources[0].url = "javascript:alert(1)"
    description = render_sources(answer).description or ""
    assert "javascript:" not in description and "](" not in description


def test_non_answer_is_its_message() -> None:
    answer = Answer(question="q", status=AnswerStatus.no_evidence, message="I searched 12 papers and found none.")
    reply = render_answer(answer, show_sources=True)
    assert reply.content == "I searched 12 papers and found none." and reply.embeds == []
    ids = [item.custom_id for item in answer_view(answer).children]  # type: ignore[attr-defined]
    assert not any(i.startswith("citewise:src:") for i in ids), "no Sources button without sources"


def test_search_results_fit_field_and_total_limits() -> None:
    hits = [
        SearchHit(rank=i, id=f"p{i}", title="T" * 400, year=2000 + i % 20, score=1.0, takeaway="word " * 400,
                  url=f"https://example.org/{i}")
        for i in range(1, 41)
    ]
    embed = render_hits("vitamin D", hits).embeds[0]
    assert len(embed.fields) <= FIELD_COUNT_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert all(len(f.name or "") <= FIELD_NAME_LIMIT and len(f.value or "") <= FIELD_VALUE_LIMIT for f in embed.fields)
    assert embed.footer.text and "more not shown" in embed.footer.text


def test_search_with_no_hits_says_so() -> None:
    reply = render_hits("*nothing*", [])
    assert reply.embeds == [] and r"\*nothing\*" in reply.content


def test_thread_name_is_plain_and_short() -> None:
    name = thread_name("  why   " + "does this happen " * 20)
    assert len(name) <= THREAD_NAME_LIMIT and name.startswith("why does") and name.endswith("…")
    assert thread_name("   ") == "Citewise"


def test_buttons_carry_the_answer_id_within_the_custom_id_limit() -> None:
    view = answer_view(make_answer())
    ids = [item.custom_id for item in view.children]  # type: ignore[attr-defined]
    assert ids == [f"citewise:src:{ANSWER_ID}", f"citewise:fb:{ANSWER_ID}:up", f"citewise:fb:{ANSWER_ID}:down"]
    assert all(len(i) <= CUSTOM_ID_LIMIT for i in ids)
    labels = [item.item.label for item in view.children]  # type: ignore[attr-defined]
    assert labels[0] == "Sources (2)"


def test_an_id_too_long_for_a_custom_id_sends_no_buttons() -> None:
    assert answer_view(make_answer(answer_id="x" * 120)).children == []


def test_question_text_drops_the_bots_mention() -> None:
    assert question_text("<@42>  does   coffee help? <@!42>", 42) == "does coffee help?"
    assert question_text("<@7> hi", 42) == "<@7> hi"
    assert conversation_key(5) == "discord:5"



def test_an_answer_that_looked_beyond_the_store_says_so() -> None:
    note = "The team's papers had little on this, so I also searched OpenAlex and added 2 papers to the store."
    answer = make_answer().model_copy(update={"looked_beyond": True, "beyond_note": note})
    content = render_answer(answer).content
    assert "also searched OpenAlex" in content and len(content) <= CONTENT_LIMIT
    assert "OpenAlex" not in render_answer(make_answer()).content
