"""What a paper's sentences are, whatever the question: shown text, tokens, section cues.

Scoring evidence used to redo this for every sentence of every candidate paper on every
question (two large case-insensitive regexes, tokenising and stemming), though none of it
depends on the question. It is computed here once per paper text and kept in a bounded
cache, so a paper that comes back (a follow-up, a popular paper, the next search) costs a
dictionary look-up. The finding/background regexes are evaluated only when a cue is read
(`PaperSentences.cue`): a search's takeaway needs the cues of one or two sentences per hit.

Everything here produces exactly what the per-sentence code it replaced produced: the
statement model's fitted weights apply to the same numbers.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

from knowledge.papers import Paper
from knowledge.text import strip_reference_markers, strip_section_label, tokenize_each

__all__ = ["BACKGROUND_CUES", "CACHE_PAPERS", "FINDING_CUES", "PaperSentences", "cue_value", "sentences_of"]

FINDING_LABELS = frozenset({
    "RESULTS", "RESULT", "CONCLUSIONS", "CONCLUSION", "FINDINGS", "INTERPRETATION", "CONCLUSIONS AND RELEVANCE",
    "PRINCIPAL FINDINGS", "SIGNIFICANCE", "DISCUSSION",
})
BACKGROUND_LABELS = frozenset({
    "BACKGROUND", "INTRODUCTION", "OBJECTIVE", "OBJECTIVES", "AIM", "AIMS", "PURPOSE", "CONTEXT", "IMPORTANCE",
    "METHODS", "METHOD", "MATERIALS AND METHODS", "DESIGN", "SETTING", "PARTICIPANTS", "PATIENTS", "INTERVENTIONS",
    "INTERVENTION", "MAIN OUTCOME MEASURES", "MEASUREMENTS", "STUDY DESIGN", "FUNDING", "TRIAL REGISTRATION",
    "RATIONALE",
})
_FINDING = (
    r"\b(we (?:found|show|showed|demonstrate|demonstrated|report|observed|identify|identified|conclude)|"
    r"(?:results|data|findings|these) (?:show|showed|suggest|suggested|indicate|indicated|demonstrate|reveal)|"
    r"was associated|were associated|is associated|are associated|associated with|significantly|"
    r"reduc(?:ed|es|tion)|increas(?:ed|es)|decreas(?:ed|es)|improv(?:ed|es)|did not|does not|no significant|"
    r"odds ratio|hazard ratio|relative risk|confidence interval|p\s*[<=]|\bci\b|in conclusion|thus|therefore|"
    r"suggest(?:s|ing)? that|indicat(?:e|es|ing) that|required for|is essential|led to|leads to|caused|causes)\b"
)
_BACKGROUND = (
    r"\b(we (?:aimed|sought|investigated|examined|hypothesi[sz]ed|evaluated|assessed|studied|performed|used)|"
    r"the (?:aim|purpose|objective|goal) of|this study (?:aimed|was designed|examines|investigates)|"
    r"to (?:investigate|determine|examine|assess|evaluate|explore)|little is known|remains? (?:unclear|unknown)|"
    r"is not (?:well )?understood|here we|in this (?:study|paper|review)|(?:has|have) been (?:debated|proposed|suggested)|"
    r"is (?:debated|controversial)|unclear whether|^whether)\b"
)
FINDING_CUES = re.compile(_FINDING, re.IGNORECASE)
BACKGROUND_CUES = re.compile(_BACKGROUND, re.IGNORECASE)
# The same patterns without re.I, for lower-cased ASCII text: Python's matcher skips a branch on
# its first character only for case-sensitive literals, which makes these several times faster.
# For ASCII text the two agree exactly (re.I's extra case pairs, such as "ſ"/"s" or the Kelvin
# sign/"k", involve non-ASCII characters); any other text takes the original pattern.
_FINDING_LOWER = re.compile(_FINDING)
_BACKGROUND_LOWER = re.compile(_BACKGROUND)

CACHE_PAPERS = 4096  # papers whose sentence work is kept (a few KB each)


def _has(text: str, pattern: re.Pattern[str], lower: re.Pattern[str]) -> bool:
    if text.isascii():
        return lower.search(text.lower()) is not None
    return pattern.search(text) is not None


def cue_value(*, finding: bool, background: bool, index: int, total: int, label: str | None, length: int) -> float:
    """Finding (+) or background (−) reading of a sentence, in −1..1.

    `label` is the section the sentence sits in (its own label or the last one before it);
    the additions happen in the order they always did, so the sums are the same floats.
    """
    cue = 0.0
    if label in FINDING_LABELS:
        cue += 0.6
    elif label in BACKGROUND_LABELS:
        cue -= 0.6
    if finding:
        cue += 0.4
    if background:
        cue -= 0.5
    if label is None and total > 2:
        if index == 0:
            cue -= 0.3
        elif index >= total - 2:
            cue += 0.3
    if length < 40:
        cue -= 0.5
    return max(-1.0, min(1.0, cue))


@dataclass
class PaperSentences:
    """One paper's sentences as evidence scoring reads them, question-independent."""

    texts: tuple[str, ...]  # as shown: section label and the paper's reference markers off, stripped
    tokens: tuple[tuple[str, ...], ...]  # `tokenize(text)` of each
    token_sets: tuple[frozenset[str], ...]
    lengths: tuple[int, ...]  # BM25 document length (an empty sentence counts as one placeholder token)
    sections: tuple[str | None, ...]  # the section each sentence sits in
    cue_texts: tuple[str, ...]  # label-stripped text, before reference markers go: what the cue regexes read
    title: str
    differing: tuple[str, ...]  # raw sentences whose shown text lost words (a label, reference markers)
    unchanged: tuple[bool, ...]  # per sentence: tokenize(raw) == tokenize(shown), only whitespace trimmed
    _cues: list[float | None] = field(default_factory=list)  # filled on first read (idempotent: no lock)
    _title_tokens: frozenset[str] | None = None
    _paper_tokens: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def title_tokens(self) -> frozenset[str]:
        """`tokenize(title)` as a set; made on first use (a search takeaway never needs it)."""
        if self._title_tokens is None:
            self._paper_tokens_now()
        assert self._title_tokens is not None
        return self._title_tokens

    @property
    def paper_tokens(self) -> frozenset[str]:
        """`tokenize(title + " " + abstract)` as a set, as the concept checks read a paper."""
        if self._paper_tokens is None:
            self._paper_tokens_now()
        assert self._paper_tokens is not None
        return self._paper_tokens

    def _paper_tokens_now(self) -> None:
        # Words never span the joins, so the paper's tokens are its title's and its sentences'.
        title, *raw = tokenize_each([self.title, *self.differing])
        tokens = set(title)
        for same, sentence in zip(self.unchanged, self.tokens):
            if same:
                tokens.update(sentence)
        for sentence_tokens in raw:
            tokens.update(sentence_tokens)
        self._title_tokens = frozenset(title)
        self._paper_tokens = frozenset(tokens)

    def cue(self, index: int) -> float:
        """The sentence's finding cue; the regexes run the first time it is asked for."""
        value = self._cues[index]
        if value is None:
            text = self.cue_texts[index]
            value = cue_value(
                finding=_has(text, FINDING_CUES, _FINDING_LOWER),
                background=_has(text, BACKGROUND_CUES, _BACKGROUND_LOWER),
                index=index, total=len(self.texts), label=self.sections[index], length=len(text),
            )
            self._cues[index] = value
        return value

    def cue_bound(self, index: int) -> float:
        """The most `cue(index)` can be, without running the regexes (no float exceeds it)."""
        value = self._cues[index]
        if value is not None:
            return value
        text = self.cue_texts[index]
        return cue_value(finding=True, background=False, index=index, total=len(self.texts),
                         label=self.sections[index], length=len(text))


