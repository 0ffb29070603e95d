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
from typing import TYPE_CHECKING, Any

from bot.conversations import ConversationStore
from bot.models import Answer, AnswerStatus, Question, SearchHit, Source, Turn, Verdict
from bot.pipeline.concepts import Concept, Concepts, key_concepts
from bot.pipeline.evidence import ScoredSentence, best_sentence, score_sentences, select_evidence
from bot.pipeline.plan import QueryPlan, plan_query
from bot.pipeline.retrieve import Retriever, StoreRetriever
from bot.pipeline.sentences import sentences_of
from bot.pipeline.statements import choose_statements, rate_statements
from bot.pipeline.synthesize import SynthesisRequest, Synthesizer
from bot.pipeline.synthesize.extractive import ExtractiveSynthesizer
from bot.pipeline.verdict import CLOSEST, is_polar, not_addressed_text, with_verdict
from bot.pipeline.verify import verify_answer
from bot.questions import problem_with
from bot.settings import Settings
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from knowledge.protocols import PaperStore
from knowledge.text import content_words, stem_words

if TYPE_CHECKING:  # the fallback and the language model bring aiohttp: built only where they are used
    from bot.fallback import LiveFallback
    from bot.pipeline.synthesize.llm import LLMSynthesizer, OnDraft

__all__ = ["Citewise"]

logger = logging.getLogger(__name__)

_SEEN_PENALTY = 0.3
_RELATED_PAPERS = 4  # "More from these papers": at most this many related sentences
_RELATED_RELEVANCE = 0.15


