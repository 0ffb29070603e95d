"""Assembling an extractive `Answer` from chosen evidence sentences.

Every answer sentence is a sentence of the paper it cites (trimmed only of a
leading section label), so it needs no model and cannot put words in a paper's
mouth. Sources are numbered by first appearance in the text.
"""

from __future__ import annotations

from bot.models import Answer, AnswerSentence, AnswerStatus, Citation, Evidence, Source
from bot.pipeline.evidence import ScoredSentence
from bot.pipeline.synthesize import SynthesisRequest

__all__ = ["compose_answer", "ExtractiveSynthesizer"]


class ExtractiveSynthesizer:
    """Quotes the chosen sentences as the answer: needs no model, cannot misquote."""

    def synthesize(self, request: SynthesisRequest) -> Answer:
        return compose_answer(question=request.question, chosen=request.statements, further=request.related,
                              scored=request.scored)


def compose_answer(
    *,
    question: str,
    chosen: list[ScoredSentence],
    further: list[ScoredSentence],
    scored: list[ScoredSentence],
    evidence_per_source: int = 3,
) -> Answer:
    numbers: dict[str, int] = {}
    for s in [*chosen, *further]:
        numbers.setdefault(s.paper.id, len(numbers) + 1)

    def sentence(s: ScoredSentence) -> AnswerSentence:
        return AnswerSentence(text=s.text, citations=[Citation(n=numbers[s.paper.id], index=s.index)])

    best_by_paper: dict[str, list[ScoredSentence]] = {}
    for s in scored:
        if s.paper.id in numbers:
            best_by_paper.setdefault(s.paper.id, []).append(s)

    sources: list[Source] = []
    used = [*chosen, *further]
    for paper_id, n in numbers.items():
        ranked = best_by_paper.get(paper_id, [])
        paper = next(s.paper for s in used if s.paper.id == paper_id)
        cited_here = [s for s in used if s.paper.id == paper_id]
        conclusive = sorted(ranked, key=lambda s: s.score + 0.15 * s.cue, reverse=True)
        takeaway = conclusive[0].text if conclusive else cited_here[0].text
        quotes: dict[int, str] = {s.index: s.text for s in cited_here}
        for s in ranked:
            if len(quotes) >= evidence_per_source:
                break
            if s.relevance >= 0.2:
                quotes.setdefault(s.index, s.text)
        sources.append(
            Source(
                n=n,
                id=paper.id,
                title=paper.title,
                authors=paper.authors,
                year=paper.year,
                venue=paper.venue,
                url=paper.link,
                takeaway=takeaway,
                evidence=[Evidence(index=i, text=t) for i, t in sorted(quotes.items())],
            )
        )
    return Answer(
        question=question,
        status=AnswerStatus.answered,
        sentences=[sentence(s) for s in chosen],
        further=[sentence(s) for s in further],
        sources=sources,
    )
