"""TrueCite catches what an answer must never show: fabricated and misattributed citations."""

from __future__ import annotations

from bot.models import Answer, AnswerSentence, AnswerStatus, Citation, Evidence, Source
from bot.pipeline.verify import supports, verify_answer
from knowledge.store import PaperStore


def _source(n: int, paper_id: str, *evidence: tuple[int, str]) -> Source:
    return Source(
        n=n,
        id=paper_id,
        title=paper_id,
        takeaway=evidence[0][1] if evidence else "",
        evidence=[Evidence(index=i, text=t) for i, t in evidence],
    )


ASPIRIN = "In this cohort of 19,000 healthy adults, low-dose aspirin reduced ischemic stroke by 17%."
COFFEE = "Drinking two or more cups of coffee per day was associated with a 44% lower risk of liver cirrhosis."


def _answer(sentences: list[AnswerSentence], sources: list[Source]) -> Answer:
    return Answer(question="q", status=AnswerStatus.answered, sentences=sentences, sources=sources)


def test_a_correct_answer_passes_untouched(store: PaperStore) -> None:
    answer = _answer(
        [AnswerSentence(text=ASPIRIN, citations=[Citation(n=1, index=1)]),
         AnswerSentence(text=COFFEE, citations=[Citation(n=2, index=1)])],
        [_source(1, "aspirin-stroke", (1, ASPIRIN)), _source(2, "coffee-liver", (1, COFFEE))],
    )
    checked = verify_answer(answer, store.get_many)
    assert checked.verification.passed
    assert checked.text == answer.text and checked.sources == answer.sources
    assert checked.verification.checked_citations == 2


def test_a_citation_to_a_source_that_is_not_listed_is_removed(store: PaperStore) -> None:
    answer = _answer(
        [AnswerSentence(text=ASPIRIN, citations=[Citation(n=1), Citation(n=7)])],
        [_source(1, "aspirin-stroke")],
    )
    checked = verify_answer(answer, store.get_many)
    assert "[7]" not in checked.text and checked.text.endswith("[1]")
    assert [i.kind for i in checked.verification.removed] == ["unknown_source"]


def test_a_fabricated_paper_is_never_cited(store: PaperStore) -> None:
    answer = _answer(
        [AnswerSentence(text=ASPIRIN, citations=[Citation(n=1)]),
         AnswerSentence(text="Aspirin cures everything.", citations=[Citation(n=2)])],
        [_source(1, "aspirin-stroke"), Source(n=2, id="made-up-2024", title="A paper that does not exist")],
    )
    checked = verify_answer(answer, store.get_many)
    assert [s.id for s in checked.sources] == ["aspirin-stroke"]
    assert "cures everything" not in checked.text and "[2]" not in checked.text
    assert {i.kind for i in checked.verification.removed} == {"not_in_store"}


def test_a_misattributed_sentence_loses_its_citation_and_sources_are_renumbered(store: PaperStore) -> None:
    wrong = _answer(
        [AnswerSentence(text=COFFEE, citations=[Citation(n=1)]),
         AnswerSentence(text=ASPIRIN, citations=[Citation(n=2)])],
        [_source(1, "aspirin-stroke"), _source(2, "coffee-liver")],
    )
    checked = verify_answer(wrong, store.get_many)
    assert [i.kind for i in checked.verification.removed] == ["unsupported_sentence", "unsupported_sentence"]
    assert checked.status is AnswerStatus.no_evidence and checked.sources == [] and "[" not in checked.text

    mixed = _answer(
        [AnswerSentence(text=COFFEE, citations=[Citation(n=1)]),  # wrong paper
         AnswerSentence(text=ASPIRIN, citations=[Citation(n=1)])],  # right paper
        [_source(1, "aspirin-stroke"), _source(2, "coffee-liver")],
    )
    checked = verify_answer(mixed, store.get_many)
    assert checked.text == f"{ASPIRIN} [1]"
    assert [s.id for s in checked.sources] == ["aspirin-stroke"]  # the uncited coffee source is dropped


def test_misquoted_evidence_is_dropped(store: PaperStore) -> None:
    answer = _answer(
        [AnswerSentence(text=ASPIRIN, citations=[Citation(n=1)])],
        [_source(1, "aspirin-stroke", (1, ASPIRIN), (0, "Aspirin is harmless."), (99, ASPIRIN))],
    )
    checked = verify_answer(answer, store.get_many)
    assert [e.index for e in checked.sources[0].evidence] == [1]
    assert [i.kind for i in checked.verification.removed] == ["misquoted_evidence", "misquoted_evidence"]


def test_generated_paraphrase_is_supported_only_when_the_paper_says_it(store: PaperStore) -> None:
    paper = store.get("aspirin-stroke")
    assert paper is not None
    assert supports("low-dose aspirin reduced ischemic stroke by 17% in 19,000 healthy adults", paper)
    assert not supports("aspirin reduced heart attacks by 50% in children", paper)
    assert not supports("", paper)


def test_a_true_quote_that_does_not_address_the_question_is_removed(store: PaperStore) -> None:
    from bot.pipeline.concepts import key_concepts

    concepts = key_concepts("Does low-dose aspirin prevent stroke?", store.term_shares)
    answer = _answer(
        [AnswerSentence(text=ASPIRIN, citations=[Citation(n=1, index=1)]),
         AnswerSentence(text=COFFEE, citations=[Citation(n=2, index=1)])],
        [_source(1, "aspirin-stroke", (1, ASPIRIN)), _source(2, "coffee-liver", (1, COFFEE))],
    )
    checked = verify_answer(answer, store.get_many, concepts)
    assert [s.text for s in checked.sentences] == [ASPIRIN], "the coffee quote is true but off the question"
    assert [s.id for s in checked.sources] == ["aspirin-stroke"]
    kinds = [(i.kind, i.n) for i in checked.verification.removed]
    assert kinds == [("off_question", 2)]
    checks = {(c.n, c.found, c.relevant) for c in checked.verification.statements}
    assert checks == {(1, True, True), (2, True, False)}
