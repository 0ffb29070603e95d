"""TrueCite for written text: is each sentence a language model wrote said by the passages it cites?

An extractive answer quotes its papers, so `verify.supports` can look for the sentence in
them. A written sentence paraphrases and joins findings, so it is checked part by part,
against the passages it cites only (never the whole store):
- every `[n]` must name a passage the model was given;
- every number (with its unit or percent sign) must occur in the cited passages — a number
  they lack is never shown;
- capitalised names, gene and drug symbols must occur in them too;
- nearly all of its content words must (`MIN_WORDS`);
- each clause must agree with the passage sentence it restates on negation and direction
  (`stance.read_polarity`): a "did not reduce" passage never supports "reduces";
- a direct-answer sentence must address the question's key concepts (`verify.addresses`'s rule).
A failing sentence is re-cited to one passage that passes every check, else dropped; the
report says which and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.models import AnswerSentence, Citation, VerificationIssue
from bot.pipeline.concepts import Concepts
from bot.pipeline.evidence import instructs
from bot.pipeline.stance import read_finding, read_polarity
from knowledge.text import stem_words, tokenize

__all__ = ["Passage", "Grounding", "ground_sentence", "split_markers", "MIN_WORDS"]

MIN_WORDS = 0.8  # share of a sentence's content words its cited passages must hold
_MARKERS = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)\s*(%|percent\b|per cent\b|[a-zµμ]+(?:/[a-z]+)?)?", re.I)
_UNITS = frozenset(
    "% mg g kg µg μg mcg ng ml l dl mmol µmol nmol mol mmhg iu u h hr hrs hour hours min minutes s sec "
    "day days week weeks month months year years cm mm km m fold times mg/kg mg/dl mmol/l kcal".split()
)
_NAME = re.compile(r"\b(?:[A-Z][a-z]+(?:[-'][A-Za-z]+)*|[A-Za-z]*[A-Z][A-Za-z]*\d[\w-]*|[A-Z]{2,}[\w-]*|"
                   r"[A-Za-z]+-\d+[\w-]*)\b")
# Words that frame a finding in prose ("both studies found", "however") and claim nothing.
_FRAME = frozenset(stem_words(
    """however both studies study evidence suggest suggests suggested found find finds report reported
    reports show shows showed shown trial trials paper papers research data also overall whereas while
    one another contrast similarly although yet finding findings result results indicate indicates
    indicated observe observed conclude concluded note noted according authors analysis review
    therefore thus moreover addition additionally further furthermore instead rather likely may might
    can could would whether""".split()
))
_CLAUSE = re.compile(r";|,?\s+(?:whereas|while|but|yet|although|however|in contrast)\b,?", re.I)


@dataclass(frozen=True)
class Passage:
    """One numbered source as the model saw it: its title, year and chosen sentences (index, text)."""

    n: int
    source_id: str
    title: str
    year: int | None
    sentences: tuple[tuple[int, str], ...]

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.sentences)


@dataclass
class Grounding:
    """The outcome for one written sentence: its checked citations (none = dropped) and what was wrong."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    issues: list[VerificationIssue] = field(default_factory=list)
    recited: bool = False

    @property
    def kept(self) -> bool:
        return bool(self.citations)

    def sentence(self) -> AnswerSentence:
        return AnswerSentence(text=self.text, citations=self.citations)


def split_markers(text: str) -> tuple[str, list[int]]:
    """"A rose [1] and B fell [2][3]." → ("A rose and B fell.", [1, 2, 3])."""
    markers: list[int] = []
    for match in _MARKERS.finditer(text):
        markers += [int(x) for x in re.split(r"\s*[,;]\s*", match[1])]
    clean = _MARKERS.sub("", text).strip()
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
    return clean, list(dict.fromkeys(markers))


def _numbers(text: str) -> set[tuple[str, str]]:
    found = set()
    for match in _NUMBER.finditer(text):
        number = match[1].replace(",", "")
        unit = (match[2] or "").lower()
        unit = "%" if unit in ("%", "percent", "per cent") else unit
        found.add((number, unit if unit in _UNITS else ""))
    return found


def _names(text: str) -> set[str]:
    words = _NAME.findall(text)
    first = text.lstrip().split(" ", 1)[0].strip("\"'(")
    # A capital that only starts the sentence names nothing.
    return {w.lower() for w in words if not (w == first and w[1:].islower())}


def _raw_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower()))


def _best_sentence(clause_terms: set[str], passages: list[Passage]) -> tuple[Passage, int, str] | None:
    """The passage sentence sharing most terms with a clause; on a tie, one that reports a finding."""
    best: tuple[tuple[int, bool], Passage, int, str] | None = None
    for passage in passages:
        for index, text in passage.sentences:
            rank = (len(clause_terms & set(tokenize(text))), read_polarity(text).finding)
            if rank[0] and (best is None or rank > best[0]):
                best = (rank, passage, index, text)
    return None if best is None else best[1:]


