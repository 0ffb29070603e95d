"""A neutral chat adapter for tests: push a message in, pop what the bot said back.

Like Errbot's `TestBackend`: no platform, no network, just the router's rules and the
core's answers. It acts on decisions the way every real adapter does — answer in the
thread, grow the store, list search hits — so the routing rules are tested once here
and the Slack and Discord fakes only test their platform's etiquette.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from bot.core import Citewise
from bot.models import Answer, InboundFile, InboundMessage, PaperReply
from bot.papers import PaperService
from bot.router import AddPapers, Ask, Decision, Ignore, Router, Search

__all__ = ["PushPopBackend", "Said"]

PLATFORM = "test"


@dataclass
class Said:
    """One thing the bot said, and where."""

    thread: str
    answer: Answer | None = None
    papers: PaperReply | None = None
    follow_up: bool = False


@dataclass
class PushPopBackend:
    """`replies_open_threads`: follow-ups happen in a thread opened on the bot's reply (Discord),
    not in a thread under the question (Slack)."""

    core: Citewise
    papers: PaperService
    router: Router
    replies_open_threads: bool = False
    said: deque[Said] = field(default_factory=deque)
    decisions: list[Decision] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def message(self, text: str, *, thread: str | None = None, user: str = "U1", mentioned: bool = False,
                dm: bool = False, files: tuple[str, ...] = (), event_id: str | None = None,
                message_id: str | None = None, from_bot: bool = False, from_self: bool = False) -> InboundMessage:
        """A message as an adapter would translate it; `thread` is the thread it is posted in."""
        message_id = message_id or f"m{next(self._ids)}"
        if thread is not None:
            key: str | None = f"{PLATFORM}:{thread}"
        else:
            key = None if self.replies_open_threads else f"{PLATFORM}:{message_id}"
        return InboundMessage(platform=PLATFORM, text=text, user=user, conversation_key=key,
                              in_thread=thread is not None, mentioned=mentioned, is_dm=dm, from_bot=from_bot,
                              from_self=from_self, files=[InboundFile(name=f) for f in files],
                              message_id=message_id, event_id=event_id)

    async def push(self, text: str, **options: object) -> Decision:
        """Route one message and act on the decision; returns the decision for assertions."""
        message = self.message(text, **options)  # type: ignore[arg-type]
        decision = await self.router.route(message)
        self.decisions.append(decision)
        await self.act(decision, message)
        return decision

    async def act(self, decision: Decision, message: InboundMessage) -> None:
        thread = (message.conversation_key or "").removeprefix(f"{PLATFORM}:")
        if isinstance(decision, Ignore):
            return
        if isinstance(decision, Ask):
            answer = await self.core.answer(decision.question)
            where = thread
            if self.replies_open_threads and not message.in_thread:
                where = f"r-{message.message_id}"  # the thread opened on our reply
                await self.router.continue_at(decision.question, f"{PLATFORM}:{where}")
            self.said.append(Said(thread=where, answer=answer, follow_up=decision.follow_up))
        elif isinstance(decision, Search):
            self.said.append(Said(thread=thread, papers=await self.papers.paper_search(decision.query)))
        elif isinstance(decision, AddPapers):
            reply = await self.papers.add_shared(decision.command, decision.added_by, [], [], shared=False)
            self.said.append(Said(thread=thread, papers=reply))

    def pop(self) -> Said:
        return self.said.popleft()
