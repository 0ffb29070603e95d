"""Synthesis: from chosen evidence to an `Answer` with numbered citations.

`Synthesizer` is the seam; `extractive.ExtractiveSynthesizer` quotes the chosen sentences
(no model), in a worker thread. The optional language model (`llm.LLMSynthesizer`) is async:
the core awaits it after the extractive answer is verified, it writes from that answer's
sources, TrueCite checks every sentence it wrote (`verify_written`), and on any failure the
extractive answer stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.models import Answer
from bot.pipeline.evidence import ScoredSentence

__all__ = ["Synthesizer", "SynthesisRequest"]


@dataclass(frozen=True)
class SynthesisRequest:
    """What the synthesizer may use: the question, the direct evidence and related sentences."""

    question: str
    statements: list[ScoredSentence]  # the direct answer's evidence, best first
    related: list[ScoredSentence] = field(default_factory=list)  # "More from these papers"
    scored: list[ScoredSentence] = field(default_factory=list)  # every candidate sentence, for takeaways
    history: list[str] = field(default_factory=list)  # the thread's earlier questions


class Synthesizer(Protocol):
    def synthesize(self, request: SynthesisRequest) -> Answer: ...