def _analyse(paper: Paper) -> PaperSentences:
    texts: list[str] = []
    cue_texts: list[str] = []
    sections: list[str | None] = []
    current: str | None = None
    raw_differs: list[str] = []  # sentences whose shown text lost words (a label, reference markers)
    same: list[bool] = []
    for raw in paper.sentences:
        text, label = strip_section_label(raw)
        sections.append(label or current)
        if label:
            current = label
        cue_texts.append(text)
        shown = strip_reference_markers(text)
        same.append(not label and shown is text)
        if not same[-1]:
            raw_differs.append(raw)
        texts.append(shown.strip())
    tokens = tuple(tuple(t) for t in tokenize_each(texts))
    return PaperSentences(
        texts=tuple(texts), tokens=tokens, token_sets=tuple(frozenset(t) for t in tokens),
        lengths=tuple(len(t) or 1 for t in tokens), sections=tuple(sections), cue_texts=tuple(cue_texts),
        title=paper.title, differing=tuple(raw_differs), unchanged=tuple(same), _cues=[None] * len(texts),
    )


class _Cache:
    """A bounded, thread-safe LRU of analyses, keyed by a paper's id and exact text."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, tuple[str, ...]], PaperSentences] = OrderedDict()
        self._lock = Lock()

    def get(self, paper: Paper) -> PaperSentences:
        key = (paper.id, paper.title, tuple(paper.sentences))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        made = _analyse(paper)
        with self._lock:
            self._items[key] = made
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return made


_CACHE = _Cache(CACHE_PAPERS)


def sentences_of(paper: Paper) -> PaperSentences:
    """The paper's question-independent sentence work, computed once per text."""
    return _CACHE.get(paper)
