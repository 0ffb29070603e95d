"""Text helpers shared by ingestion, search and evidence scoring.

One tokenizer for everything (lower-case, split on non-alphanumerics, English
Snowball stemming, stop words dropped) so that a query term means the same thing
in the paper index, in sentence scoring and in citation verification.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

__all__ = [
    "split_sentences",
    "normalise_title",
    "normalise_for_match",
    "tokenize",
    "content_terms",
    "content_words",
    "stem_words",
    "STOP_WORDS",
    "strip_section_label",
    "strip_reference_markers",
]

_stemmer = Stemmer.Stemmer("english")

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves also may might must shall via per vs whether within without among upon
    tell show give explain please know any anything much many""".split()
) | frozenset(
    # How people frame a question to a paper search ("papers on X", "evidence for X"): in a
    # store of papers these words say nothing about the topic. No SciFact claim uses them.
    """paper papers article articles evidence research study studies literature publication
    publications findings""".split()
)

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
# A sentence ends at . ! ? followed by space and an upper-case letter, digit or quote;
# common abbreviations (e.g., et al., Fig.) do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "fig.", "figs.", "vs.", "approx.", "ca.", "no.", "dr.", "ref.", "eq.")
_SECTION_LABEL = re.compile(
    r"^(?:BACKGROUND|INTRODUCTION|OBJECTIVES?|AIMS?|PURPOSE|CONTEXT|IMPORTANCE|METHODS?|"
    r"MATERIALS AND METHODS|METHODS AND RESULTS|DESIGN|SETTING|PARTICIPANTS|PATIENTS|"
    r"INTERVENTIONS?|MAIN OUTCOME MEASURES?|MEASUREMENTS?|RESULTS?|FINDINGS|CONCLUSIONS?|"
    r"CONCLUSIONS AND RELEVANCE|INTERPRETATION|DISCUSSION|SIGNIFICANCE|SUMMARY|RATIONALE|"
    r"FUNDING|TRIAL REGISTRATION|STUDY DESIGN|PRINCIPAL FINDINGS|METHODOLOGY(?:/PRINCIPAL FINDINGS)?)"
    r"(?:\s*(?:AND|/)\s*[A-Z]+)*\s*[:.]?\s+(?=\S)"
)


def split_sentences(text: str) -> list[str]:
    """Split running abstract text into sentences; good enough for English abstracts."""
    text = " ".join(text.split())
    if not text:
        return []
    pieces = _SENTENCE_END.split(text)
    sentences: list[str] = []
    for piece in pieces:
        if sentences and sentences[-1].lower().endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return [s.strip() for s in sentences if s.strip()]


def strip_section_label(sentence: str) -> tuple[str, str | None]:
    """Split a leading structured-abstract label ("RESULTS ...") off a sentence."""
    match = _SECTION_LABEL.match(sentence)
    if not match:
        return sentence, None
    label = match.group(0).strip().rstrip(":.").strip()
    return sentence[match.end():], label


# A paper's own in-text references: "[2]", "[3, 4]", "[5-7]", "(ref. 12)", "(refs 3 and 4)".
# Quoted as they are, they would read as Citewise's citation markers and point at our sources.
_REFERENCE_MARKER = re.compile(
    r"\s*\[\s*\d{1,4}(?:\s*(?:[-\u2013,;]|and)\s*\d{1,4})*\s*\]"
    r"|\s*\((?:refs?\.?|references?)\s*\d{1,4}(?:\s*(?:[-\u2013,;]|and)\s*\d{1,4})*\)",
    re.I,
)


def strip_reference_markers(text: str) -> str:
    """The text without the paper's own numbered references, so only our [n] markers remain."""
    if "[" not in text and "(" not in text:
        return text
    return _REFERENCE_MARKER.sub("", text)


def _fold(text: str) -> str:
    if text.isascii():  # nearly every title: skip the costly Unicode decomposition
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


@lru_cache(maxsize=16384)  # a paper's key is asked for more than once (duplicate checks, the stored row)
def normalise_title(title: str) -> str:
    """The key two records of the same paper share: folded case and accents, no punctuation."""
    return " ".join(_WORD.findall(_fold(title)))


def normalise_for_match(text: str) -> str:
    """Whitespace- and case-insensitive form used to check a quote is in its source.

    In-text references are left out on both sides, so a quote shown without them still matches.
    """
    return " ".join(_fold(strip_reference_markers(text)).split())


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stemmed: str = _stemmer.stemWord(word)  # PyStemmer ships no type information
    return stemmed


def tokenize(text: str, *, keep_stop_words: bool = False) -> list[str]:
    """Lower-cased, stemmed word tokens; stop words dropped unless asked for."""
    words = _WORD.findall(_fold(text))
    if not keep_stop_words:
        words = [w for w in words if w not in STOP_WORDS]
    return [_stem(w) for w in words]


def content_words(text: str) -> list[str]:
    """Distinct unstemmed content words: what a search engine that stems on its own should get."""
    words = [w for w in _WORD.findall(_fold(text)) if w not in STOP_WORDS]
    return list(dict.fromkeys(words))


def stem_words(words: list[str]) -> list[str]:
    return list(dict.fromkeys(_stem(w) for w in words))


def content_terms(text: str) -> list[str]:
    """Distinct stemmed content terms, in order of first appearance."""
    return list(dict.fromkeys(tokenize(text)))
