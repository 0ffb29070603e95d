"""Judging one answer against a claim's gold papers and rationale sentences.

The checks re-derive everything from the store instead of trusting the answer's own
verification report, so a bug in TrueCite cannot make the figures look better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.models import Answer, AnswerStatus, Stance, Verdict
from bot.pipeline.verify import supports
from evaluation.scifact import Claim
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
    # What the reader sees first, the direct answer (SciFact open-setting measures):
    statements: int = 0  # direct-answer statements
    statements_correct: int = 0  # … that are a gold rationale sentence of the paper they cite
    sentences_predicted: int = 0  # distinct (paper, sentence) pairs cited in the direct answer
    sentences_correct: int = 0
    papers_predicted: int = 0  # distinct papers cited in the direct answer
    papers_correct: int = 0  # … that are gold evidence papers
    labels_predicted: int = 0  # direct-answer papers with stance supports/contradicts
    labels_correct: int = 0  # … gold evidence with that label
    verdict: str = ""
    verdict_correct: bool | None = None  # claims whose evidence agrees: SUPPORT ↔ yes, CONTRADICT ↔ no


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


_LABEL_OF = {Stance.supports: "SUPPORT", Stance.contradicts: "CONTRADICT"}
_VERDICT_OF = {"SUPPORT": Verdict.yes, "CONTRADICT": Verdict.no}


def _direct(claim: Claim, answer: Answer) -> dict[str, object]:
    """The open-setting counts for the direct answer alone (not "More from these papers")."""
    by_n = {s.n: s for s in answer.sources}
    statements = correct = 0
    pairs: set[tuple[str, int]] = set()
    papers: set[str] = set()
    for sentence in answer.sentences:
        statements += 1
        hit = False
        for citation in sentence.citations:
            source = by_n.get(citation.n)
            if source is None:
                continue
            papers.add(source.id)
            if citation.index is not None:
                pairs.add((source.id, citation.index))
                hit = hit or citation.index in claim.rationale_sentences(source.id)
        correct += hit
    labelled = [by_n[n] for n in {c.n for s in answer.sentences for c in s.citations} if n in by_n]
    predictions = [(s.id, _LABEL_OF[s.stance]) for s in labelled if s.stance in _LABEL_OF]
    expected = _VERDICT_OF.get(claim.label or "")
    return {
        "statements": statements,
        "statements_correct": correct,
        "sentences_predicted": len(pairs),
        "sentences_correct": sum(1 for p, i in pairs if i in claim.rationale_sentences(p)),
        "papers_predicted": len(papers),
        "papers_correct": len(papers & set(claim.rationales)),
        "labels_predicted": len(predictions),
        "labels_correct": sum(1 for p, label in predictions if claim.labels.get(p) == label),
        "verdict": answer.verdict.value,
        "verdict_correct": None if expected is None else answer.verdict is expected,
    }


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
        **_direct(claim, answer),  # type: ignore[arg-type]
    )
