"""Retrieval: the candidate papers for a planned query.

`Retriever` is the seam (BM25 over the store, BM25 fused with dense vectors, a future
PostgreSQL-backed search …); `StoreRetriever` is the one the store provides. Follow-ups keep
their thread's papers in play and stay on its topic.
"""

from __future__ import annotations

from typing import Protocol

from bot.pipeline.plan import QueryPlan
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from knowledge.protocols import PaperStore

__all__ = ["Retriever", "StoreRetriever", "CANDIDATES"]

CANDIDATES = 8
_MIN_COVERAGE = 0.34
_PRIOR_KEPT = 4


class Retriever(Protocol):
    """Anything that turns a query plan into scored candidate papers, best first."""

    def retrieve(self, plan: QueryPlan, text: str) -> list[tuple[Paper, float]]: ...


class StoreRetriever:
    """Candidates from a `PaperStore`'s own search (BM25, or hybrid when dense is attached)."""

    def __init__(self, store: PaperStore, *, k: int = CANDIDATES) -> None:
        self.store = store
        self.k = k

    def retrieve(self, plan: QueryPlan, text: str) -> list[tuple[Paper, float]]:
        terms = [WeightedTerm(w) for w in plan.main_words]
        terms += [WeightedTerm(w, plan.topic_weight) for w in plan.topic_words if plan.topic_weight > 0]
        # The dense signal (when on) reads the question itself; a follow-up ("its limitations?")
        # means little alone, so it reads the words searched, the thread's topic included.
        hits = self.store.search(terms, k=self.k, text=plan.query_text if plan.is_followup else text)
        if plan.focus_ids:
            focus = self.store.get_many(plan.focus_ids)
            top = max((s for _, s in hits), default=1.0)
            return [(focus[i], top) for i in plan.focus_ids if i in focus]
        if plan.topic and plan.topic_weight >= 1.0:
            # A follow-up that leans on the thread ("its limitations") stays on the thread's topic.
            wanted = set(plan.topic)
            on_topic = [(p, s) for p, s in hits if p.id in plan.prior_ids or p.coverage(wanted) >= _MIN_COVERAGE]
            hits = on_topic or hits
        found = {p.id for p, _ in hits}
        extra = [i for i in plan.prior_ids if i not in found][:_PRIOR_KEPT]
        if extra and hits:
            # Papers already cited in this thread stay in play for its follow-ups.
            prior = self.store.get_many(extra)
            floor = min(s for _, s in hits)
            hits += [(prior[i], floor) for i in extra if i in prior]
        return hits
