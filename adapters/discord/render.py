"""Answer and search results → Discord message content and embeds, within Discord's limits.

Discord rejects a whole message when one limit is exceeded, so every piece is fitted
here, before sending: long answers drop whole sentences first, source lists drop
quotes before they drop sources, and whatever does not fit is counted, not lost
silently. Text from papers and users is markdown-escaped; pings are prevented
separately (`allowed_mentions`), since escaping cannot stop them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import discord

from bot import presenter
from bot.models import Answer, AnswerStatus, PaperReply, SearchHit, Source
from bot.presenter import CLOSEST_HEADING, RELATED_HEADING, stance_text, verdict_parts

__all__ = [
    "Reply",
    "render_answer",
    "render_sources",
    "render_hits",
    "render_paper_reply",
    "thread_name",
    "sources_line",
    "escape",
    "shorten",
    "CONTENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "FIELD_COUNT_LIMIT",
    "FIELD_NAME_LIMIT",
    "FIELD_VALUE_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "THREAD_NAME_LIMIT",
]

logger = logging.getLogger(__name__)

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
THREAD_NAME_LIMIT = 100

_SHORTENED = "-# Shortened to fit Discord. Ask a follow-up in the thread for more."
_COLOUR = discord.Colour.blurple()


@dataclass
class Reply:
    """What one Discord message shows (buttons are added by `views`)."""

    content: str
    embeds: list[discord.Embed] = field(default_factory=list)


def escape(text: str) -> str:
    """Paper and user text shown verbatim, not as Discord markdown, and unable to ping.

    Replies are sent with no allowed mentions already; defusing `@everyone` and `<@id>`
    in the text as well means a reply stays harmless wherever it is re-posted or quoted.
    """
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    # A trailing backslash would escape the ellipsis (or whatever follows the text).
    return cut.rstrip().rstrip("\\") + "…"


def sources_line(answer: Answer) -> str:
    return presenter.sources_line(answer)


def render_answer(answer: Answer, *, show_sources: bool = False) -> Reply:
    """The compact answer as content; the source list as an embed when shown."""
    beyond = f"\n-# {escape(shorten(answer.beyond_note, 400))}" if answer.beyond_note else ""
    if answer.synthesis_note:
        beyond += f"\n-# {escape(shorten(answer.synthesis_note, 200))}"
    bottom = _verdict(answer)
    if answer.status is not AnswerStatus.answered or not answer.sentences:
        message = escape(answer.message or "I have no answer to that.")
        extra = ""
        if answer.closest:
            extra = f"\n\n**{CLOSEST_HEADING}**\n" + "\n".join(
                f"• {escape(shorten(s.title, 200))}" + (f" ({s.year})" if s.year else "") for s in answer.closest)
        elif answer.further:
            extra = f"\n\n**{RELATED_HEADING}**\n" + "\n".join(
                f"• {_sentence(s.text, [c.n for c in s.citations])}" for s in answer.further)
        content = shorten(bottom + message + extra, CONTENT_LIMIT - len(beyond))
        embeds = [render_sources(answer)] if show_sources and answer.sources else []
        return Reply(content=content + beyond, embeds=embeds)
    footer = "-# " + " · ".join(p for p in (sources_line(answer), presenter.truecite_note(answer)) if p)
    footer += beyond
    content = bottom + _fit_sentences([_sentence(s.text, [c.n for c in s.citations]) for s in answer.sentences],
                                      footer, reserved=len(bottom))
    embeds = [render_sources(answer)] if show_sources and answer.sources else []
    return Reply(content=content, embeds=embeds)


def _sentence(text: str, numbers: list[int]) -> str:
    markers = "".join(f"[{n}]" for n in dict.fromkeys(numbers))
    return f"{escape(text)} {markers}".strip()


def _verdict(answer: Answer) -> str:
    """The bottom line, first in every reply: "**Mostly yes** — 3 papers support, 1 contradicts"."""
    head, rest = verdict_parts(answer)
    if not head:
        return ""
    return f"**{escape(head)}**" + (f" — {escape(shorten(rest, 600))}" if rest else "") + "\n\n"


def _fit_sentences(sentences: list[str], footer: str, *, reserved: int = 0) -> str:
    full = " ".join(sentences)
    if len(full) + len(footer) + 2 + reserved <= CONTENT_LIMIT:
        return f"{full}\n\n{footer}"
    budget = CONTENT_LIMIT - len(footer) - len(_SHORTENED) - 4 - reserved
    kept: list[str] = []
    for sentence in sentences:
        if len(" ".join([*kept, sentence])) > budget:
            break
        kept.append(sentence)
    text = " ".join(kept) if kept else shorten(sentences[0], budget)
    return f"{text}\n\n{footer}\n{_SHORTENED}"


def render_sources(answer: Answer) -> discord.Embed:
    """The numbered source list: linked title, authors · year · venue, takeaway, quoted evidence."""
    cited = set(answer.cited_numbers)
    sources = [s for s in answer.sources if s.n in cited] or answer.sources
    blocks = [_source_lines(s, stance_text(answer, s.n)) for s in sources]
    embed = discord.Embed(title=f"Sources ({len(sources)})", colour=_COLOUR)
    embed.description = _fit_blocks(blocks, DESCRIPTION_LIMIT, noun="source")
    return embed


def _source_lines(source: Source, stance: str = "") -> list[str]:
    """Lines of one source, most important first: later lines are the first to go."""
    title = escape(shorten(source.title, 300))
    url = _safe_url(source.url)
    heading = f"**[{source.n}] [{_link_text(title)}]({url})**" if url else f"**[{source.n}] {title}**"
    meta = " · ".join(p for p in (escape(presenter.byline(source.authors)), str(source.year or ""),
                                  escape(source.venue or ""), stance) if p)
    lines = [heading]
    if meta:
        lines.append(meta)
    if source.takeaway:
        lines.append(f"*Takeaway:* {escape(shorten(source.takeaway, 400))}")
    lines += [f"> “{escape(shorten(q.text, 400))}” (sentence {q.index + 1})" for q in source.evidence]
    return lines


def _link_text(text: str) -> str:
    """Brackets inside a link's text would end the link early."""
    return text.replace("[", "(").replace("]", ")")


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links, with characters that would break a markdown link percent-encoded."""
    if not url or not re.match(r"https?://\S+$", url):
        return None
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _fit_blocks(blocks: list[list[str]], limit: int, *, noun: str) -> str:
    """Join blocks within `limit`: trim each to a fair share first, then drop whole blocks."""
    sep = "\n\n"
    text = sep.join("\n".join(b) for b in blocks)
    if len(text) <= limit:
        return text
    reserve = 40  # for the "…and N more" line
    share = max(200, (limit - reserve) // max(1, len(blocks)) - len(sep))
    trimmed = [_trim_block(b, share) for b in blocks]
    out: list[str] = []
    used = 0
    for block in trimmed:
        cost = len(block) + (len(sep) if out else 0)
        if used + cost > limit - reserve:
            break
        out.append(block)
        used += cost
    left = len(blocks) - len(out)
    if left:
        out.append(f"…and {left} more {noun}{'s' if left != 1 else ''} not shown here.")
    return sep.join(out)


def _trim_block(lines: list[str], limit: int) -> str:
    kept = list(lines)
    while len(kept) > 1 and len("\n".join(kept)) > limit:
        kept.pop()
    return shorten("\n".join(kept), limit)


def render_hits(query: str, hits: list[SearchHit]) -> Reply:
    """Best-matching papers, one embed field each (title, year, takeaway, link)."""
    shown_query = escape(shorten(" ".join(query.split()), 200))
    if not hits:
        return Reply(content=f"No papers in the store match “{shown_query}”.")
    embed = discord.Embed(title=shorten(f"Papers matching “{shown_query}”", TITLE_LIMIT), colour=_COLOUR)
    reserve = 60  # the footer that counts what did not fit
    added = 0
    for hit in hits[:FIELD_COUNT_LIMIT]:
        name, value = _hit_field(hit)
        if len(embed) + len(name) + len(value) > EMBED_TOTAL_LIMIT - reserve:
            break
        embed.add_field(name=name, value=value, inline=False)
        added += 1
    if added < len(hits):
        embed.set_footer(text=f"{len(hits) - added} more not shown. Narrow the query to see them.")
    return Reply(content="", embeds=[embed])


def _hit_field(hit: SearchHit) -> tuple[str, str]:
    year = f" ({hit.year})" if hit.year else ""
    name = shorten(f"{hit.rank}. {escape(hit.title)}{year}", FIELD_NAME_LIMIT)
    url = _safe_url(hit.url)
    link = f"\n[Open paper]({url})" if url else ""
    takeaway = escape(hit.takeaway) if hit.takeaway else "No takeaway extracted."
    value = shorten(takeaway, FIELD_VALUE_LIMIT - len(link)) + link
    return name, value


def thread_name(question: str) -> str:
    """Discord thread names are plain text of at most 100 characters."""
    name = " ".join(question.split())
    return shorten(name, THREAD_NAME_LIMIT) or "Citewise"


_PAPER_LINE_LIMIT = 400
_MORE_RESERVE = 24  # "…and 9999 more" on its own line


def render_paper_reply(reply: PaperReply) -> str:
    """A `/paper` reply as message content: escaped, within `CONTENT_LIMIT`.

    Laid out from the reply's sections (`bot.presenter.paper_reply_sections`); when it is
    too long, every heading stays, each section keeps a fair share of its items first,
    and the items left out are counted per section ("…and K more") rather than cut mid-line.
    """
    sections = [
        (None if heading is None else shorten(escape(heading), _PAPER_LINE_LIMIT), [_paper_item(i) for i in items])
        for heading, items in presenter.paper_reply_sections(reply)
    ]
    full = "\n".join(escape(line) for line in presenter.paper_reply_text(reply).splitlines())
    if len(full) <= CONTENT_LIMIT:
        return full
    fixed = sum(len(h) + 1 + _MORE_RESERVE for h, _ in sections if h is not None)
    budget = max(0, CONTENT_LIMIT - fixed - _MORE_RESERVE)
    kept = [0] * len(sections)
    share = budget // max(1, len(sections))
    used = 0
    for pass_limit in (share, budget):  # a fair share each first, then what is left, in order
        for i, (_, items) in enumerate(sections):
            spent = sum(len(item) + 1 for item in items[: kept[i]])
            while kept[i] < len(items):
                cost = len(items[kept[i]]) + 1
                if spent + cost > pass_limit or used + cost > budget:
                    break
                kept[i] += 1
                spent += cost
                used += cost
    out: list[str] = []
    for (heading, items), n in zip(sections, kept):
        if heading is not None:
            out.append(heading)
        out += items[:n]
        if n < len(items):
            out.append(f"…and {len(items) - n} more")
    return shorten("\n".join(out), CONTENT_LIMIT)


def _paper_item(item: str) -> str:
    """One item (a paper and, on the next line, its takeaway), escaped and each line capped."""
    return "\n".join(shorten(escape(line), _PAPER_LINE_LIMIT) for line in item.splitlines())
