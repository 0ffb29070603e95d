"""TrueCite: check every citation of an answer against the papers it cites.

Usable for any answer, extractive or generated. Each direct-answer statement gets two
checks, both recorded: *found* (its paper says it) and *relevant* (it, read with its paper's
title, covers the question's key concepts — `concepts.Concepts.addressed_by`). The rules:
- every `[n]` must point to a listed source, and every source to a paper in the store;
- every cited sentence must be supported by the text of the paper it cites:
  found in it verbatim (extractive answers), or — for generated text — nearly all of
  its content words present in one sentence of that paper;
- every quoted evidence sentence must be the paper's sentence at that index.
Whatever fails is removed, never shown; a sentence left without citations is dropped,
sources left uncited are dropped, and the rest are renumbered by first appearance.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.models import (
    Answer,
    AnswerSentence,
    AnswerStatus,
    Citation,
    Source,
    StatementCheck,
    Verification,
    VerificationIssue,
)
from bot.pipeline.concepts import Concepts
from bot.pipeline.sentences import sentences_of
from knowledge.papers import Paper
from knowledge.text import normalise_for_match, tokenize

__all__ = ["verify_answer", "supports", "PaperLookup"]

PaperLookup = Callable[[list[str]], dict[str, Paper]]


def supports(sentence: str, paper: Paper, *, min_containment: float = 0.85) -> bool:
    """Whether `paper`'s own text says `sentence`."""
    needle = normalise_for_match(sentence)
    if not needle:
        return False
    haystack = normalise_for_match(" ".join([paper.title, *paper.sentences]))
    if needle in haystack:
        return True
    words = set(tokenize(sentence))
    if len(words) < 4:
        return False
    for candidate in [paper.title, *paper.sentences]:
        have = set(tokenize(candidate))
        if len(words & have) / len(words) >= min_containment:
            return True
    return False


def _quote_matches(text: str, index: int, paper: Paper) -> bool:
    if not 0 <= index < len(paper.sentences):
        return False
    needle = normalise_for_match(text)
    return bool(needle) and needle in normalise_for_match(paper.sentences[index])


def addresses(sentence: str, paper: Paper, concepts: Concepts) -> bool:
    """Whether `sentence`, read with `paper`'s title as context, is about the question."""
    return concepts.addressed_by(set(tokenize(sentence)) | sentences_of(paper).title_tokens)


def verify_answer(answer: Answer, lookup: PaperLookup, concepts: Concepts | None = None) -> Answer:
    """Return a copy of `answer` holding only verified citations, with what was checked.

    With `concepts`, direct-answer statements must also address them; "More from these
    papers" is labelled as related and only has to be found.
    """
    report = Verification()
    sources = {s.n: s for s in answer.sources}
    papers = lookup([s.id for s in answer.sources])
    missing = {s.n for s in answer.sources if s.id not in papers}
    for n in sorted(missing):
        report.removed.append(
            VerificationIssue(kind="not_in_store", n=n, detail=f"source [{n}] ({sources[n].id}) is not in the paper store")
        )

    def remove(kind: str, n: int, why: str, text: str) -> None:
        report.removed.append(VerificationIssue(kind=kind, n=n, detail=f"[{n}] {why}: {text[:120]}"))

    def check(sentences: list[AnswerSentence], *, direct: bool) -> list[AnswerSentence]:
        kept: list[AnswerSentence] = []
        for sentence in sentences:
            report.checked_sentences += 1
            good: list[Citation] = []
            for citation in sentence.citations:
                report.checked_citations += 1
                source = sources.get(citation.n)
                if source is None:
                    report.removed.append(
                        VerificationIssue(kind="unknown_source", n=citation.n, detail=f"[{citation.n}] is not a listed source")
                    )
                    continue
                if citation.n in missing:
                    continue
                paper = papers[source.id]
                found = supports(sentence.text, paper)
                relevant = not direct or concepts is None or addresses(sentence.text, paper, concepts)
                if direct:
                    report.statements.append(
                        StatementCheck(text=sentence.text[:300], n=citation.n, found=found, relevant=relevant)
                    )
                if not found:
                    remove("unsupported_sentence", citation.n, f"({source.id}) does not say", sentence.text)
                    continue
                if not relevant:
                    remove("off_question", citation.n, f"({source.id}) does not address the question", sentence.text)
                    continue
                good.append(citation)
            if good:
                kept.append(sentence.model_copy(update={"citations": good}))
        return kept

    sentences = check(answer.sentences, direct=True)
    further = check(answer.further, direct=False)

    # Renumber by first appearance; drop uncited sources; re-check quoted evidence.
    order: dict[int, int] = {}
    for sentence in [*sentences, *further]:
        for c in sentence.citations:
            order.setdefault(c.n, len(order) + 1)
    renumbered: list[Source] = []
    for old_n, new_n in order.items():
        source = sources[old_n]
        paper = papers[source.id]
        evidence = []
        for quote in source.evidence:
            if _quote_matches(quote.text, quote.index, paper):
                evidence.append(quote)
            else:
                report.removed.append(
                    VerificationIssue(
                        kind="misquoted_evidence", n=old_n, detail=f"sentence {quote.index} of {source.id} is not the quoted text"
                    )
                )
        takeaway = source.takeaway if source.takeaway and supports(source.takeaway, paper) else (
            evidence[0].text if evidence else ""
        )
        renumbered.append(source.model_copy(update={"n": new_n, "evidence": evidence, "takeaway": takeaway}))

    def renumber(items: list[AnswerSentence]) -> list[AnswerSentence]:
        return [
            s.model_copy(update={"citations": [c.model_copy(update={"n": order[c.n]}) for c in s.citations]})
            for s in items
        ]

    update: dict[str, object] = {
        "sentences": renumber(sentences),
        "further": renumber(further),
        "sources": renumbered,
        "verification": report,
    }
    if answer.status is AnswerStatus.answered and not sentences and (answer.sentences or not further):
        update["status"] = AnswerStatus.no_evidence
        update["further"] = []
        update["sources"] = []
        update["message"] = "I found papers on this, but none of their sentences could be verified as an answer."
    return answer.model_copy(update=update)
