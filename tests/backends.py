"""The parts one backend provides, for tests that run the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.conversations import ConversationStore
from bot.settings import Settings

__all__ = ["Backend"]


@dataclass
class Backend:
    name: str
    store: Any  # SQLitePaperStore | PostgresPaperStore (both satisfy knowledge.protocols.PaperStore)
    conversations: ConversationStore
    settings: Settings
    another_worker: Callable[[], ConversationStore]  # the same tables, seen by another worker process
