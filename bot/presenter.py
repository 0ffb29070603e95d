"""Wording every renderer shares: the bottom line, stance labels, the sources line, the
TrueCite note, author bylines, and the sections of a `/paper` reply.

Renderers (terminal, Slack, Discord, web) decide markup; the words come from here once,
so the platforms cannot drift apart.
"""

from __future__ import annotations

from bot.models import Answer, PaperRef, PaperReply, Source, Stance, Verdict

__all__ = [
    "verdict_parts",
    "stance_label",
    "sources_line",
    "stance_text",
    "verdict_line",
    "source_meta",
    "truecite_note",
    "byline",
    "plural",
    "paper_line",
    "paper_reply_sections",
    "paper_reply_text",
    "ReplySection",
    "VERDICT_HEADS",
    "RELATED_HEADING",
    "CLOSEST_HEADING",
]

# One section of a `/paper` reply: its heading ("Added 2 papers …:", None for none) and items,
# each item one paper or problem (a takeaway may follow on an indented second line).
ReplySection = tuple[str | None, list[str]]

VERDICT_HEADS: dict[Verdict, str] = {
    Verdict.yes: "Yes",
    Verdict.no: "No",
    Verdict.mixed: "Mixed evidence",
    Verdict.unclear: "Unclear",
    Verdict.not_addressed: "Not addressed in the store",
}

_STANCE_LABELS: dict[Stance, str] = {
    Stance.supports: "supports",
    Stance.contradicts: "contradicts",
    Stance.neutral: "neutral",
}


def verdict_parts(answer: Answer) -> tuple[str, str]:
    """The bottom line split into its bold head ("Mostly yes") and the rest ("3 papers support…").

    Empty strings when the answer has no bottom line (a rejected question, an old stored answer).
    """
    text = answer.verdict_text.strip()
    if not text:
        return "", ""
    head, sep, rest = text.partition(" — ")
    return (head, rest) if sep else (text, "")


def stance_label(stance: Stance) -> str:
    return _STANCE_LABELS[stance]


def plural(n: int, noun: str) -> str:
    """"1 source", "2 sources"."""
    return f"{n} {noun}{'s' if n != 1 else ''}"


def sources_line(answer: Answer) -> str:
    return f"{plural(answer.sources_cited, 'source')} cited"


RELATED_HEADING = "Related, not a direct answer"
CLOSEST_HEADING = "Closest papers (not cited as an answer)"


def stance_text(answer: Answer, n: int) -> str:
    """"Supports" for a source of the direct answer; "Related" for one cited only as related."""
    source = answer.source(n)
    if source is None:
        return ""
    direct = {c.n for s in answer.sentences for c in s.citations}
    if n not in direct:
        return "Related"
    return stance_label(source.stance).capitalize()


def verdict_line(answer: Answer) -> str:
    """The bottom line as plain text ("Mostly yes — 3 papers support, 1 contradicts")."""
    head, rest = verdict_parts(answer)
    return f"{head} — {rest}" if rest else head


def truecite_note(answer: Answer) -> str:
    """What TrueCite took out of the answer, or "" when it removed nothing."""
    removed = len(answer.verification.removed)
    return f"TrueCite removed {plural(removed, 'citation')} it could not verify" if removed else ""


def byline(authors: list[str], *, shown: int = 3) -> str:
    """The first few authors, "et al." for the rest."""
    return ", ".join(authors[:shown]) + (" et al." if len(authors) > shown else "")


def paper_line(paper: PaperRef) -> str:
    year = f" ({paper.year})" if paper.year else ""
    return f"{paper.title}{year}" + (f" — {paper.url}" if paper.url else "")


def paper_reply_sections(reply: PaperReply) -> list[ReplySection]:
    """The reply as headed sections, so a renderer can fit or format them without re-parsing text."""
    sections: list[ReplySection] = []
    if reply.kind in ("help", "error"):
        sections.append((None, reply.message.splitlines()))
    elif reply.kind == "search":
        if not reply.hits:
            sections.append((None, [f"No papers in the store match “{reply.query}”."]))
        else:
            items = []
            for hit in reply.hits:
                year = f" ({hit.year})" if hit.year else ""
                items.append(f"{hit.rank}. {hit.title}{year}" + (f"\n   {hit.takeaway}" if hit.takeaway else ""))
            sections.append((f"Best matches in the store for “{reply.query}”:", items))
    else:
        if reply.added:
            sections.append((f"Added {plural(len(reply.added), 'paper')} to the team's store:",
                             [f"• {paper_line(p)}" for p in reply.added]))
        if reply.existing:
            items = []
            for p in reply.existing:
                who = f" — added by {p.added_by}" if p.added_by else ""
                when = f" on {p.added_at[:10]}" if p.added_at else ""
                items.append(f"• {paper_line(p)}{who}{when}")
            sections.append((f"Already in the store ({len(reply.existing)}):", items))
        if reply.problems:
            problems = [f"• {p.ref}: {p.message}" for p in reply.problems]
            sections.append((f"Could not add ({len(reply.problems)}):", problems))
        if not sections and not reply.unread:
            sections.append((None, ["Nothing to add."]))
    if reply.unread:
        sections.append(("Could not read:", [f"• {line}" for line in reply.unread]))
    return sections


def paper_reply_text(reply: PaperReply) -> str:
    """The reply as plain lines: what a terminal prints and chat notifications show."""
    lines: list[str] = []
    for heading, items in paper_reply_sections(reply):
        if heading is not None:
            lines.append(heading)
        lines += items
    return "\n".join(lines)


def source_meta(source: Source, *, max_authors: int = 3) -> str:
    """The line under a source's title, e.g. "Ana Ruiz, Tom Berg · 2019 · Journal of Bone Research"."""
    year = str(source.year) if source.year else ""
    return " · ".join(part for part in (byline(source.authors, shown=max_authors), year, source.venue or "") if part)
