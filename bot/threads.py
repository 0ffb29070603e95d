"""Reading conversations back: the thread list and one thread's turns with their answers.

Chat platforms keep their own history, so only an adapter that draws the history
itself (the web chat) needs this. It reads what the `ConversationStore` already holds, off the
event loop, so a reload or a restart shows exactly what was asked and answered.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel

from bot.conversations import ConversationStore
from bot.core import Citewise
from bot.models import Answer, Turn

__all__ = ["Threads", "ThreadSummary", "ThreadTurn"]


class ThreadSummary(BaseModel):
    """One conversation as a list shows it: its first question, size and latest activity."""

    id: str
    title: str
    turns: int
    last_asked_at: datetime


class ThreadTurn(BaseModel):
    """One question of a thread, its stored answer (None if unreadable) and this user's vote."""

    turn: Turn
    answer: Answer | None = None
    vote: str | None = None


class Threads:
    """The read side of the conversation tables, for one platform's id prefix."""

    def __init__(self, memory: ConversationStore, *, prefix: str) -> None:
        self._memory = memory
        self.prefix = prefix

    @classmethod
    def of(cls, core: Citewise, *, prefix: str) -> Threads:
        return cls(core.memory, prefix=prefix)

    async def recent(self, limit: int = 50) -> list[ThreadSummary]:
        rows = await asyncio.to_thread(self._memory.recent_conversations, self.prefix, limit)
        return [ThreadSummary.model_validate({"id": i, "title": title, "turns": n, "last_asked_at": last})
                for i, title, n, last in rows]  # the stored ISO time, parsed by pydantic

    async def thread(self, conversation_id: str, user_id: str) -> list[ThreadTurn]:
        """Every turn of a conversation in order; empty when there is no such conversation."""
        return await asyncio.to_thread(self._thread_now, conversation_id, user_id)

    async def vote(self, answer_id: str, user_id: str) -> str | None:
        votes = await asyncio.to_thread(self._memory.feedback, answer_id)
        return votes.get(user_id)

    def _thread_now(self, conversation_id: str, user_id: str) -> list[ThreadTurn]:
        if not conversation_id.startswith(self.prefix):
            return []
        turns = self._memory.conversation(conversation_id).turns
        return [
            ThreadTurn(turn=t, answer=self._memory.answer(t.answer_id), vote=self._memory.feedback(t.answer_id).get(user_id))
            for t in turns
        ]
