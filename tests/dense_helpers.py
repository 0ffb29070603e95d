"""What the dense tests (SQLite and PostgreSQL) share: a deterministic stand-in for the model, four papers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from knowledge.papers import Paper

__all__ = ["FakeEmbedder", "PAPERS", "paper"]

_DIM = 64
# Words that mean the same thing share a vector, which is what BM25 cannot see.
_SYNONYMS = {"heart": "cardiac", "myocardial": "cardiac", "tumour": "cancer", "neoplasm": "cancer"}


class FakeEmbedder:
    """Bag of words over fixed random word vectors; synonyms map to one vector."""

    name = "fake-words"

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    @staticmethod
    def _word(word: str) -> np.ndarray:
        seed = int(hashlib.sha1(_SYNONYMS.get(word, word).encode()).hexdigest()[:8], 16)
        return np.random.default_rng(seed).standard_normal(_DIM).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        rows = []
        for text in texts:
            words = re.findall(r"[a-z]+", text.lower()) or ["empty"]
            vector = np.sum([self._word(w) for w in words], axis=0)
            rows.append(vector / np.linalg.norm(vector))
        return np.stack(rows).astype(np.float32)


def paper(pid: str, title: str, *sentences: str) -> Paper:
    return Paper(id=pid, title=title, sentences=list(sentences) or [title])


PAPERS = [
    paper("cardio", "Cardiac arrest outcomes", "Cardiac arrest survival improved with early defibrillation."),
    paper("onco", "Cancer screening in adults", "Cancer screening reduced mortality in older adults."),
    paper("sleep", "Sleep and memory", "Sleep deprivation impairs memory consolidation in students."),
    paper("diet", "Dietary fibre and the gut", "Fibre intake changes the gut microbiome within days."),
]
