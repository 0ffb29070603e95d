"""The live search fallback: when the team's papers fall short, look in the wider literature.

Only weak evidence triggers it (nothing found, or the best cited paper covers
less than `fallback_threshold` of the question's words). It searches OpenAlex
(and/or arXiv) with the question, adds what it finds to the store with its
origin and `added_by="citewise:fallback"`, and says so in the answer. It never
raises into the answer path and never takes longer than `fallback_budget`.
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import BaseModel, Field

from bot.literature import build_literature
from bot.models import Answer, AnswerStatus
from bot.settings import Settings
from knowledge.literature import Literature, LiteratureError
from knowledge.papers import Paper
from knowledge.store import PaperStore
from knowledge.text import content_terms, content_words

__all__ = ["LiveFallback", "FallbackOutcome", "evidence_is_weak", "FALLBACK_ADDED_BY"]

logger = logging.getLogger(__name__)

FALLBACK_ADDED_BY = "citewise:fallback"
_SOURCE_NAMES = {"openalex": "OpenAlex", "arxiv": "arXiv"}
_QUERY_WORDS = 10


class FallbackOutcome(BaseModel):
    """What one trip to the literature brought back."""

    searched: list[str] = Field(default_factory=list)  # sources that answered
    found: int = 0
    added: list[str] = Field(default_factory=list)  # ids new to the store
    error: str | None = None

    @property
    def looked(self) -> bool:
        return bool(self.searched)

    def note(self) -> str:
        where = " and ".join(_SOURCE_NAMES.get(s, s) for s in self.searched)
        if self.added:
            n = len(self.added)
            return (
                f"The team's papers had little on this, so I also searched {where} and added "
                f"{n} paper{'s' if n != 1 else ''} to the store; this answer may cite them."
            )
        return f"The team's papers had little on this, so I also searched {where}, but found nothing new to add."

    def failure_note(self) -> str:
        return ("The team's papers had little on this; I also tried to search the wider literature, "
                f"but could not ({self.error}).")


def evidence_is_weak(answer: Answer, store: PaperStore, threshold: float) -> bool:
    """Nothing found, or the best cited paper mentions too few of the question's words."""
    if answer.status is AnswerStatus.invalid_question:
        return False
    if answer.status is AnswerStatus.no_evidence or not answer.sources:
        return True
    wanted = set(content_terms(answer.question))
    if not wanted:
        return False
    papers = store.get_many([s.id for s in answer.sources])
    return max((paper.coverage(wanted) for paper in papers.values()), default=0.0) < threshold


class LiveFallback:
    """Searches the literature for a question and adds the top results to the store."""

    def __init__(self, settings: Settings, store: PaperStore, literature: Literature | None = None) -> None:
        self.settings = settings
        self.store = store
        self._literature = literature

    @property
    def literature(self) -> Literature:
        if self._literature is None:  # one client for the process: its cache spans questions
            self._literature = build_literature(self.settings, timeout=self.settings.fallback_budget)
        return self._literature

    def is_weak(self, answer: Answer) -> bool:
        return evidence_is_weak(answer, self.store, self.settings.fallback_threshold)

    async def extend(self, question: str) -> FallbackOutcome:
        """Search, then add; any failure becomes `outcome.error`, never an exception."""
        query = " ".join(content_words(question)[:_QUERY_WORDS])
        if not query:
            return FallbackOutcome(error="no words to search for")
        try:
            outcome, papers = await asyncio.wait_for(self._search(query), timeout=self.settings.fallback_budget)
        except asyncio.TimeoutError:
            return FallbackOutcome(error=f"no answer within {self.settings.fallback_budget:g}s")
        except Exception as exc:  # noqa: BLE001 - the fallback must never break an answer
            logger.exception("live fallback failed")
            return FallbackOutcome(error=f"unexpected error ({type(exc).__name__})")
        if papers:
            try:
                report = await asyncio.to_thread(self.store.add_papers, papers, added_by=FALLBACK_ADDED_BY)
            except Exception as exc:  # noqa: BLE001
                logger.exception("live fallback could not add papers")
                return FallbackOutcome(error=f"could not add papers ({type(exc).__name__})")
            outcome.added = report.added
        logger.info("live fallback searched=%s found=%d added=%d", outcome.searched, outcome.found, len(outcome.added))
        return outcome

    async def _search(self, query: str) -> tuple[FallbackOutcome, list[Paper]]:
        sources = list(dict.fromkeys(self.settings.fallback_sources))
        results = await asyncio.gather(
            *(self.literature.search(query, source=s, limit=self.settings.fallback_results) for s in sources),
            return_exceptions=True,
        )
        outcome = FallbackOutcome()
        papers: list[Paper] = []
        errors = []
        for source, result in zip(sources, results):
            if isinstance(result, LiteratureError):
                errors.append(str(result))
                continue
            if isinstance(result, BaseException):
                raise result
            outcome.searched.append(source)
            useful = [p for p in result if p.sentences]  # a paper without an abstract can't be quoted
            outcome.found += len(useful)
            papers += useful
        if not outcome.searched:
            outcome.error = "; ".join(errors)
        return outcome, papers

    async def aclose(self) -> None:
        if self._literature is not None:
            await self._literature.aclose()
