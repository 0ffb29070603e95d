"""The Citewise core: from a `Question` to a verified, cited `Answer`.

Async at the edges, blocking work (search, SQLite, sentence scoring) in worker
threads, so one slow question never delays another user's acknowledgement. A
global limit bounds concurrent answers and a per-user limit keeps one person
from starving the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.assemble import compose_answer
from bot.conversations import ConversationStore
from bot.evidence import score_sentences, select_evidence
from bot.fallback import LiveFallback
from bot.followups import QueryPlan, plan_query
from bot.models import Answer, AnswerStatus, Question, SearchHit, Turn
from bot.questions import problem_with
from bot.settings import Settings
from bot.truecite import verify_answer
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from knowledge.protocols import PaperStore
from knowledge.text import content_words, stem_words

__all__ = ["Citewise"]

logger = logging.getLogger(__name__)

_CANDIDATES = 8
_MIN_COVERAGE = 0.34
_RELATIVE_FLOOR = 0.4
_SEEN_PENALTY = 0.3


class Citewise:
    """Answers questions from a `PaperStore`; one instance serves every adapter."""

    def __init__(
        self,
        settings: Settings,
        store: PaperStore,
        conversations: ConversationStore,
        *,
        fallback: LiveFallback | None = None,
    ) -> None:
        """Parts are chosen and wired by `bot.compose.build_citewise`; a test passes its own."""
        self.settings = settings
        self.store = store
        self.memory = conversations
        self._all = asyncio.Semaphore(max(1, settings.max_concurrent_answers))
        self.fallback: LiveFallback | None = fallback
        self._per_user: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(max(1, settings.per_user_concurrency))
        )

    # ── answering ─────────────────────────────────────────────────────────
    async def answer(self, question: Question) -> Answer:
        started = time.perf_counter()
        async with self._slot(question.user_id):
            if self.fallback is None:
                answer = await asyncio.to_thread(self.answer_now, question)
            else:
                answer = await self._answer_with_fallback(question, self.fallback)
        logger.info(
            "answered question=%s platform=%s status=%s latency_ms=%.0f sources=%d verified=%s",
            question.id,
            question.platform,
            answer.status.value,
            (time.perf_counter() - started) * 1000,
            answer.sources_cited,
            answer.verification.passed,
        )
        logger.debug("question %s text: %r", question.id, question.text)
        return answer

    @asynccontextmanager
    async def _slot(self, user_id: str) -> AsyncIterator[None]:
        async with self._per_user[user_id], self._all:
            yield

    async def _answer_with_fallback(self, question: Question, fallback: LiveFallback) -> Answer:
        """Answer from the store; if its evidence is weak, search the literature and answer again."""
        follow_up = await self.has_conversation(question.conversation_id)
        answer, query = await asyncio.to_thread(self._compose, question)
        weak = answer.status is AnswerStatus.no_evidence or (
            not follow_up and await asyncio.to_thread(fallback.is_weak, answer)
        )
        if weak and answer.status is not AnswerStatus.invalid_question:
            outcome = await fallback.extend(question.text)
            if outcome.added:
                answer, query = await asyncio.to_thread(self._compose, question)
            if outcome.looked:
                answer = answer.model_copy(update={"looked_beyond": True, "beyond_note": outcome.note()})
            elif outcome.error:
                answer = answer.model_copy(update={"beyond_note": outcome.failure_note()})
        if query is not None:
            await asyncio.to_thread(self._remember, question, query, answer)
        return answer

    def answer_now(self, question: Question) -> Answer:
        """The blocking pipeline, from the store alone; `answer` runs it off the event loop."""
        answer, query = self._compose(question)
        if query is not None:
            self._remember(question, query, answer)
        return answer

    def _remember(self, question: Question, query: str, answer: Answer) -> None:
        cited = [s.id for s in answer.sources]
        self.memory.record_turn(
            question.conversation_id,
            Turn(question=question.text, query=query, answer_id=answer.id, cited_ids=cited),
            answer,
        )

    def _compose(self, question: Question) -> tuple[Answer, str | None]:
        """The answer and the query it searched (None for a question rejected before searching)."""
        searched = self.store.index.size
        base = {"question": question.text, "question_id": question.id, "conversation_id": question.conversation_id,
                "searched": searched}
        problem = problem_with(question.text, max_chars=self.settings.max_question_chars)
        if problem is not None:
            shown = question.text if len(question.text) <= 200 else question.text[:200].rstrip() + "…"
            return Answer(status=AnswerStatus.invalid_question, message=problem, **{**base, "question": shown}), None
        conversation = self.memory.conversation(question.conversation_id)
        last = self.memory.answer(conversation.turns[-1].answer_id) if conversation.turns else None
        plan = plan_query(question.text, conversation, last)
        candidates = self._candidates(plan, question.text)
        answer = self._assemble(question.text, plan, candidates).model_copy(update=base)
        answer = verify_answer(answer, self.store.get_many)
        if answer.status is AnswerStatus.no_evidence and not answer.message:
            answer.message = _no_evidence_message(searched)
        return answer, plan.query_text

    def _candidates(self, plan: QueryPlan, text: str) -> list[tuple[Paper, float]]:
        terms = [WeightedTerm(w) for w in plan.main_words]
        terms += [WeightedTerm(w, plan.topic_weight) for w in plan.topic_words if plan.topic_weight > 0]
        # The dense signal (when on) reads the question itself; a follow-up ("its limitations?")
        # means little alone, so it reads the words searched, the thread's topic included.
        hits = self.store.search(terms, k=_CANDIDATES, text=plan.query_text if plan.is_followup else text)
        if hits:
            # Papers far below the best match are off-topic noise, not sources.
            floor = hits[0][1] * _RELATIVE_FLOOR
            hits = [(p, s) for p, s in hits if s >= floor]
        if plan.focus_ids:
            focus = self.store.get_many(plan.focus_ids)
            top = max((s for _, s in hits), default=1.0)
            return [(focus[i], top) for i in plan.focus_ids if i in focus]
        if plan.topic and plan.topic_weight >= 1.0:
            # A follow-up that leans on the thread ("its limitations") stays on the thread's topic.
            on_topic = [(p, s) for p, s in hits if p.id in plan.prior_ids or p.coverage(set(plan.topic)) >= _MIN_COVERAGE]
            hits = on_topic or hits
        found = {p.id for p, _ in hits}
        extra = [i for i in plan.prior_ids if i not in found]
        if extra and hits:
            # Papers already cited in this thread stay in play for its follow-ups.
            prior = self.store.get_many(extra[:4])
            floor = min(s for _, s in hits)
            hits += [(prior[i], floor) for i in extra[:4] if i in prior]
        return hits

    def _assemble(self, text: str, plan: QueryPlan, candidates: list[tuple[Paper, float]]) -> Answer:
        if not candidates or not plan.main:
            return Answer(question=text, status=AnswerStatus.no_evidence)
        if not plan.focus_ids and not _covers(plan, candidates):
            return Answer(question=text, status=AnswerStatus.no_evidence)
        # The thread's topic picked the papers; this question's own words pick the sentences.
        scored = score_sentences(plan.main, plan.topic, min(plan.topic_weight, 0.35), candidates)
        if plan.seen and not plan.focus_ids:
            # A follow-up should add something: what the last answer said counts for less.
            for s in scored:
                if (s.paper.id, s.index) in plan.seen:
                    s.score -= _SEEN_PENALTY
            scored.sort(key=lambda s: s.score, reverse=True)
        chosen = select_evidence(scored)
        if not chosen:
            return Answer(question=text, status=AnswerStatus.no_evidence)
        used = {(s.paper.id, s.index) for s in chosen}
        further = select_evidence(
            [s for s in scored if (s.paper.id, s.index) not in used],
            max_sentences=4,
            min_sentences=0,
            max_words=140,
            min_relevance=0.3,
        )
        return compose_answer(question=text, chosen=chosen, further=further, scored=scored)

    # ── search, answers, feedback, events ─────────────────────────────────
    async def search(self, query: str, k: int = 10) -> list[SearchHit]:
        return await asyncio.to_thread(self.search_now, query, k)

    def rank_now(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Paper ids and scores for a standalone question, best first, as answers retrieve them."""
        return self.store.rank([WeightedTerm(w) for w in content_words(query)], k, text=query)

    def search_now(self, query: str, k: int = 10) -> list[SearchHit]:
        words = content_words(query)
        terms = stem_words(words)
        hits = self.store.search([WeightedTerm(w) for w in words], k=k, text=query)
        results: list[SearchHit] = []
        for rank, (paper, score) in enumerate(hits, start=1):
            scored = score_sentences(terms, [], 0.0, [(paper, score)])
            takeaway = scored[0].text if scored else ""
            results.append(
                SearchHit(rank=rank, id=paper.id, title=paper.title, year=paper.year, score=round(score, 4),
                          takeaway=takeaway, url=paper.link, origin=paper.origin, added_by=paper.added_by,
                          added_at=paper.added_at)
            )
        return results

    async def stored_answer(self, answer_id: str) -> Answer | None:
        return await asyncio.to_thread(self.memory.answer, answer_id)

    async def record_feedback(self, answer_id: str, user_id: str, value: str, platform: str = "") -> None:
        await asyncio.to_thread(self.memory.record_feedback, answer_id, user_id, value, platform)

    async def claim_event(self, key: str) -> bool:
        """True the first time an event key is seen (persisted, so retries after a restart are caught)."""
        return await asyncio.to_thread(self.memory.claim_event, key)

    async def has_conversation(self, conversation_id: str) -> bool:
        return await asyncio.to_thread(self.memory.has_conversation, conversation_id)

    async def paper_count(self) -> int:
        return await asyncio.to_thread(self.store.count)

    def close(self) -> None:
        self.store.close()

    async def aclose(self) -> None:
        """Close the literature client (an aiohttp session) as well as the store."""
        if self.fallback is not None:
            await self.fallback.aclose()
        self.close()


def _covers(plan: QueryPlan, candidates: list[tuple[Paper, float]]) -> bool:
    """Whether any candidate paper mentions enough of the question to be about it at all."""
    wanted = set(plan.main)
    if plan.topic_weight >= 1.0:
        wanted |= set(plan.topic)  # "what are its limitations?" is about the thread's topic
    if not wanted:
        return False
    need = 1.0 if len(wanted) == 1 else _MIN_COVERAGE
    return any(paper.coverage(wanted) >= need for paper, _ in candidates[:5])


def _no_evidence_message(searched: int) -> str:
    return (
        f"I searched {searched:,} papers in the store and found none that address this question, "
        "so I won't guess. Try different wording, or add papers on the topic."
    )
