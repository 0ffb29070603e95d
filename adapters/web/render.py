"""Answers, paper replies and search results as HTML fragments (escaped by `markup`).

The same fragments make the server-rendered page and the script's in-place updates,
so a reload shows exactly what was shown live. Words come from `bot.presenter`;
only markup is decided here.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.web.markup import Safe, join, tag
from bot.models import Answer, AnswerSentence, AnswerStatus, PaperReply, SearchHit, Source
from bot.presenter import (
    CLOSEST_HEADING,
    RELATED_HEADING,
    paper_reply_sections,
    source_meta,
    sources_line,
    stance_text,
    truecite_note,
    verdict_parts,
)
from bot.threads import ThreadSummary

__all__ = [
    "render_turn",
    "render_answer",
    "render_thread_item",
    "render_paper_reply",
    "render_hits",
    "answer_anchor",
    "source_anchor",
    "web_url",
]

_VOTES = (("up", "👍", "Helpful"), ("down", "👎", "Not helpful"))


def web_url(url: str | None) -> str | None:
    """Only http(s) links are links: a paper's `javascript:` URL must not become an href."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def answer_anchor(answer_id: str) -> str:
    return f"a-{answer_id}"


def source_anchor(answer_id: str, n: int) -> str:
    return f"s-{answer_id}-{n}"


def render_turn(question: str, answer: Answer | None, *, vote: str | None, csrf: str) -> Safe:
    """One question and its answer, as the thread shows them."""
    body = render_answer(answer, vote=vote, csrf=csrf) if answer is not None else tag(
        "p", "This answer could not be read back from the store.", class_="message"
    )
    return tag("section", tag("p", question, class_="question"), body, class_="turn")


def render_answer(answer: Answer, *, vote: str | None, csrf: str) -> Safe:
    """Verdict first, then the compact answer, the sources line, the source list and the votes."""
    parts: list[Safe | None] = [_verdict(answer)]
    if answer.status is AnswerStatus.answered and answer.sentences:
        parts.append(tag("p", join((_sentence(answer.id, s) for s in answer.sentences), " "), class_="direct"))
    else:
        parts.append(tag("p", answer.message or "I could not answer that.", class_="message"))
    if answer.closest:
        parts.append(_closest(answer.closest))
    if answer.further:
        items = (tag("li", _sentence(answer.id, s)) for s in answer.further)
        parts.append(tag("div", tag("h4", RELATED_HEADING), tag("ul", items), class_="further"))
    if answer.status is AnswerStatus.answered:
        parts.append(tag("p", sources_line(answer), class_="sources-line"))
    if answer.beyond_note:
        parts.append(tag("p", answer.beyond_note, class_="note"))
    if answer.synthesis_note:
        parts.append(tag("p", answer.synthesis_note, class_="note"))
    if answer.verification.removed:
        parts.append(tag("p", f"{truecite_note(answer)}.", class_="note"))
    if answer.status is AnswerStatus.answered and answer.sources:
        parts.append(_sources(answer))
    if answer.status is not AnswerStatus.invalid_question:
        parts.append(_feedback(answer.id, vote, csrf))
    return tag("article", parts, class_="answer", id=answer_anchor(answer.id), data_answer=answer.id)


def _verdict(answer: Answer) -> Safe | None:
    head, rest = verdict_parts(answer)
    if not head:
        return None
    return tag("p", tag("strong", head), f" — {rest}" if rest else None, class_=f"verdict verdict-{answer.verdict.value}")


def _sentence(answer_id: str, sentence: AnswerSentence) -> Safe:
    numbers = dict.fromkeys(c.n for c in sentence.citations)
    markers = (
        tag("a", f"[{n}]", href=f"#{source_anchor(answer_id, n)}", class_="cite", data_n=n,
            aria_label=f"source {n}")
        for n in numbers
    )
    return join([sentence.text, *((" ", m) for m in markers)])


def _closest(papers: Sequence[Source]) -> Safe:
    items = (tag("li", _title(p), tag("span", f" · {p.year}", class_="year") if p.year else None) for p in papers)
    return tag("div", tag("h4", CLOSEST_HEADING), tag("ul", items), class_="closest")


