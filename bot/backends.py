"""Which database backs the store: the SQLite file (default) or PostgreSQL (`CITEWISE_DATABASE_URL`).

Used only by `bot.compose`, the composition root. PostgreSQL is imported only when it is
configured, so a single-team install needs neither psycopg nor a server.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.conversations import ConversationStore, SQLiteConversations
from bot.settings import Settings
from knowledge.store import SQLitePaperStore

if TYPE_CHECKING:
    from knowledge.postgres import PostgresPaperStore

__all__ = ["open_conversations", "open_store"]

logger = logging.getLogger(__name__)


def open_store(settings: Settings) -> SQLitePaperStore | PostgresPaperStore:
    url = settings.postgres_url
    if url is None:
        return SQLitePaperStore(settings.db_path)
    from knowledge.postgres import PostgresDatabase, PostgresPaperStore
    from knowledge.postgres.slots import claim_slot

    db = PostgresDatabase(url, pool_size=settings.database_pool_size)
    slot = claim_slot(settings.pg_index_dir)
    logger.info("paper store: %s, this worker's index in %s", db.path, slot)
    return PostgresPaperStore(db, slot)


def open_conversations(store: SQLitePaperStore | PostgresPaperStore, settings: Settings) -> ConversationStore:
    """The bot's tables beside the papers: in the same SQLite file, or the same PostgreSQL database."""
    if isinstance(store, SQLitePaperStore):
        return SQLiteConversations(store.db, claim_timeout=settings.claim_timeout)
    from bot.postgres_conversations import PostgresConversations

    return PostgresConversations(store.db, claim_timeout=settings.claim_timeout)
