"""Choosing the direct answer: the few sentences that are evidence for the question.

Every sentence of the candidate papers already has a BM25 relevance, its paper's retrieval
score and a finding cue (`evidence.score_sentences`). Here each gets a handful more signals —
how much of the question it and its title cover, weighted by how specific each word is;
phrase overlap; where it sits in its paper — and a logistic model turns them into the
probability that it is a rationale sentence. The weights are fitted on SciFact's tuning
claims only (`python -m evaluation.fit`), no model file and nothing downloaded.

A statement is shown only when it is likely enough *and* addresses the question's key
concepts (`concepts.Concepts.addressed_by`); one strong statement beats four weak ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.pipeline.concepts import Concepts, TermShares
from bot.pipeline.evidence import ScoredSentence
from bot.pipeline.statement_weights import INTERCEPT, WEIGHTS
from knowledge.papers import Paper
from knowledge.text import tokenize

__all__ = ["Statement", "FEATURES", "rate_statements", "choose_statements", "THRESHOLD"]

# The probability a fresh question's first statement needs (tuned on the tuning claims: below it,
# the top sentence is more often not evidence than evidence).
THRESHOLD = 0.22
# A further statement (another paper) needs this share of the first one's probability: relative,
# because in a small store every probability is lower (its BM25 scores are), not their order.
SECOND_SHARE = 0.35
MAX_STATEMENTS = 3
_BM25_SATURATION = 2.2  # k1 + 1 with the index's k1 = 1.2: a term's score approaches idf × this

FEATURES = (
    "relevance", "paper_score", "cue", "covers_sentence", "covers_with_title", "covers_paper",
    "best_in_paper", "paper_rank", "top_retrieval", "position", "is_last", "length", "question_length",
    "phrase_overlap", "addresses", "missing_concepts",
)


@dataclass
class Statement:
    """A candidate sentence with its probability of being evidence and whether it is on the question."""

    sentence: ScoredSentence
    probability: float
    addresses: bool


def _covered(weights: dict[str, float], tokens: set[str] | frozenset[str], total: float) -> float:
    return sum(w for t, w in weights.items() if t in tokens) / total


def _features(
    s: ScoredSentence,
    *,
    weights: dict[str, float],
    total: float,
    title_tokens: dict[str, frozenset[str]],
    paper_tokens: dict[str, frozenset[str]],
    best_relevance: dict[str, float],
    rank: dict[str, int],
    top_score: float,
    question_pairs: set[tuple[str, str]],
    question_terms: int,
    concepts: Concepts,
) -> list[float]:
    title = title_tokens[s.paper.id]
    with_title = s.tokens | title
    count = len(s.paper.sentences)
    words = tokenize(s.text)
    pairs = set(zip(words, words[1:]))
    return [
        s.relevance,
        s.paper_score,
        s.cue,
        _covered(weights, s.tokens, total),
        _covered(weights, with_title, total),
        _covered(weights, paper_tokens[s.paper.id], total),
        s.relevance / (best_relevance[s.paper.id] or 1.0),
        1.0 / (rank[s.paper.id] + 1),
        top_score,
        s.index / max(1, count - 1),
        float(s.index == count - 1),
        min(len(s.text), 400) / 400,
        question_terms / 20,
        len(pairs & question_pairs) / max(1, len(question_pairs)),
        float(concepts.addressed_by(with_title)),
        float(len(concepts.missing(with_title))),
    ]


def statement_features(
    question_terms: list[str],
    scored: Sequence[ScoredSentence],
    candidates: Sequence[tuple[Paper, float]],
    concepts: Concepts,
    shares: TermShares,
) -> list[list[float]]:
    """One feature row per scored sentence (same order), as the weights were fitted on."""
    share, papers = shares(question_terms)
    weights = {t: max(0.1, -math.log(max(share.get(t, 0.0), 0.5 / max(papers, 1)))) for t in question_terms}
    total = sum(weights.values()) or 1.0
    title_tokens = {p.id: frozenset(tokenize(p.title)) for p, _ in candidates}
    paper_tokens = {p.id: frozenset(tokenize(p.title + " " + p.abstract)) for p, _ in candidates}
    rank = {p.id: i for i, (p, _) in enumerate(candidates)}
    best_relevance: dict[str, float] = {}
    for s in scored:
        best_relevance[s.paper.id] = max(best_relevance.get(s.paper.id, 0.0), s.relevance)
    # The best paper's BM25 score against the most the query could score (every term saturated):
    # how well anything matched at all, in a form that does not grow with the store's size.
    best = max((score for _, score in candidates), default=0.0)
    ceiling = sum(_BM25_SATURATION * math.log(1.0 + (papers - share.get(t, 0.0) * papers + 0.5)
                                              / (share.get(t, 0.0) * papers + 0.5)) for t in question_terms)
    top_score = best / ceiling if ceiling > 0 else 0.0
    question_pairs = set(zip(question_terms, question_terms[1:]))
    return [
        _features(s, weights=weights, total=total, title_tokens=title_tokens, paper_tokens=paper_tokens,
                  best_relevance=best_relevance, rank=rank, top_score=top_score, question_pairs=question_pairs,
                  question_terms=len(question_terms), concepts=concepts)
        for s in scored
    ]


def _probability(row: list[float]) -> float:
    z = INTERCEPT + sum(w * (x - mean) / sd for x, (mean, sd, w) in zip(row, WEIGHTS))
    return 1.0 / (1.0 + math.exp(-z))


def rate_statements(
    question_terms: list[str],
    scored: Sequence[ScoredSentence],
    candidates: Sequence[tuple[Paper, float]],
    concepts: Concepts,
    shares: TermShares,
) -> list[Statement]:
    """Every scored sentence with its probability and concept check, most likely first."""
    rows = statement_features(question_terms, scored, candidates, concepts, shares)
    addresses = FEATURES.index("addresses")
    rated = [Statement(s, _probability(row), bool(row[addresses])) for s, row in zip(scored, rows)]
    rated.sort(key=lambda st: st.probability, reverse=True)
    return rated


def choose_statements(rated: Sequence[Statement], *, strict: bool = True) -> list[Statement]:
    """The direct answer: on-question statements, the first likely enough, the rest close to it.

    `strict=False` (a follow-up inside a thread, or one pointed at a source) keeps the concept
    check but not the probability floor: the thread already established the topic.
    """
    on_question = [st for st in rated if st.addresses]
    if not on_question:
        return []
    first = on_question[0]
    if strict and first.probability < THRESHOLD:
        return []
    chosen = [first]
    papers = {first.sentence.paper.id}
    for st in on_question[1:]:
        if len(chosen) >= MAX_STATEMENTS:
            break
        if st.sentence.paper.id in papers:
            continue
        if st.probability < SECOND_SHARE * first.probability:
            continue
        chosen.append(st)
        papers.add(st.sentence.paper.id)
    return chosen
