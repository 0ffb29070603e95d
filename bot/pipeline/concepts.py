"""The key concepts of a question, and whether a statement or a paper covers them.

"How do statins affect dementia risk?" is about two things, statins and dementia; "affect"
and "risk" only frame the question. A statement addresses the question when it — read with
its paper's title, so "its use" in a statin paper counts as statins — covers the specific
concepts, all of them for a two-concept question, not just one. A word is specific when few
of the store's papers use it (its share comes from the search index) and it is not one of
the words every study uses to frame a finding. The same logic serves the extractive
composer, the verifier and any future synthesizer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.text import STOP_WORDS, stem_words

__all__ = ["Concept", "Concepts", "key_concepts", "shown", "TermShares", "GENERIC_STEMS", "MIN_COVERED_SHARE"]

# stems → (share of papers containing each, number of papers): `PaperStore.term_shares`.
TermShares = Callable[[list[str]], tuple[dict[str, float], int]]

# Words that frame a question or a finding rather than name what it is about (stemmed).
GENERIC_STEMS = frozenset(
    stem_words(
        """effect effects affect affects affected impact influence influences role roles associated
        association associations link linked relationship relation related correlate correlated correlation
        cause causes caused causing lead leads led result results resulting outcome outcomes factor factors
        increase increases increased decrease decreases decreased reduce reduces reduced reduction
        improve improves improved promote promotes inhibit inhibits enhance enhances suppress suppresses
        higher lower high low rate rates level levels risk risks change changes changed
        significant significantly important mechanism mechanisms develop development function functions
        activity active activate activates regulate regulates regulation response responses
        patient patients people individuals subjects human humans participants population
        compared comparison difference differences different versus similar specific
        treatment treatments therapy therapies use used using common frequent frequently
        present presence absence lack lacks likely less more greater major main new novel
        property properties characteristic characteristics feature features
        show shows shown found find finding suggest suggests demonstrate study trial type types
        year years time times number amount many several various way ways form forms
        work works good bad better worse best worst best way really actual actually""".split()
    )
)

_SPECIFIC_SHARE = 0.2  # a word in more than a fifth of the store's papers names no particular topic
_MAX_CONCEPT_WORDS = 3
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")  # as the tokenizer splits words
_SMALL_STORE = 200  # below this many papers a share says little: every non-frame word counts
_ALL_REQUIRED = 2  # questions with up to this many concepts must have every one covered
MIN_COVERED_SHARE = 0.5  # of the concepts' weight, for longer questions (tuned on SciFact's tuning claims)


@dataclass(frozen=True)
class Concept:
    """One thing the question is about: adjacent specific words ("vitamin D supplementation").

    Any of its stems present counts as the concept mentioned: a paper says "vitamin D" as
    often as "vitamin D supplementation".
    """

    stems: tuple[str, ...]
    words: tuple[str, ...]
    weight: float

    def in_(self, tokens: set[str] | frozenset[str]) -> bool:
        return any(stem in tokens for stem in self.stems)

    @property
    def name(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Concepts:
    """The question's key concepts, and every content stem it has (for concept-less questions)."""

    items: tuple[Concept, ...] = ()
    terms: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def stems(self) -> set[str]:
        return {stem for c in self.items for stem in c.stems}

    def covered(self, tokens: set[str] | frozenset[str]) -> list[Concept]:
        return [c for c in self.items if c.in_(tokens)]

    def missing(self, tokens: set[str] | frozenset[str]) -> list[Concept]:
        return [c for c in self.items if not c.in_(tokens)]

    def addressed_by(self, tokens: set[str] | frozenset[str], *, share: float = MIN_COVERED_SHARE) -> bool:
        """Whether text with these (stemmed) tokens is about the question.

        One or two concepts: all of them. More (a long statement-shaped question): at least
        two, carrying `share` of the concepts' weight — a paraphrase rarely repeats every
        part of a long claim.
        """
        if not self.items:
            return bool(self.terms & tokens)
        covered = self.covered(tokens)
        if len(self.items) <= _ALL_REQUIRED:
            return len(covered) == len(self.items)
        total = sum(c.weight for c in self.items)
        return len(covered) >= 2 and sum(c.weight for c in covered) >= share * total


def shown(concepts: list[Concept]) -> str:
    """"statins and dementia": concepts as the question wrote them."""
    names = [c.name for c in concepts]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def key_concepts(text: str, shares: TermShares) -> Concepts:
    """The specific concepts of a question, as written.

    Specific words next to each other in the text form one concept ("vitamin D
    supplementation"); a stop word or a frame word between them separates two ("autophagy
    deficiency | in the | liver").
    """
    words = _WORD.findall(text.lower())
    stems = [stem_words([w])[0] for w in words]
    content = [s for w, s in zip(words, stems) if w not in STOP_WORDS]
    candidates = sorted({s for w, s in zip(words, stems) if w not in STOP_WORDS and _may_be_specific(s)})
    if not candidates:
        return Concepts(terms=frozenset(content))
    share, papers = shares(candidates)

    def weight(stem: str) -> float | None:
        part = share.get(stem, 0.0)
        if papers >= _SMALL_STORE and part > _SPECIFIC_SHARE:
            return None
        # Rarer words weigh more; a word no paper has still counts (it is what was asked).
        return 1.0 + max(0.0, -math.log(part if part > 0 else 0.5 / max(papers, 1)))

    items: list[Concept] = []
    run: list[tuple[str, str, float]] = []

    def close() -> None:
        if run:
            items.append(Concept(stems=tuple(s for s, _, _ in run), words=tuple(x for _, x, _ in run),
                                 weight=max(x for _, _, x in run)))
            run.clear()

    seen: set[str] = set()
    for word, stem in zip(words, stems):
        if stem.isdigit() or len(stem) == 1:
            continue  # "vitamin D supplementation" stays one concept
        w = None if word in STOP_WORDS or not _may_be_specific(stem) else weight(stem)
        if w is None or stem in seen:
            close()
            continue
        seen.add(stem)
        run.append((stem, word, w))
        if len(run) == _MAX_CONCEPT_WORDS:
            close()
    close()
    return Concepts(items=tuple(items), terms=frozenset(content))


def _may_be_specific(stem: str) -> bool:
    return stem not in GENERIC_STEMS and not stem.isdigit() and len(stem) > 1
