"""Inbound message → what to do: Ask, AddPapers, Search or Ignore — the same rules on every platform.

Adapters translate a platform event into an `InboundMessage` and act on the decision;
everything a second platform would also need is decided here, once:

- never answer ourselves, nor other bots unless told to;
- a delivery seen before (a platform retry, also after a restart) or a post already
  handled (Slack sends `app_mention` and `message` for one mention) is dropped: a message
  for us claims its delivery's event id and its post together, in one atomic claim
  persisted in the `ConversationStore` (messages not for us claim nothing);
- a message is for us when it mentions us, is a DM, or continues one of our
  conversations in its thread (someone else's thread, and wordless messages, are not);
- a mention or DM carrying a `paper …` command or paper files grows the store;
- anything else for us is a question, and its conversation is opened *before* it is
  answered, so a follow-up posted while the first answer is on its way is ours too;
- a question whose adapter says where to reply (`reply_to`) keeps its post's claim until
  the adapter calls `finish`: if this worker stops first, another resumes it (bot/claims.py).
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from bot.commands import is_for_the_store, paper_command_in, parse_paper_command
from bot.conversations import ConversationStore
from bot.lanes import Lane
from bot.models import HeldClaim, InboundFile, InboundMessage, Question

__all__ = ["AddPapers", "Ask", "Decision", "Ignore", "Router", "Search"]

logger = logging.getLogger(__name__)


class Ask(BaseModel):
    """Answer `question`; `follow_up` when its conversation already has turns.

    `resumed` is set when this delivery took the question over from a worker that stopped
    mid-answer: its placeholder and recorded answer, for the adapter to finish in place.
    """

    question: Question
    follow_up: bool = False
    resumed: HeldClaim | None = None


class AddPapers(BaseModel):
    """Run the `paper …` command (possibly empty) with the files shared alongside it."""

    command: str
    added_by: str
    files: list[InboundFile] = Field(default_factory=list)


class Search(BaseModel):
    """List the store's best matches for `query` (a `paper search …` mention)."""

    query: str


class Ignore(BaseModel):
    reason: str


Decision = Ask | AddPapers | Search | Ignore


