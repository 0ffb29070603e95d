"""Wording every renderer shares: the bottom line, stance labels, the sources line.

Renderers (terminal, Slack, Discord, web) decide markup; the words come from here once,
so the platforms cannot drift apart.
"""

from __future__ import annotations

from bot.models import Answer, Source, Stance, Verdict

__all__ = [
    "verdict_parts",
    "stance_label",
    "sources_line",
    "searching_line",
    "source_meta",
    "apology",
    "VERDICT_HEADS",
]

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


def sources_line(answer: Answer) -> str:
    n = answer.sources_cited
    return f"{n} source{'s' if n != 1 else ''} cited"


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


def searching_line(papers: int) -> str:
    """What shows while an answer is prepared."""
    return f"Searching {papers:,} papers…"


def source_meta(source: Source, *, max_authors: int = 3) -> str:
    """The line under a source's title, e.g. "Ana Ruiz, Tom Berg · 2019 · Journal of Bone Research"."""
    authors = ", ".join(source.authors[:max_authors]) + (" et al." if len(source.authors) > max_authors else "")
    year = str(source.year) if source.year else ""
    return " · ".join(part for part in (authors, year, source.venue or "") if part)


def apology(reference: str) -> str:
    """The one short apology for a failure on Citewise's side; the reference is in the log too."""
    return f"Sorry, something went wrong on my side. Please try again in a minute. (Reference: {reference})"
