"""Answer → Block Kit, within Slack's limits and with every outside text made inert.

Slack rejects a whole message when one field is too long, so every limit is
enforced here, by degrading (cutting text, "and K more sources") instead of
failing the post. Paper and user text is escaped so it can neither format links
nor ping anyone: `<!channel>` arrives as harmless text, and bare `@here` gets an
invisible joiner so a client never reads it as a mention.
"""

from __future__ import annotations

import logging
import re

from bot import messages, presenter
from bot.models import Answer, AnswerStatus, PaperReply, Source
from bot.presenter import CLOSEST_HEADING, RELATED_HEADING, stance_text, verdict_line, verdict_parts

__all__ = [
    "MAX_BLOCKS",
    "MAX_SECTION_CHARS",
    "MAX_BUTTON_VALUE",
    "MAX_ACTION_ID",
    "SHOW_SOURCES",
    "HIDE_SOURCES",
    "FEEDBACK_UP",
    "FEEDBACK_DOWN",
    "escape",
    "link",
    "render_answer",
    "render_placeholder",
    "placeholder_in",
    "PLACEHOLDER_BLOCK",
    "render_apology",
    "render_notice",
    "render_paper_reply",
    "fallback_text",
    "searching_status",
    "sources_line",
]

# Block id prefix of a placeholder; the question id follows.
PLACEHOLDER_BLOCK = "citewise-wait:"

logger = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_CONTEXT_CHARS = 2000
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_FALLBACK_CHARS = 3000

# Stable action ids: a button pressed on a message posted before a restart still routes.
SHOW_SOURCES = "citewise.sources.show"
HIDE_SOURCES = "citewise.sources.hide"
FEEDBACK_UP = "citewise.feedback.up"
FEEDBACK_DOWN = "citewise.feedback.down"

_MAX_QUOTES = 3
_MAX_ANSWER_SECTIONS = 4  # an answer longer than 12,000 characters is cut, leaving room for sources
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_PARTIAL_TAIL = re.compile(r"(&[a-z]{0,5}|<[^>]*)$")


def escape(text: str) -> str:
    """Make outside text inert in mrkdwn: no links, no mentions, no broadcasts."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", text)


def link(url: str | None, label: str) -> str:
    """A mrkdwn link with an escaped label; non-web URLs are left unlinked."""
    if not url or not url.startswith(("https://", "http://")):
        return escape(label)
    safe = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe}|{escape(label)}>"


def _cut(text: str, limit: int) -> str:
    """Cut to `limit` characters without leaving half an entity or link behind."""
    if len(text) <= limit:
        return text
    head = _PARTIAL_TAIL.sub("", text[: limit - 1])
    return head.rstrip() + "…"


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION_CHARS)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, MAX_CONTEXT_CHARS)}]}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict:
    button: dict = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id[:MAX_ACTION_ID],
        "value": value[:MAX_BUTTON_VALUE],
    }
    if style:
        button["style"] = style
    return button


def _chunks(parts: list[str], limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Pack sentences into as few sections as fit; a lone overlong sentence is cut."""
    chunks: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current} {part}".strip()
        if current and len(candidate) > limit:
            chunks.append(current)
            candidate = part
        current = candidate
    if current:
        chunks.append(current)
    return [_cut(c, limit) for c in chunks]


def sources_line(answer: Answer) -> str:
    parts = [presenter.sources_line(answer), f"searched {answer.searched:,} papers", presenter.truecite_note(answer)]
    return " · ".join(p for p in parts if p)


def _verdict(answer: Answer) -> list[dict]:
    """The bottom line, first in every reply: "*Mostly yes* — 3 papers support, 1 contradicts"."""
    head, rest = verdict_parts(answer)
    if not head:
        return []
    return [_section(f"*{escape(head)}*" + (f" — {escape(_cut(rest, 2500))}" if rest else ""))]


def _source_text(source: Source, stance: str = "") -> str:
    meta = " · ".join(p for p in (presenter.source_meta(source), stance) if p)
    lines = [f"*[{source.n}]* *{link(source.url, _cut(source.title, 300))}*"]
    if meta:
        lines.append(escape(_cut(meta, 300)))
    if source.takeaway:
        lines.append(f"_Takeaway:_ {escape(_cut(source.takeaway, 600))}")
    lines += [f"> “{escape(_cut(q.text, 600))}”" for q in source.evidence[:_MAX_QUOTES]]
    return "\n".join(lines)


def _actions(answer: Answer, *, expanded: bool) -> dict:
    elements: list[dict] = []
    if answer.status is AnswerStatus.answered and answer.sources:
        if expanded:
            elements.append(_button("Hide sources", HIDE_SOURCES, answer.id))
        else:
            elements.append(_button(f"Show sources ({answer.sources_cited})", SHOW_SOURCES, answer.id, style="primary"))
    elements += [_button("👍", FEEDBACK_UP, answer.id), _button("👎", FEEDBACK_DOWN, answer.id)]
    return {"type": "actions", "block_id": f"citewise.{answer.id}", "elements": elements}


