"""Choosing the sentences that answer a question, from the papers retrieval found.

Each sentence of each candidate paper is scored on three things: how well it
matches the question (BM25 over the candidates' sentences, with `rank-bm25`), how
well its paper matched (the retrieval score), and whether it reads like a finding
(results, conclusions) rather than background or aims. Selection is greedy with a
redundancy penalty (maximal marginal relevance) so the answer does not repeat itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rank_bm25 import BM25Plus

from knowledge.papers import Paper
from knowledge.text import strip_reference_markers, strip_section_label, tokenize

__all__ = ["ScoredSentence", "score_sentences", "select_evidence", "display_text", "instructs"]

_FINDING_LABELS = {"RESULTS", "RESULT", "CONCLUSIONS", "CONCLUSION", "FINDINGS", "INTERPRETATION",
                   "CONCLUSIONS AND RELEVANCE", "PRINCIPAL FINDINGS", "SIGNIFICANCE", "DISCUSSION"}
_BACKGROUND_LABELS = {"BACKGROUND", "INTRODUCTION", "OBJECTIVE", "OBJECTIVES", "AIM", "AIMS", "PURPOSE", "CONTEXT",
                      "IMPORTANCE", "METHODS", "METHOD", "MATERIALS AND METHODS", "DESIGN", "SETTING", "PARTICIPANTS",
                      "PATIENTS", "INTERVENTIONS", "INTERVENTION", "MAIN OUTCOME MEASURES", "MEASUREMENTS",
                      "STUDY DESIGN", "FUNDING", "TRIAL REGISTRATION", "RATIONALE"}
_FINDING_CUES = re.compile(
    r"\b(we (?:found|show|showed|demonstrate|demonstrated|report|observed|identify|identified|conclude)|"
    r"(?:results|data|findings|these) (?:show|showed|suggest|suggested|indicate|indicated|demonstrate|reveal)|"
    r"was associated|were associated|is associated|are associated|associated with|significantly|"
    r"reduc(?:ed|es|tion)|increas(?:ed|es)|decreas(?:ed|es)|improv(?:ed|es)|did not|does not|no significant|"
    r"odds ratio|hazard ratio|relative risk|confidence interval|p\s*[<=]|\bci\b|in conclusion|thus|therefore|"
    r"suggest(?:s|ing)? that|indicat(?:e|es|ing) that|required for|is essential|led to|leads to|caused|causes)\b",
    re.I,
)
_BACKGROUND_CUES = re.compile(
    r"\b(we (?:aimed|sought|investigated|examined|hypothesi[sz]ed|evaluated|assessed|studied|performed|used)|"
    r"the (?:aim|purpose|objective|goal) of|this study (?:aimed|was designed|examines|investigates)|"
    r"to (?:investigate|determine|examine|assess|evaluate|explore)|little is known|remains? (?:unclear|unknown)|"
    r"is not (?:well )?understood|here we|in this (?:study|paper|review)|(?:has|have) been (?:debated|proposed|suggested)|"
    r"is (?:debated|controversial)|unclear whether|^whether)\b",
    re.I,
)


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


def _bm25(docs: list[list[str]], *, k1: float = 1.2, b: float = 0.75) -> BM25Plus:
    """A BM25 scorer over the candidates' sentences, with an always-positive IDF.

    The candidates' sentences are a tiny collection; the classic Robertson IDF
    (`BM25Okapi`) is zero or negative for a word in half of them or more, so one
    short paper's sentences could never match the question at all. `BM25Plus`
    with no lower-bound bonus (delta 0) is plain BM25 with IDF log((N+1)/df).
    """
    return BM25Plus([doc or ["\u2205"] for doc in docs], k1=k1, b=b, delta=0.0)


def display_text(sentence: str) -> str:
    """The sentence as quoted: a leading structured-abstract label is trimmed at the edge."""
    text, _ = strip_section_label(sentence.strip())
    return strip_reference_markers(text).strip()


def _cue(sentence: str, index: int, total: int, label: str | None, current_label: str | None) -> float:
    effective = label or current_label
    cue = 0.0
    if effective in _FINDING_LABELS:
        cue += 0.6
    elif effective in _BACKGROUND_LABELS:
        cue -= 0.6
    if _FINDING_CUES.search(sentence):
        cue += 0.4
    if _BACKGROUND_CUES.search(sentence):
        cue -= 0.5
    if effective is None and total > 2:
        if index == 0:
            cue -= 0.3
        elif index >= total - 2:
            cue += 0.3
    if len(sentence) < 40:
        cue -= 0.5
    return max(-1.0, min(1.0, cue))


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
    rows: list[tuple[Paper, int, str, list[str], float]] = []
    best_paper = max((score for _, score in candidates), default=0.0) or 1.0
    for paper, _paper_score in candidates:
        current_label: str | None = None
        for index, raw in enumerate(paper.sentences):
            text, label = strip_section_label(raw)
            cue = _cue(text, index, len(paper.sentences), label, current_label)
            if label:
                current_label = label
            text = strip_reference_markers(text)
            if instructs(text):
                continue  # a prompt injection in an abstract is not scored, so never quoted
            tokens = tokenize(text)
            rows.append((paper, index, text.strip(), tokens, cue))
    if not rows:
        return []
    bm25 = _bm25([r[3] for r in rows])  # built once, scored for the question and for the thread's topic
    main_scores = [float(s) for s in bm25.get_scores(main)] if main else [0.0] * len(rows)
    topic_scores = [float(s) for s in bm25.get_scores(topic)] if topic and topic_weight > 0 else [0.0] * len(rows)
    combined = [m + topic_weight * t for m, t in zip(main_scores, topic_scores)]
    top = max(combined) or 1.0
    paper_scores = {paper.id: score / best_paper for paper, score in candidates}
    scored: list[ScoredSentence] = []
    for (paper, index, text, tokens, cue), combined_score in zip(rows, combined):
        relevance = max(0.0, combined_score) / top
        paper_score = paper_scores[paper.id]
        score = relevance_weight * relevance + paper_weight * paper_score + cue_weight * cue
        scored.append(ScoredSentence(paper, index, text, frozenset(tokens), relevance, paper_score, cue, score))
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


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
