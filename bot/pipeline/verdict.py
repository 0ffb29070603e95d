"""The bottom line: each cited source's stance, the consensus meter, and the verdict.

The verdict is computed from the sources' stances, never asserted: yes when the cited papers
support the question (or the statement asked), no when they contradict it, mixed when they
disagree, unclear when they take no side or the question is not a yes/no question, and
not_addressed when no paper in the store covers its key concepts together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from bot.models import Answer, Source, Stance, Verdict, VerdictCounts
from bot.pipeline.concepts import Concept, Concepts, shown
from bot.pipeline.sentences import sentences_of
from bot.pipeline.stance import read_finding, read_polarity, stance_of
from knowledge.papers import Paper

__all__ = ["is_polar", "with_verdict", "not_addressed_text", "CLOSEST"]

CLOSEST = 3
_CLEAR_MAJORITY = 3  # one side outnumbers the other this many times over: "Mostly yes"
_OPEN = re.compile(r"^\s*(?:what|which|who|whom|whose|why|when|where|how|list|describe|summari[sz]e)\b", re.I)
_EFFECT = re.compile(r"\b(?:affect\w*|effect\w*|impact\w*|influenc\w*|associat\w*|relat\w*|link\w*|caus\w*|"
                     r"chang\w*|alter\w*|modulat\w*)\b", re.I)


def is_polar(question: str) -> bool:
    """Whether the question has a yes/no answer: "Does X …?", "X causes Y.", "How does X affect Y?"."""
    if not _OPEN.match(question):
        return True
    return bool(_EFFECT.search(question)) and not re.match(r"^\s*(?:which|who|whom|whose|where|when|list)\b",
                                                            question, re.I)


def _papers(n: int) -> str:
    return f"{n} paper{'s' if n != 1 else ''}"


def _meter(counts: VerdictCounts) -> str:
    parts = []
    if counts.supports:
        parts.append(f"{_papers(counts.supports)} support{'s' if counts.supports == 1 else ''}")
    if counts.contradicts:
        word = "contradicts" if counts.contradicts == 1 else "contradict"
        parts.append(f"{counts.contradicts if parts else _papers(counts.contradicts)} {word}")
    if counts.neutral:
        word = "is neutral" if counts.neutral == 1 else "are neutral"
        parts.append(f"{counts.neutral if parts else _papers(counts.neutral)} {word}")
    return ", ".join(parts)


def _verdict(counts: VerdictCounts) -> tuple[Verdict, str]:
    s, c, n = counts.supports, counts.contradicts, counts.neutral
    meter = _meter(counts)
    if s and not c:
        return Verdict.yes, f"{'Yes' if not n else 'Mostly yes'} — {meter}"
    if c and not s:
        return Verdict.no, f"{'No' if not n else 'Mostly no'} — {meter}"
    if s and c:
        if s >= _CLEAR_MAJORITY * c:
            return Verdict.yes, f"Mostly yes — {meter}"
        if c >= _CLEAR_MAJORITY * s:
            return Verdict.no, f"Mostly no — {meter}"
        return Verdict.mixed, f"Mixed evidence — {meter}"
    return Verdict.unclear, f"Unclear — {_papers(n)} discuss{'es' if n == 1 else ''} this without taking a side"


def with_verdict(answer: Answer, question: str, *, polar: bool, concepts: Concepts) -> Answer:
    """The answer with each source's stance and the bottom line, from its direct statements."""
    cited_for: dict[int, list[str]] = {}
    for sentence in answer.sentences:
        for c in sentence.citations:
            cited_for.setdefault(c.n, []).append(sentence.text)
    terms = concepts.stems | set(concepts.terms)
    # The last concept is usually the outcome ("… reduce the risk of fractures"): directions are
    # read nearest to it.
    outcome = frozenset(concepts.items[-1].stems) if concepts.items else frozenset()
    reading = read_polarity(question, question=True, outcome=outcome)
    sources: list[Source] = []
    for source in answer.sources:
        stance = Stance.neutral
        if polar and source.n in cited_for:
            votes = Counter(stance_of(reading, read_finding(text, terms, outcome)) for text in cited_for[source.n])
            stance = max((Stance.supports, Stance.contradicts, Stance.neutral), key=lambda s: votes[s])
            if votes[Stance.supports] == votes[Stance.contradicts] and votes[Stance.supports]:
                stance = Stance.neutral
        sources.append(source.model_copy(update={"stance": stance}))
    direct = [s for s in sources if s.n in cited_for]
    counts = VerdictCounts(
        supports=sum(s.stance is Stance.supports for s in direct),
        contradicts=sum(s.stance is Stance.contradicts for s in direct),
        neutral=sum(s.stance is Stance.neutral for s in direct),
    )
    if not direct:
        related = len(sources)
        about = f" on {shown(list(concepts.items))}" if concepts else ""
        text = (f"Unclear — {_papers(related)}{about} came close, but none of their findings answers this directly"
                if related else "Unclear — nothing in the store answers this directly")
        return answer.model_copy(update={"sources": sources, "verdict": Verdict.unclear, "verdict_text": text,
                                         "verdict_counts": counts})
    if not polar:
        text = f"From {_papers(len(direct))}"
        return answer.model_copy(update={"sources": sources, "verdict": Verdict.unclear, "verdict_text": text,
                                         "verdict_counts": counts})
    verdict, text = _verdict(counts)
    return answer.model_copy(update={"sources": sources, "verdict": verdict, "verdict_text": text,
                                     "verdict_counts": counts})


def not_addressed_text(concepts: Concepts, candidates: list[Paper], in_store: Callable[[Concept], bool]) -> str:
    """"Not addressed in the store — no paper here studies statins together with dementia."

    `in_store` says whether any paper of the whole store mentions a concept, so "none mentions"
    is a fact about the store, not about the few candidates.
    """
    seen: set[Concept] = set()
    for paper in candidates:
        seen.update(concepts.covered(sentences_of(paper).paper_tokens))
    present = [c for c in concepts.items if c in seen or in_store(c)]
    absent = [c for c in concepts.items if c not in present]
    if not concepts:
        reason = "no paper here addresses this question"
    elif len(present) >= 2:
        reason = f"no paper here studies {shown(present[:1])} together with {shown(present[1:])}"
        if absent:
            reason += f", and none mentions {shown(absent)}"
    elif present:
        reason = f"papers here mention {shown(present)}, but none mentions {shown(absent)}"
    else:
        reason = f"no paper here mentions {shown(absent)}"
    return f"Not addressed in the store — {reason}."