class Router:
    """Decides what an inbound message asks of Citewise, and starts its conversation.

    Routing is what Slack's acknowledgement waits on, so it never queues behind answers in
    the shared executor. Over an in-process store (SQLite: a route is a few tenths of a
    millisecond of local writes) it runs inline on the event loop, since even a hop to an idle
    thread costs tens of milliseconds while answers keep the cores busy; over a networked
    store (PostgreSQL) each call is one hop to the router's own lane (bot/lanes.py), so a slow
    round trip never stalls the loop.
    """

    def __init__(self, conversations: ConversationStore, *, answer_bots: bool = False, inline: bool = False) -> None:
        self._conversations = conversations
        self._answer_bots = answer_bots
        self._inline = inline
        self._lane = Lane("router", threads=2)

    async def route(self, message: InboundMessage, *, reply_to: str | None = None) -> Decision:
        """The decision for `message`; the delivery keys it claimed are finished with it.

        With `reply_to` (the adapter's note of where the answer goes) an Ask keeps its
        post's claim, held with the question, until the adapter calls `finish`.
        """
        if self._inline:
            return self._route_now(message, reply_to)
        return await self._lane.run(self._route_now, message, reply_to)

    def _route_now(self, message: InboundMessage, reply_to: str | None) -> Decision:
        platform = message.platform
        if message.from_self:
            return _ignore(message, "our own post")
        if message.from_bot and not self._answer_bots:
            return _ignore(message, "another bot")
        addressed = message.mentioned or message.is_dm
        if not addressed:
            if not (message.in_thread and message.text and message.conversation_key):
                return _ignore(message, "not addressed to us")
            if not self._conversations.is_open(message.conversation_key):
                return _ignore(message, "someone else's thread")
        command = paper_command_in(message.command_text if message.command_text is not None else message.text)
        for_the_store = addressed and is_for_the_store(command, [f.name for f in message.files], message.text)
        post = _post_key(platform, message.message_id)
        keys = [f"{platform}:event:{message.event_id}"] if message.event_id else []
        keys.append(post)
        # One statement claims the delivery; only a question someone can resume keeps its post held.
        held = post if reply_to is not None and not for_the_store else None
        if not self._conversations.claim_delivery(keys, held=held):
            return _ignore(message, "delivery already handled (a retry, or the post's twin)")
        if for_the_store:
            parsed = parse_paper_command(command or "", with_files=bool(message.files))
            if parsed.verb == "search" and not message.files:
                return Search(query=parsed.query)
            return AddPapers(command=command or "", added_by=f"{platform}:{message.user}", files=message.files)
        ask = self._ask_now(platform, message.text, message.user, message.conversation_key, message.message_id, None)
        if held is not None and reply_to is not None:
            self._hold(ask, held, reply_to)
        return ask

    async def ask(self, *, platform: str, text: str, user: str, conversation_key: str | None,
                  message_id: str, reply_to: str | None = None) -> Ask:
        """A question for sure (`/ask`, or a routed message): open its conversation, then hand it back.

        Without a `conversation_key` the conversation opens under the message itself,
        and the adapter names where it continues with `continue_at` once it knows.
        With `reply_to` (`/ask`, which no router claimed) the question is claimed and held.
        """
        return await self._lane.run(self._ask_now, platform, text, user, conversation_key, message_id, reply_to)

    def _ask_now(self, platform: str, text: str, user: str, conversation_key: str | None, message_id: str,
                 reply_to: str | None) -> Ask:
        place = conversation_key or f"{platform}:reply-to:{message_id}"
        follow_up = self._conversations.has_conversation(place)
        conversation_id = self._conversations.open(place)
        question = Question(text=text, user_id=user or "unknown", platform=platform, conversation_id=conversation_id)
        ask = Ask(question=question, follow_up=follow_up)
        if reply_to is not None:
            key = _post_key(platform, message_id)
            if self._conversations.claim_event(key):
                self._hold(ask, key, reply_to)
        return ask

    def _hold(self, ask: Ask, key: str, reply_to: str) -> None:
        ask.question = ask.question.model_copy(update={"claim": key})
        held = self._conversations.hold_claim(key, ask.question, reply_to)
        if held is not None and held.question.id != ask.question.id:  # a stopped worker's question, now ours
            ask.question = held.question.model_copy(update={"claim": key})
            ask.resumed = held

    async def note_reply(self, question: Question, reply_ref: str) -> None:
        """Where `question`'s answer is being shown (a placeholder): a resumed answer replaces it there."""
        if question.claim is not None:
            await self._lane.run(self._conversations.note_reply, question.claim, reply_ref)

    async def finish(self, question: Question) -> None:
        """`question`'s answer (or an apology) is shown: its claim is done, nobody resumes it."""
        if question.claim is not None:
            await self._lane.run(self._conversations.finish_claims, [question.claim])

    async def resume(self, claim: HeldClaim) -> Ask:
        """A question a stopped worker held, as this worker's own Ask (its claim now ours)."""
        question = claim.question.model_copy(update={"claim": claim.key})
        follow_up = await self._lane.run(self._conversations.has_conversation, question.conversation_id)
        return Ask(question=question, follow_up=follow_up and claim.answer_id is None, resumed=claim)

    async def continue_at(self, question: Question, place: str) -> None:
        """Follow-ups at `place` (e.g. the thread opened on the answer) continue `question`'s conversation."""
        await self._lane.run(self._conversations.continue_at, question.conversation_id, place)


def _post_key(platform: str, message_id: str) -> str:
    return f"{platform}:post:{message_id}"


def _ignore(message: InboundMessage, reason: str) -> Ignore:
    logger.debug("ignoring %s message %s: %s", message.platform, message.message_id, reason)
    return Ignore(reason=reason)
