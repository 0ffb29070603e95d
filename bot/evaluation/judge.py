"""Judging one answer against a claim's gold papers and rationale sentences.

The checks re-derive everything from the store instead of trusting the answer's own
verification report, so a bug in TrueCite cannot make the figures look better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.evaluation.scifact import Claim
from bot.models import Answer, AnswerStatus
from bot.truecite import supports
from knowledge.papers import Paper
from knowledge.text import normalise_for_match

__all__ = ["Judgement", "judge_answer", "quoted_sentences"]

PaperLookup = Callable[[list[str]], dict[str, Paper]]


@dataclass(frozen=True)
class Judgement:
    """What one answer did for one claim."""

    answered: bool
    gold_cited: bool  # a gold evidence paper is among the cited sources
    rationale_quoted: bool  # a gold rationale sentence of that paper is quoted or cited
    verified: bool  # every citation resolves and every quote is its paper's sentence
    words: int  # words in the compact answer (without the [n] markers)


def quoted_sentences(answer: Answer) -> dict[str, set[int]]:
    """Paper id → sentence indices the answer cites in its text or quotes as evidence."""
    by_n = {s.n: s for s in answer.sources}
    quoted: dict[str, set[int]] = {s.id: {e.index for e in s.evidence} for s in answer.sources}
    for sentence in [*answer.sentences, *answer.further]:
        for citation in sentence.citations:
            source = by_n.get(citation.n)
            if source is not None and citation.index is not None:
                quoted[source.id].add(citation.index)
    return quoted


def _verified(answer: Answer, lookup: PaperLookup) -> bool:
    """Every [n] names a listed source in the store, and every quoted text is its sentence."""
    if not answer.verification.passed:
        return False
    papers = lookup([s.id for s in answer.sources])
    by_n = {s.n: s for s in answer.sources}

    def is_sentence(text: str, paper: Paper, index: int | None) -> bool:
        if index is None:  # generated text: it must still be said by the paper
            return supports(text, paper)
        if not 0 <= index < len(paper.sentences):
            return False
        return normalise_for_match(text) in normalise_for_match(paper.sentences[index])

    for sentence in [*answer.sentences, *answer.further]:
        if not sentence.citations:
            return False
        for citation in sentence.citations:
            source = by_n.get(citation.n)
            if source is None or source.id not in papers:
                return False
            if not is_sentence(sentence.text, papers[source.id], citation.index):
                return False
    for source in answer.sources:
        if source.id not in papers:
            return False
        if not all(is_sentence(e.text, papers[source.id], e.index) for e in source.evidence):
            return False
    return True


def judge_answer(claim: Claim, answer: Answer, lookup: PaperLookup) -> Judgement:
    answered = answer.status is AnswerStatus.answered
    quoted = quoted_sentences(answer) if answered else {}
    gold = set(claim.rationales)
    cited_gold = gold & set(quoted)
    rationale = any(quoted[p] & claim.rationale_sentences(p) for p in cited_gold)
    words = sum(len(s.text.split()) for s in answer.sentences)
    return Judgement(
        answered=answered,
        gold_cited=bool(cited_gold),
        rationale_quoted=rationale,
        verified=_verified(answer, lookup) if answered else True,
        words=words,
    )
