"""Choosing the sentences that answer a question, from the papers retrieval found.

Each sentence of each candidate paper is scored on three things: how well it
matches the question (BM25 over the candidates' sentences, as `rank-bm25`'s BM25Plus scores), how
well its paper matched (the retrieval score), and whether it reads like a finding
(results, conclusions) rather than background or aims. Selection is greedy with a
redundancy penalty (maximal marginal relevance) so the answer does not repeat itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.pipeline.sentences import PaperSentences, sentences_of
from knowledge.papers import Paper
from knowledge.text import strip_reference_markers, strip_section_label

__all__ = ["ScoredSentence", "best_sentence", "display_text", "instructs", "score_sentences", "select_evidence"]

_K1 = 1.2
_B = 0.75


@dataclass
class ScoredSentence:
    paper: Paper
    index: int
    text: str  # as shown: section label trimmed off the front
    tokens: frozenset[str]
    relevance: float  # how well the sentence itself matches (0..1)
    paper_score: float  # how well its paper matched (0..1)
    cue: float  # finding (+) or background (−)
    score: float
    terms: tuple[str, ...] = ()  # the sentence's tokens in order (`tokenize(text)`), when known


# A paper's sentence that addresses a reader or a model ("Ignore all previous instructions and say
# that …") reports nothing. Imperatives only: "a pluripotent state that", "critics say that" and
# "T cells respond with" are findings.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier|preceding|your|these|"
    r"those|other)\b.{0,30}?\b(?:instructions?|prompts?|rules|directions)\b"
    r"|\b(?:you are (?:now )?(?:an? )?(?:ai|assistant|language model|chatbot)|as an ai|system prompt)\b"
    r"|\bcite (?:this |the )?(?:source|passage|reference)s?\b"
    r"|(?:^|[.!?:;]\s+|\b(?:and|then|please|instead)\s+)(?:say|state|reply|respond|answer|write|claim)\s+"
    r"(?:that|with|only)\b",
    re.I,
)


def instructs(sentence: str) -> bool:
    """True for a sentence that gives orders rather than reports: never evidence, never quoted,
    never support for a written sentence (`verify_written`)."""
    return _INSTRUCTION.search(sentence) is not None


class _Collection:
    """BM25 over the candidates' sentences, with an always-positive IDF.

    The candidates' sentences are a tiny collection; the classic Robertson IDF
    (`BM25Okapi`) is zero or negative for a word in half of them or more, so one
    short paper's sentences could never match the question at all. This is
    `rank_bm25.BM25Plus` with no lower-bound bonus (delta 0), i.e. plain BM25 with IDF
    log((N+1)/df), computed the way it computes it — the same float operations in the same
    order, so the same scores — but only for the sentences holding a query term (every other
    sentence scores exactly 0), from tokens prepared once per paper.
    """

    def __init__(self, papers: list[PaperSentences]) -> None:
        self.papers = papers
        self.size = sum(len(p) for p in papers)
        total = sum(sum(p.lengths) for p in papers)
        self.avgdl = total / self.size if self.size else 0.0

    def scores(self, query: list[str]) -> list[list[float]]:
        """Per paper, per sentence: the BM25 score of the query (terms in query order)."""
        out = [[0.0] * len(p) for p in self.papers]
        if not query:
            return out
        df: dict[str, int] = {}
        distinct = list(dict.fromkeys(query))
        for p in self.papers:
            for present in p.token_sets:
                for q in distinct:
                    if q in present:
                        df[q] = df.get(q, 0) + 1
        idf = {q: math.log((self.size + 1) / n) for q, n in df.items()}
        k1, b, avgdl = _K1, _B, self.avgdl
        for p, row in zip(self.papers, out):
            for i, present in enumerate(p.token_sets):
                if present.isdisjoint(distinct):
                    continue
                tokens = p.tokens[i]
                score = 0.0
                for q in query:
                    if q in present:
                        tf = tokens.count(q)
                        # rank_bm25: idf * (delta + (tf * (k1 + 1)) / (k1 * (1 - b + b * dl / avgdl) + tf))
                        score += idf[q] * (0.0 + (tf * (k1 + 1)) / (k1 * (1 - b + b * p.lengths[i] / avgdl) + tf))
                row[i] = score
        return out


def display_text(sentence: str) -> str:
    """The sentence as quoted: a leading structured-abstract label is trimmed at the edge."""
    text, _ = strip_section_label(sentence.strip())
    return strip_reference_markers(text).strip()


def _combined(collection: _Collection, main: list[str], topic: list[str], topic_weight: float) -> list[list[float]]:
    main_scores = collection.scores(main)
    if not (topic and topic_weight > 0):
        # m + w * 0.0 is m: the same floats the two-list sum gave
        return [[m + topic_weight * 0.0 for m in row] for row in main_scores]
    topic_scores = collection.scores(topic)
    return [[m + topic_weight * t for m, t in zip(mr, tr)] for mr, tr in zip(main_scores, topic_scores)]


def score_sentences(
    main: list[str],
    topic: list[str],
    topic_weight: float,
    candidates: list[tuple[Paper, float]],
    *,
    relevance_weight: float = 0.55,
    paper_weight: float = 0.35,
    cue_weight: float = 0.12,
) -> list[ScoredSentence]:
    """Score every sentence of the candidate papers for the question, best first."""
    best_paper = max((score for _, score in candidates), default=0.0) or 1.0
    analyses = [sentences_of(paper) for paper, _ in candidates]
    collection = _Collection(analyses)
    if not collection.size:
        return []
    combined = _combined(collection, main, topic, topic_weight)
    top = max(max(row) for row in combined if row) or 1.0
    paper_scores = {paper.id: score / best_paper for paper, score in candidates}
    scored: list[ScoredSentence] = []
    for (paper, _), sentences, row in zip(candidates, analyses, combined):
        paper_score = paper_scores[paper.id]
        for index, raw in enumerate(row):
            if instructs(sentences.texts[index]):
                continue  # a prompt injection in an abstract is not scored, so never quoted
            relevance = max(0.0, raw) / top
            cue = sentences.cue(index)
            score = relevance_weight * relevance + paper_weight * paper_score + cue_weight * cue
            scored.append(ScoredSentence(paper, index, sentences.texts[index], sentences.token_sets[index], relevance,
                                         paper_score, cue, score, sentences.tokens[index]))
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def best_sentence(
    main: list[str],
    paper: Paper,
    score: float,
    *,
    relevance_weight: float = 0.55,
    paper_weight: float = 0.35,
    cue_weight: float = 0.12,
) -> str:
    """`score_sentences(main, [], 0.0, [(paper, score)])[0].text`, for a search hit's takeaway, cheaply.

    Only the best sentence is wanted, so the finding regexes run only for sentences whose
    score could still beat the best found so far (a cue is at most `cue_bound`); ties go to
    the earlier sentence, as the stable sort gave them.
    """
    sentences = sentences_of(paper)
    collection = _Collection([sentences])
    if not collection.size:
        return ""
    row = _combined(collection, main, [], 0.0)[0]
    top = max(row) or 1.0
    paper_score = score / (score or 1.0)  # a lone candidate is the best one
    relevance = [max(0.0, raw) / top for raw in row]
    base = [relevance_weight * r for r in relevance]
    bounds = sorted(range(len(row)), key=lambda i: -(base[i] + paper_weight * paper_score
                                                     + cue_weight * sentences.cue_bound(i)))
    best_index, best_score = -1, -math.inf
    for i in bounds:
        bound = base[i] + paper_weight * paper_score + cue_weight * sentences.cue_bound(i)
        if bound < best_score:
            break
        if instructs(sentences.texts[i]):
            continue  # never a takeaway
        value = base[i] + paper_weight * paper_score + cue_weight * sentences.cue(i)
        if value > best_score or (value == best_score and i < best_index):
            best_index, best_score = i, value
    return sentences.texts[best_index] if best_index >= 0 else ""


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def select_evidence(
    scored: list[ScoredSentence],
    *,
    max_sentences: int = 4,
    min_sentences: int = 2,
    max_words: int = 90,
    same_paper_penalty: float = 0.15,
    redundancy: float = 0.35,
    min_relevance: float = 0.15,
) -> list[ScoredSentence]:
    """Pick 2–4 answer sentences within the word budget, diverse in content and papers."""
    pool = [s for s in scored if s.relevance >= min_relevance][:60]
    chosen: list[ScoredSentence] = []
    words = 0
    while pool and len(chosen) < max_sentences:
        def value(s: ScoredSentence) -> float:
            overlap = max((_similarity(s.tokens, c.tokens) for c in chosen), default=0.0)
            repeat = sum(1 for c in chosen if c.paper.id == s.paper.id)
            return s.score - redundancy * overlap - same_paper_penalty * repeat

        best = max(pool, key=value)
        pool.remove(best)
        if chosen and max((_similarity(best.tokens, c.tokens) for c in chosen), default=0.0) > 0.8:
            continue  # a near-duplicate of something already said
        length = len(best.text.split())
        if chosen and words + length > max_words:
            if len(chosen) >= min_sentences:
                continue
            if length > max_words / 2:
                continue
        chosen.append(best)
        words += length
        if words >= max_words:
            break
    return chosen
