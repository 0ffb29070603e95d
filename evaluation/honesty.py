"""Questions the store cannot answer: two concepts it holds, never in the same paper.

Built from the corpus itself, deterministically: words that name something specific (a few
to a few dozen papers use them, none of the frame words) are paired only when no paper
mentions both, and asked in everyday question shapes ("Does X affect Y?"). Each question is
checked to read as exactly those two concepts. An honest Citewise marks them
`not_addressed`; the counterweight is the share of answerable SciFact claims it wrongly
marks so (reported beside it). Even-numbered questions are for tuning, odd ones reported.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.pipeline.concepts import GENERIC_STEMS, key_concepts
from knowledge.store import PaperStore
from knowledge.text import STOP_WORDS, content_words, tokenize

__all__ = ["Unanswerable", "build_unanswerable", "TEMPLATES"]

TEMPLATES = (
    "Does {a} affect {b}?",
    "Is {a} associated with {b}?",
    "How does {a} influence {b}?",
    "Does {a} reduce the risk of {b}?",
    "What is the effect of {a} on {b}?",
    "{a} causes {b}.",
)
_MIN_PAPERS = 4
_MAX_PAPERS = 40


@dataclass(frozen=True)
class Unanswerable:
    id: int
    text: str
    concepts: tuple[str, str]

    @property
    def split(self) -> str:
        return "tuning" if self.id % 2 == 0 else "heldout"


def _vocabulary(corpus: Path) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Stem → papers whose title or abstract has it; stem → its commonest title spelling."""
    postings: dict[str, set[str]] = defaultdict(set)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            paper_id = str(row.get("doc_id") or row.get("id"))
            title = str(row.get("title", ""))
            abstract = row.get("abstract", "")
            text = " ".join(abstract) if isinstance(abstract, list) else str(abstract)
            for stem in set(tokenize(title + " " + text)):
                postings[stem].add(paper_id)
            for word in content_words(title):
                if word.isalpha() and len(word) > 3 and word not in STOP_WORDS:
                    spellings[tokenize(word)[0] if tokenize(word) else word][word] += 1
    return postings, {stem: c.most_common(1)[0][0] for stem, c in spellings.items()}


def build_unanswerable(corpus: str | Path, store: PaperStore, *, count: int = 60, seed: int = 12) -> list[Unanswerable]:
    """`count` questions pairing two specific concepts that no paper of `corpus` has together."""
    postings, spelling = _vocabulary(Path(corpus))
    vocabulary = sorted(
        stem for stem, word in spelling.items()
        if _MIN_PAPERS <= len(postings[stem]) <= _MAX_PAPERS and stem not in GENERIC_STEMS
    )
    if len(vocabulary) < 2:
        return []
    rng = random.Random(seed)
    questions: list[Unanswerable] = []
    used: set[str] = set()
    attempts = 0
    while len(questions) < count and attempts < count * 200:
        attempts += 1
        a, b = rng.sample(vocabulary, 2)
        if a in used or b in used or postings[a] & postings[b]:
            continue
        template = TEMPLATES[len(questions) % len(TEMPLATES)]
        word_a, word_b = spelling[a], spelling[b]
        text = template.format(a=word_a, b=word_b)
        text = text[0].upper() + text[1:]
        concepts = key_concepts(text, store.term_shares)
        if len(concepts.items) != 2:
            continue  # the question must read as exactly these two concepts
        used.update((a, b))
        questions.append(Unanswerable(id=len(questions), text=text, concepts=(word_a, word_b)))
    return questions