def _title(source: Source) -> Safe:
    url = web_url(source.url)
    if url is None:
        return tag("span", source.title, class_="title")
    return tag("a", source.title, href=url, class_="title", rel="noopener noreferrer", target="_blank")


def _sources(answer: Answer) -> Safe:
    items = (_source(answer.id, s, stance_text(answer, s.n)) for s in answer.sources)
    summary = tag(
        "summary",
        tag("span", f"Show sources ({len(answer.sources)})", class_="when-closed"),
        tag("span", "Hide sources", class_="when-open"),
    )
    return tag("details", summary, tag("ol", items, class_="source-list"), class_="sources")


def _source(answer_id: str, source: Source, stance: str) -> Safe:
    """One numbered source; `stance` is "Supports"/"Contradicts"/"Neutral", or "Related" for one
    cited only among the related findings."""
    meta = source_meta(source)
    quotes = (
        tag("blockquote", f"“{q.text}”", tag("span", f" (sentence {q.index + 1})", class_="sentence-no"))
        for q in source.evidence
    )
    return tag(
        "li",
        tag("div", _title(source), class_="source-head"),
        tag("div", meta, class_="source-meta") if meta else None,
        tag("span", stance, class_=f"stance stance-{stance.lower()}"),
        tag("p", source.takeaway, class_="takeaway") if source.takeaway else None,
        quotes,
        id=source_anchor(answer_id, source.n),
        value=source.n,
        class_="source",
    )


def _feedback(answer_id: str, vote: str | None, csrf: str) -> Safe:
    buttons = (
        tag("button", emoji, type="submit", name="value", value=value, title=label, aria_label=label,
            aria_pressed="true" if vote == value else "false", class_="vote")
        for value, emoji, label in _VOTES
    )
    return tag(
        "form",
        tag("input", type="hidden", name="csrf", value=csrf),
        buttons,
        tag("span", "Thanks, noted." if vote else "", class_="thanks", aria_live="polite"),
        method="post",
        action=f"/answers/{answer_id}/feedback",
        class_="feedback",
    )


def render_thread_item(thread: ThreadSummary, *, path: str, current: bool = False) -> Safe:
    """One conversation in the side list: its first question and how many turns."""
    turns = f"{thread.turns} question{'s' if thread.turns != 1 else ''} · {thread.last_asked_at:%d %b %H:%M}"
    return tag(
        "li",
        tag("a", thread.title, href=path, aria_current="page" if current else None),
        tag("small", turns),
        class_="thread-item",
    )


def render_paper_reply(reply: PaperReply) -> Safe:
    """The `/paper add` reply, word for word, as a list: added, already there, could not add, could not read."""
    blocks: list[Safe] = []
    for heading, lines in paper_reply_sections(reply):
        if heading is not None:
            blocks.append(tag("p", heading))
        items = [tag("li", line[2:]) for line in lines if line.startswith("• ")]
        blocks += [tag("p", line) for line in lines if not line.startswith("• ")]
        if items:
            blocks.append(tag("ul", items))
    return tag("div", blocks, class_="paper-reply " + ("ok" if reply.ok else "problem"), role="status")


def render_hits(query: str, hits: Sequence[SearchHit]) -> Safe:
    if not query:
        return Safe("")
    if not hits:
        return tag("p", f"No papers in the store match “{query}”.", class_="message")
    items = []
    for hit in hits:
        url = web_url(hit.url)
        title = tag("a", hit.title, href=url, rel="noopener noreferrer", target="_blank") if url else tag("span", hit.title)
        meta = " · ".join(part for part in (str(hit.year) if hit.year else "", hit.origin or "",
                                            f"added by {hit.added_by}" if hit.added_by else "") if part)
        items.append(tag("li", tag("div", title, class_="source-head"), tag("div", meta, class_="source-meta"),
                         tag("p", hit.takeaway, class_="takeaway") if hit.takeaway else None, class_="hit"))
    return tag("ol", items, class_="hits")