class Citewise:
    """Answers questions from a `PaperStore`; one instance serves every adapter."""

    def __init__(
        self,
        settings: Settings,
        store: PaperStore,
        conversations: ConversationStore,
        *,
        fallback: LiveFallback | None = None,
        retriever: Retriever | None = None,
        synthesizer: Synthesizer | None = None,
        writer: LLMSynthesizer | None = None,
    ) -> None:
        """Parts are chosen and wired by `bot.compose.build_citewise`; a test passes its own."""
        self.settings = settings
        self.store = store
        self.memory = conversations
        self.retriever: Retriever = retriever or StoreRetriever(self.store)
        self.synthesizer: Synthesizer = synthesizer or ExtractiveSynthesizer()
        # The optional language model rewrites the verified extractive answer (awaited, not threaded).
        self.writer: LLMSynthesizer | None = writer
        self._all = asyncio.Semaphore(max(1, settings.max_concurrent_answers))
        self.fallback: LiveFallback | None = fallback
        self._per_user: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(max(1, settings.per_user_concurrency))
        )

    # ── answering ─────────────────────────────────────────────────────────
    async def answer(self, question: Question, *, on_draft: OnDraft | None = None) -> Answer:
        """The verified answer; with a language model configured, `on_draft` sees its unverified text as it streams."""
        started = time.perf_counter()
        async with self._slot(question.user_id):
            if self.fallback is None and self.writer is None:
                answer = await asyncio.to_thread(self.answer_now, question)
            else:
                answer = await self._answer_with_fallback(question, self.fallback, on_draft)
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

    async def _answer_with_fallback(self, question: Question, fallback: LiveFallback | None,
                                    on_draft: OnDraft | None = None) -> Answer:
        """Answer from the store; if its evidence is weak, search the literature and answer again."""
        follow_up = await self.has_conversation(question.conversation_id)
        answer, query = await asyncio.to_thread(self._compose, question)
        weak = fallback is not None and (answer.status is AnswerStatus.no_evidence or (
            not follow_up and await asyncio.to_thread(fallback.is_weak, answer)
        ))
        if fallback is not None and weak and answer.status is not AnswerStatus.invalid_question:
            outcome = await fallback.extend(question.text)
            if outcome.added:
                answer, query = await asyncio.to_thread(self._compose, question)
            if outcome.looked:
                answer = answer.model_copy(update={"looked_beyond": True, "beyond_note": outcome.note()})
            elif outcome.error:
                answer = answer.model_copy(update={"beyond_note": outcome.failure_note()})
        answer = await self._written(question, answer, on_draft)
        if query is not None:
            await asyncio.to_thread(self._remember, question, query, answer)
        return answer

    async def _written(self, question: Question, answer: Answer, on_draft: OnDraft | None) -> Answer:
        """The language model's version of a verified answer (or the answer itself, with a note)."""
        if self.writer is None or answer.status is not AnswerStatus.answered or not answer.sentences:
            return answer
        try:
            history, concepts = await asyncio.to_thread(self._thread_context, question)
            return await self.writer.write(answer, history=history, concepts=concepts, on_draft=on_draft)
        except Exception:  # noqa: BLE001 - the extractive answer stands; never a traceback
            logger.exception("llm synthesis failed question=%s", question.id)
            from bot.pipeline.synthesize.llm import NOTE_PREFIX

            return answer.model_copy(update={"synthesis_note": NOTE_PREFIX + "it failed unexpectedly"})

    def _thread_context(self, question: Question) -> tuple[list[str], Concepts | None]:
        """This thread's earlier questions, and the concepts the answer must address (as `_compose` sees them)."""
        conversation = self.memory.conversation(question.conversation_id)
        last = self.memory.answer(conversation.turns[-1].answer_id) if conversation.turns else None
        plan = plan_query(question.text, conversation, last)
        concepts = None if plan.focus_ids else self.concepts_of(plan, question.text)
        return [t.question for t in conversation.turns], concepts

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
            claim=question.claim,
        )

    def _compose(self, question: Question) -> tuple[Answer, str | None]:
        """The answer and the query it searched (None for a question rejected before searching).

        The stages, each its own module: plan (with the thread) → retrieve → concepts and
        evidence → synthesize → verify (found + on the question) → verdict.
        """
        searched = self.store.index.size
        base: dict[str, Any] = {"question": question.text, "question_id": question.id, "conversation_id": question.conversation_id,
                "searched": searched}
        problem = problem_with(question.text, max_chars=self.settings.max_question_chars)
        if problem is not None:
            shown = question.text if len(question.text) <= 200 else question.text[:200].rstrip() + "…"
            return Answer(status=AnswerStatus.invalid_question, message=problem, **{**base, "question": shown}), None
        conversation = self.memory.conversation(question.conversation_id)
        last = self.memory.answer(conversation.turns[-1].answer_id) if conversation.turns else None
        plan = plan_query(question.text, conversation, last)
        concepts = self.concepts_of(plan, question.text)
        candidates = self.retriever.retrieve(plan, question.text)
        answer = self._assemble(question, plan, concepts, candidates, searched).model_copy(update=base)
        answer = verify_answer(answer, self.store.get_many, None if plan.focus_ids else concepts)
        if answer.status is AnswerStatus.answered:
            answer = with_verdict(answer, question.text, polar=is_polar(question.text) and plan.topic_weight < 1.0,
                                  concepts=concepts)
        elif answer.verdict is not Verdict.not_addressed:
            answer = answer.model_copy(update={"verdict": Verdict.not_addressed,
                                               "verdict_text": not_addressed_text(concepts, [], self._in_store)})
        if answer.status is AnswerStatus.no_evidence and not answer.message:
            answer.message = _no_evidence_message(searched)
        return answer, plan.query_text

    def concepts_of(self, plan: QueryPlan, text: str) -> Concepts:
        """What the answer must be about: this question's concepts, or the thread's for "its limitations?"."""
        if plan.is_followup and plan.topic_weight >= 1.0:
            # "any RCTs?", "how large was the effect?": the thread's topic is what it is about.
            topic = key_concepts(" ".join(plan.topic_words), self.store.term_shares)
            if topic:
                return topic
        return key_concepts(text, self.store.term_shares)

    def _in_store(self, concept: Concept) -> bool:
        shares, _ = self.store.term_shares(list(concept.stems))
        return any(share > 0 for share in shares.values())

    def _assemble(self, question: Question, plan: QueryPlan, concepts: Concepts,
                  candidates: list[tuple[Paper, float]], searched: int) -> Answer:
        text = question.text
        if not candidates or not plan.main:
            return Answer(question=text, status=AnswerStatus.no_evidence)
        papers = [p for p, _ in candidates]
        if not plan.focus_ids and concepts:
            addressing = [p for p in papers if concepts.addressed_by(sentences_of(p).paper_tokens)]
            if not addressing:
                return self._not_addressed(text, concepts, candidates, plan, searched)
        # The thread's topic picked the papers; this question's own words pick the sentences.
        scored = score_sentences(plan.main, plan.topic, min(plan.topic_weight, 0.35), candidates)
        if plan.seen and not plan.focus_ids:
            # A follow-up should add something: what the last answer said counts for less.
            for s in scored:
                if (s.paper.id, s.index) in plan.seen:
                    s.score -= _SEEN_PENALTY
            scored.sort(key=lambda s: s.score, reverse=True)
        strict = not plan.is_followup and not plan.focus_ids
        rated = rate_statements(plan.main, scored, candidates, concepts, self.store.term_shares)
        if plan.focus_ids:
            # "tell me more about [2]": that paper's best sentences, not one sentence per paper.
            chosen = select_evidence(scored, max_sentences=3, min_sentences=1, max_words=90)
        else:
            chosen = [st.sentence for st in choose_statements(rated, strict=strict)]
        used = {(s.paper.id, s.index) for s in chosen}
        # Related findings ("More from these papers"): the next papers that are about the
        # question, one sentence each, then more from the cited ones — labelled as related.
        cited = {s.paper.id for s in chosen}
        addressing_ids = list(dict.fromkeys(st.sentence.paper.id for st in rated if st.addresses))
        # A fresh question may show the next-best retrieved papers as related; a follow-up stays
        # with papers on the thread's topic.
        ranked = addressing_ids if plan.is_followup else list(
            dict.fromkeys([*addressing_ids, *(p.id for p, _ in candidates)]))
        others = [p for p in ranked if p not in cited][:_RELATED_PAPERS]
        related: list[ScoredSentence] = []
        for paper_id in others:
            best = next((s for s in scored if s.paper.id == paper_id and (s.paper.id, s.index) not in used), None)
            if best is not None and best.relevance >= _RELATED_RELEVANCE:
                related.append(best)
        if len(related) < _RELATED_PAPERS:
            related += select_evidence(
                [s for s in scored if s.paper.id in cited and (s.paper.id, s.index) not in used],
                max_sentences=_RELATED_PAPERS - len(related), min_sentences=0, max_words=90,
                min_relevance=_RELATED_RELEVANCE,
            )
        if not chosen and not related:
            return self._not_addressed(text, concepts, candidates, plan, searched) if concepts else Answer(
                question=text, status=AnswerStatus.no_evidence)
        request = SynthesisRequest(question=text, statements=chosen, related=related, scored=scored)
        return self.synthesizer.synthesize(request)

    def _not_addressed(self, text: str, concepts: Concepts, candidates: list[tuple[Paper, float]],
                       plan: QueryPlan, searched: int) -> Answer:
        """No paper covers the question's concepts together: say so, and name the closest papers."""
        closest: list[Source] = []
        scored = score_sentences(plan.main, [], 0.0, candidates[:CLOSEST])
        for n, (paper, _) in enumerate(candidates[:CLOSEST], start=1):
            takeaway = next((s.text for s in scored if s.paper.id == paper.id), "")
            closest.append(Source(n=n, id=paper.id, title=paper.title, authors=paper.authors, year=paper.year,
                                  venue=paper.venue, url=paper.link, takeaway=takeaway))
        verdict_text = not_addressed_text(concepts, [p for p, _ in candidates], self._in_store)
        message = f"I searched {searched:,} papers and won't answer from papers that are not about it."
        if closest:
            message = (f"I searched {searched:,} papers; the closest are listed below, "
                       "none of them cited as an answer.")
        return Answer(question=text, status=AnswerStatus.no_evidence, verdict=Verdict.not_addressed,
                      verdict_text=verdict_text, closest=closest, message=message)

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
            takeaway = best_sentence(terms, paper, score)
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
        """True the first time an event key is seen (persisted, so retries after a restart are caught).

        Finished as it is claimed, in one write: a delivery seen is seen for good (only a question's own claim waits for its answer).
        """
        return await asyncio.to_thread(self.memory.claim_event, key, hold=False)

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
        if self.writer is not None:
            await self.writer.aclose()
        self.close()




def _no_evidence_message(searched: int) -> str:
    return (
        f"I searched {searched:,} papers in the store and found none that address this question, "
        "so I won't guess. Try different wording, or add papers on the topic."
    )
