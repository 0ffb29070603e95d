"""The composition root: the one place concrete parts are chosen and wired.

Everything else takes its parts (`PaperStore`, `ConversationStore`, the literature
fallback, the embedder) as arguments, so a test or a new backend passes its own
instead of patching. A second implementation — a PostgreSQL store, an LLM
synthesizer, a web adapter — is one new module and one line here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.backends import open_conversations, open_store
from bot.conversations import ConversationStore, SQLiteConversations
from bot.core import Citewise
from bot.pipeline.retrieve import Retriever
from bot.pipeline.synthesize import Synthesizer
from bot.settings import Settings
from knowledge.store import SQLitePaperStore

# The literature client (aiohttp), ingestion (PDF parsing) and dense search (numpy, torch) are
# imported where they are built, so a command that needs none of them does not pay for them.
if TYPE_CHECKING:
    from bot.fallback import LiveFallback
    from bot.papers import PaperService
    from bot.pipeline.synthesize.llm import LLMSynthesizer
    from bot.router import Router
    from knowledge.dense import Embedder
    from knowledge.ingest import IngestResult
    from knowledge.literature import Literature
    from knowledge.postgres import PostgresPaperStore

__all__ = ["build_citewise", "build_paper_service", "build_router"]

logger = logging.getLogger(__name__)


def build_citewise(
    settings: Settings,
    *,
    store: SQLitePaperStore | PostgresPaperStore | None = None,
    conversations: ConversationStore | None = None,
    fallback: LiveFallback | None = None,
    embedder: Embedder | None = None,
    retriever: Retriever | None = None,
    synthesizer: Synthesizer | None = None,
    writer: LLMSynthesizer | None = None,
) -> Citewise:
    """A core over the settings' store file (or the parts given), dense search and fallback as configured.

    The pipeline's pluggable stages default to `StoreRetriever` over the store and the
    `ExtractiveSynthesizer`; a new one is passed (or chosen from the settings) here. The
    optional language model (`writer`, rewriting the verified answer) is the one at
    `CITEWISE_LLM_URL` unless one is passed."""
    store = store if store is not None else open_store(settings)
    if settings.dense and store.dense is None:
        _attach_dense(store, settings, embedder)
    if conversations is None:
        conversations = open_conversations(store, settings)  # the bot's tables, beside the papers
    if fallback is None and settings.fallback_enabled:
        from bot.fallback import LiveFallback

        fallback = LiveFallback(settings, store)  # type: ignore[arg-type]  # adds papers through the same surface
    if writer is None and settings.llm_enabled:
        from bot.pipeline.synthesize.llm import LLMSynthesizer  # aiohttp: only when a model is configured

        writer = LLMSynthesizer.from_settings(settings)
    return Citewise(settings, store, conversations, fallback=fallback, retriever=retriever, synthesizer=synthesizer,
                    writer=writer)


def build_paper_service(core: Citewise, *, literature: Callable[[], Literature] | None = None) -> PaperService:
    """The `/paper` verbs over the core's store; the literature client is made on first use."""
    from bot.literature import build_literature
    from bot.papers import PaperService
    from knowledge.ingest import IngestError, ingest_bytes

    store = core.store

    def ingest(filename: str, data: bytes, added_by: str) -> IngestResult:
        if not hasattr(store, "record_file"):  # file ingestion writes a database store's own tables
            raise IngestError("this paper store does not take shared files")
        return ingest_bytes(store, filename, data, added_by=added_by)  # type: ignore[arg-type]  # same surface

    return PaperService(core.settings, store, core.search, literature or (lambda: build_literature(core.settings)),
                        ingest)


def build_router(core: Citewise, *, answer_bots: bool = False) -> Router:
    from bot.router import Router

    # The SQLite file is in-process and fast to write: route inline (see Router).
    return Router(core.memory, answer_bots=answer_bots, inline=isinstance(core.memory, SQLiteConversations))


def _attach_dense(store: SQLitePaperStore | PostgresPaperStore, settings: Settings, embedder: Embedder | None) -> None:
    from knowledge.dense import MiniLMEmbedder, require_dense

    if embedder is None:
        require_dense("CITEWISE_DENSE")
        embedder = MiniLMEmbedder()
    dense = store.attach_dense(embedder, method=settings.dense_fusion, dense_weight=settings.dense_weight)
    logger.info("dense retrieval on: %s, %d papers embedded, %s fusion (dense weight %.2f)",
                embedder.name, dense.size, settings.dense_fusion, settings.dense_weight)