def render_answer(answer: Answer, *, expanded: bool = False) -> list[dict]:
    """The reply: answer sections, the "N sources cited" line, buttons; sources when expanded."""
    if answer.status is not AnswerStatus.answered:
        blocks = [*_verdict(answer), _section(escape(answer.message or "I could not answer that."))]
        if answer.closest:
            closest = "\n".join(f"• {link(s.url, _cut(s.title, 300))}" + (f" ({s.year})" if s.year else "")
                                 for s in answer.closest)
            blocks.append(_section(_cut(f"*{CLOSEST_HEADING}*\n{closest}", MAX_SECTION_CHARS)))
        blocks += [_context(f"Searched {answer.searched:,} papers"), *_beyond(answer)]
        if answer.status is AnswerStatus.no_evidence:
            blocks.append(_actions(answer, expanded=False))
        return blocks
    if answer.sentences:
        chunks = _chunks([escape(s.render()) for s in answer.sentences])
    else:  # nothing answers directly: say why; the related findings follow
        chunks = _chunks([escape(answer.message)]) if answer.message else []
    if len(chunks) > _MAX_ANSWER_SECTIONS:
        chunks = chunks[:_MAX_ANSWER_SECTIONS]
        chunks[-1] = _cut(chunks[-1], MAX_SECTION_CHARS - 2) + ("" if chunks[-1].endswith("…") else " …")
    head = [*_verdict(answer), *(_section(t) for t in chunks)]
    if not answer.sentences and answer.further and not expanded:
        related = "\n".join(f"• {escape(s.render())}" for s in answer.further)
        head.append(_section(_cut(f"*{RELATED_HEADING}*\n{related}", MAX_SECTION_CHARS)))
    tail = [_context(sources_line(answer)), *_beyond(answer), _actions(answer, expanded=expanded)]
    if not expanded:
        return [*head, *tail][:MAX_BLOCKS]
    body: list[dict] = [_section(_cut(f"*{escape(s.heading)}*\n" + " ".join(escape(t.render()) for t in s.sentences),
                                      MAX_SECTION_CHARS)) for s in answer.sections]
    if answer.further:
        further = "\n".join(f"• {escape(s.render())}" for s in answer.further)
        body.append(_section(_cut(f"*{RELATED_HEADING}*\n{further}", MAX_SECTION_CHARS)))
    body.append({"type": "divider"})
    room = MAX_BLOCKS - len(head) - len(body) - len(tail)
    sources = answer.sources
    if len(sources) > room:
        shown = sources[: max(0, room - 1)]
        more = _context(f"…and {len(sources) - len(shown)} more source{'s' if len(sources) - len(shown) != 1 else ''}")
        body += [_section(_source_text(s, stance_text(answer, s.n))) for s in shown] + [more]
    else:
        body += [_section(_source_text(s, stance_text(answer, s.n))) for s in sources]
    return [*head, *body, *tail][:MAX_BLOCKS]


def _beyond(answer: Answer) -> list[dict]:
    """Say so when the answer reached past the team's papers (or tried to)."""
    notes = [_context(f":globe_with_meridians: {escape(answer.beyond_note)}")] if answer.beyond_note else []
    if answer.synthesis_note:
        notes.append(_context(_cut(escape(answer.synthesis_note), MAX_CONTEXT_CHARS)))
    return notes


def fallback_text(answer: Answer) -> str:
    """The notification and screen-reader text that accompanies the blocks."""
    bottom = f"{escape(verdict_line(answer))}. " if answer.verdict_text else ""
    if answer.status is not AnswerStatus.answered:
        return _cut(bottom + escape(answer.message or "I could not answer that."), MAX_FALLBACK_CHARS)
    return _cut(f"{bottom}{escape(answer.text)} ({sources_line(answer)})", MAX_FALLBACK_CHARS)


def searching_status(papers: int) -> str:
    return messages.searching(papers)


def render_placeholder(papers: int, question_id: str) -> list[dict]:
    """What sits in the thread while the answer is prepared; the answer replaces it.

    Its block id names the question, so a worker finishing the question for one that
    stopped finds this placeholder in the thread (`placeholder_in`) and answers there.
    """
    return [{**_context(f":mag: {searching_status(papers)}"), "block_id": PLACEHOLDER_BLOCK + question_id}]


def placeholder_in(messages: list[dict], question_id: str) -> str | None:
    """The ts of the placeholder for `question_id` among a thread's messages (conversations.replies)."""
    for message in messages:
        blocks = message.get("blocks") if isinstance(message, dict) else None
        if isinstance(blocks, list) and any(isinstance(b, dict) and b.get("block_id") == PLACEHOLDER_BLOCK + question_id
                                            for b in blocks):
            ts = message.get("ts")
            return ts if isinstance(ts, str) else None
    return None


def render_apology(question_id: str) -> list[dict]:
    return [
        _section(messages.APOLOGY),
        _context(f"Reference: `{escape(question_id)}`"),
    ]


def render_notice(text: str) -> list[dict]:
    """A one-line message of the bot's own (already safe) words, e.g. usage hints."""
    return [_section(text)]


def render_paper_reply(reply: PaperReply) -> list[dict]:
    """A `/paper` reply as escaped sections within Slack's limits."""
    lines = [escape(line) for line in presenter.paper_reply_text(reply).splitlines() if line.strip()]
    packed: list[str] = []
    for line in lines:
        if packed and len(packed[-1]) + 1 + len(line) <= MAX_SECTION_CHARS:
            packed[-1] += "\n" + line
        else:
            packed.append(_cut(line, MAX_SECTION_CHARS))
    blocks = [_section(chunk) for chunk in packed[: MAX_BLOCKS - 1]]
    if len(packed) > MAX_BLOCKS - 1:
        blocks.append(_context(f"…and {len(packed) - (MAX_BLOCKS - 1)} more"))
    return blocks or [_section("Nothing to report.")]
