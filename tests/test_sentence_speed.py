"""The fast evidence paths give exactly what the per-sentence code they replaced gave.

Sentence work is now cached per paper, BM25 is computed without `rank_bm25`, the cue regexes
run on lower-cased ASCII without re.I, and a search hit's takeaway stops scoring once no
sentence can win. Each is checked here against the plain computation, number for number.
"""

from __future__ import annotations

import pytest
from rank_bm25 import BM25Plus

from bot.pipeline import sentences
from bot.pipeline.evidence import _Collection, best_sentence, score_sentences
from knowledge.papers import Paper
from knowledge.text import (
    strip_reference_markers,
    strip_section_label,
    tokenize,
    tokenize_each,
)
from tests.papers import make_papers

TEXTS = [
    "RESULTS: Vitamin D supplementation reduced fractures (HR 0.8, 95% CI 0.7-0.9) [3, 4].",
    "We aimed to determine whether statins affect dementia risk.",
    "Café-au-lait spots were associated with NF1; naïve T cells did not respond.",
    "Here we show ſignificantly more, p<0.05, in the Kelvin \u212a group.",
    "Ünïcödé ΣΑΣ words and IL-6 levels; THUS the effect was caused by it.",
    "",
    "Short.",
    "Little is known about it; it remains unclear whether the data suggest an effect.",
]


def _papers() -> list[Paper]:
    papers = make_papers()
    papers.append(Paper(id="mixed", title="Ünïcödé and café trials", sentences=[t for t in TEXTS if t]))
    return papers


def test_tokenize_each_is_tokenize_of_each() -> None:
    texts = [*TEXTS, "a\nb line break", "x"]
    assert tokenize_each(texts) == [tokenize(t) for t in texts]
    assert tokenize_each([]) == []


@pytest.mark.parametrize("text", TEXTS)
def test_lower_case_cue_patterns_agree_with_re_i(text: str) -> None:
    for pattern, lower in ((sentences.FINDING_CUES, sentences._FINDING_LOWER),
                           (sentences.BACKGROUND_CUES, sentences._BACKGROUND_LOWER)):
        assert sentences._has(text, pattern, lower) == (pattern.search(text) is not None)


def test_collection_scores_are_bm25plus_scores() -> None:
    papers = _papers()
    analyses = [sentences.sentences_of(p) for p in papers]
    docs = [list(t) or ["\u2205"] for a in analyses for t in a.tokens]
    reference = BM25Plus(docs, k1=1.2, b=0.75, delta=0.0)
    query = ["vitamin", "d", "fractur", "statin", "dementia", "caf", "nf1", "vitamin"]
    ours = [score for row in _Collection(analyses).scores(query) for score in row]
    assert ours == [float(s) for s in reference.get_scores(query)]


def test_analysis_matches_the_per_sentence_reading() -> None:
    for paper in _papers():
        analysis = sentences.sentences_of(paper)
        assert analysis.paper_tokens == frozenset(tokenize(paper.title + " " + paper.abstract))
        assert analysis.title_tokens == frozenset(tokenize(paper.title))
        for index, raw in enumerate(paper.sentences):
            text, _ = strip_section_label(raw)
            shown = strip_reference_markers(text).strip()
            assert analysis.texts[index] == shown
            assert list(analysis.tokens[index]) == tokenize(shown)
            assert analysis.cue_bound(index) >= analysis.cue(index)


def test_best_sentence_is_the_top_of_score_sentences() -> None:
    queries = [["vitamin", "d", "fractur"], ["statin", "dementia"], ["caf", "nf1"], [], ["zzz"]]
    for paper in _papers():
        for query in queries:
            for score in (0.0, 3.5):
                sentences._CACHE._items.clear()  # cues unread: the bound must do the pruning
                scored = score_sentences(query, [], 0.0, [(paper, score)])
                expected = scored[0].text if scored else ""
                assert best_sentence(query, paper, score) == expected