def _said(passages: list[Passage]) -> list[Passage]:
    """The passages without sentences that instruct rather than report."""
    return [Passage(n=p.n, source_id=p.source_id, title=p.title, year=p.year,
                    sentences=tuple((i, t) for i, t in p.sentences if not instructs(t))) for p in passages]


def _problem(text: str, passages: list[Passage], concepts: Concepts | None) -> tuple[str, str] | None:
    """Why `passages` do not support `text` (kind, detail), or None when they do."""
    if not passages:
        return "no_citation", "cites no passage it was given"
    passages = _said(passages)
    source_text = " ".join(p.text for p in passages)
    titles = " ".join(p.title for p in passages)
    have_numbers = _numbers(source_text) | _numbers(titles)
    bare = {n for n, _ in have_numbers}
    for number, unit in sorted(_numbers(text)):
        if (number, unit) not in have_numbers and not (not unit and number in bare):
            shown = f"{number}{unit if unit == '%' else (' ' + unit if unit else '')}"
            return "unsupported_number", f"the cited passages do not give {shown}"
    have_words = _raw_words(source_text + " " + titles)
    missing_names = sorted(n for n in _names(text) if not set(_raw_words(n)) <= have_words)
    if missing_names:
        return "unsupported_name", f"the cited passages do not name {', '.join(missing_names[:3])}"
    have = set(tokenize(source_text + " " + titles))
    words = {w for w in tokenize(text) if not w.isdigit() and w not in _FRAME}
    if words and len(words & have) / len(words) < MIN_WORDS:
        absent = sorted(words - have)[:4]
        return "unsupported_words", f"the cited passages do not say {', '.join(absent)}"
    for clause in (c for c in _CLAUSE.split(text) if c and c.strip()):
        terms = {w for w in tokenize(clause) if w not in _FRAME}
        if len(terms) < 2:
            continue
        match = _best_sentence(terms, passages)
        if match is None:
            continue
        passage, _, said = match
        written, source = read_polarity(clause), read_finding(said, terms)
        if written.finding and not source.finding:
            return "not_a_finding", f"[{passage.n}] only raises the question"
        if written.negated != source.negated:
            which = "finds no effect" if source.negated else "finds an effect"
            return "flipped_negation", f"[{passage.n}] {which}, the sentence says the opposite"
        if not written.negated and written.direction and source.direction and written.direction != source.direction:
            return "flipped_direction", f"[{passage.n}] reports the opposite direction"
    if concepts is not None and not concepts.addressed_by(set(tokenize(text)) | set(tokenize(titles))):
        return "off_question", "does not address the question"
    return None


def _citations(text: str, passages: list[Passage]) -> list[Citation]:
    """One citation per passage that contributes; each points at the sentence it restates best."""
    terms = set(tokenize(text))
    cited = []
    for passage in passages:
        match = _best_sentence(terms, [passage])
        if match is not None:
            cited.append(Citation(n=passage.n, index=match[1]))
    return cited


def ground_sentence(written: str, passages: dict[int, Passage], concepts: Concepts | None) -> Grounding:
    """Check one written sentence (markers included); re-cite or drop it when its passages fail it."""
    text, markers = split_markers(written)
    result = Grounding(text=text)
    for n in markers:
        if n not in passages:
            result.issues.append(VerificationIssue(kind="unknown_source", n=n,
                                                   detail=f"[{n}] is not one of the passages: {text[:120]}"))
    cited = [passages[n] for n in markers if n in passages]
    problem = _problem(text, cited, concepts) if text else ("empty", "empty sentence")
    if problem is None:
        result.citations = _citations(text, cited)
        dropped = [p.n for p in cited if p.n not in {c.n for c in result.citations}]
        for n in dropped:
            result.issues.append(VerificationIssue(kind="irrelevant_citation", n=n,
                                                   detail=f"[{n}] shares nothing with: {text[:120]}"))
        return result
    kind, detail = problem
    if cited:
        result.issues.append(VerificationIssue(kind=kind, n=cited[0].n, detail=f"{detail}: {text[:120]}"))
    elif kind != "no_citation" or not markers:
        result.issues.append(VerificationIssue(kind=kind, detail=f"{detail}: {text[:120]}"))
    if not text:
        return result
    for passage in passages.values():
        if passage in cited:
            continue
        if _problem(text, [passage], concepts) is None:
            result.citations = _citations(text, [passage])
            result.recited = True
            result.issues.append(VerificationIssue(kind="recited", n=passage.n,
                                                   detail=f"cited to [{passage.n}], which says it: {text[:120]}"))
            return result
    return result
