"""The PostgreSQL paper store: many workers over one database, each with its own search index.

`database.py` is the pool and the versioned migrations (shared with the bot's tables),
`store.py` the `PaperStore`, `feed.py` the change source each worker's tantivy index
catches up from.
"""

from __future__ import annotations

from knowledge.postgres.database import PostgresDatabase
from knowledge.postgres.store import PostgresPaperStore

__all__ = ["PostgresDatabase", "PostgresPaperStore"]
