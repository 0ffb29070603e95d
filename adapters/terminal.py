"""Rendering answers and search results for a terminal, shaped like the reference page."""

from __future__ import annotations

import textwrap

from bot import presenter
from bot.models import Answer, AnswerStatus, SearchHit, Source
from bot.presenter import CLOSEST_HEADING, RELATED_HEADING, stance_text, verdict_line

__all__ = ["render_answer", "render_hits", "render_sources_line"]


def render_sources_line(answer: Answer) -> str:
    return presenter.sources_line(answer)


def _wrap(text: str, indent: str = "", width: int = 96, first: str | None = None) -> str:
    return textwrap.fill(text, width=width, initial_indent=first if first is not None else indent, subsequent_indent=indent)


def _source_lines(source: Source, stance: str = "") -> list[str]:
    meta = " · ".join(part for part in (presenter.source_meta(source), stance) if part)
    lines = ["", f"[{source.n}] {source.title}"]
    if meta:
        lines.append(f"    {meta}")
    if source.url:
        lines.append(f"    {source.url}")
    if source.takeaway:
        lines.append(_wrap(f"Takeaway: {source.takeaway}", indent="    "))
    for quote in source.evidence:
        lines.append(_wrap(f"“{quote.text}” (sentence {quote.index + 1})", indent="      > "))
    return lines


def render_answer(answer: Answer, *, show_sources: bool = True, show_further: bool = True) -> str:
    beyond = ["", _wrap(f"Note: {answer.beyond_note}")] if answer.beyond_note else []
    if answer.synthesis_note:
        beyond += ["", _wrap(f"Note: {answer.synthesis_note}")]
    bottom = [_wrap(verdict_line(answer)), ""] if answer.verdict_text else []
    if answer.status is not AnswerStatus.answered:
        lines = [*bottom, _wrap(answer.message or "No answer."), *beyond]
        if show_sources and answer.closest:
            lines += ["", CLOSEST_HEADING]
            for source in answer.closest:
                lines += _source_lines(source)
        return "\n".join(lines)
    direct = ["Direct answer", "", _wrap(answer.text), ""] if answer.sentences else [_wrap(answer.message), ""] if answer.message else []
    lines = [*bottom, *direct, render_sources_line(answer), *beyond]
    for section in answer.sections if show_sources else []:
        lines += ["", section.heading, "", _wrap(" ".join(s.render() for s in section.sentences))]
    if show_further and answer.further:
        lines += ["", RELATED_HEADING]
        lines += [_wrap(s.render(), indent="    ", first="  • ") for s in answer.further]
    if show_sources and answer.sources:
        lines += ["", "Sources used in this answer"]
        for source in answer.sources:
            lines += _source_lines(source, stance_text(answer, source.n))
    if not answer.verification.passed:
        lines += ["", f"{presenter.truecite_note(answer)}."]
    return "\n".join(lines)


def render_hits(hits: list[SearchHit]) -> str:
    if not hits:
        return "No papers in the store match that query."
    lines: list[str] = []
    for hit in hits:
        year = f" ({hit.year})" if hit.year else ""
        lines.append(f"{hit.rank:>2}. {hit.title}{year}  [id {hit.id}, score {hit.score:.2f}]")
        if hit.takeaway:
            lines.append(_wrap(hit.takeaway, indent="      "))
    return "\n".join(lines)
