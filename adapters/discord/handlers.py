"""What Citewise does for `/ask`, `/search`, a mention, and a message in one of its threads.

(`/paper` and files shared with a mention live in `papers`; `handle_message` routes them there.)

Every entry point acknowledges first (a deferred "thinking…" or the typing indicator),
then asks the core, then renders; each has one catch-all that logs with the question
id and leaves the user a short apology.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from adapters.discord.drafts import deferred_drafts
from adapters.discord.inbound import (
    conversation_key,
    in_thread,
    mentions_bot,
    provisional_key,
    question_from_interaction,
    question_from_message,
    question_text,
)
from adapters.discord.papers import add_from_message
from adapters.discord.render import Reply, render_answer, render_hits, thread_name
from adapters.discord.replies import NO_PINGS, apologize, apologize_in_channel
from adapters.discord.views import answer_view
from bot.core import Citewise
from bot.library import Library
from bot.models import Question

__all__ = ["ask", "search", "handle_message", "SEARCH_RESULTS"]

logger = logging.getLogger(__name__)

SEARCH_RESULTS = 10
_THREAD_ARCHIVE_MINUTES = 1440


def _payload(reply: Reply) -> dict[str, Any]:
    return {"content": reply.content or None, "embeds": reply.embeds, "allowed_mentions": NO_PINGS}


async def ask(core: Citewise, interaction: discord.Interaction[Any], text: str) -> None:
    """`/ask`: defer at once, answer as the follow-up, open a thread on it (unless already in one)."""
    await interaction.response.defer(thinking=True)
    threaded = in_thread(interaction.channel)
    key = conversation_key(interaction.channel_id or 0) if threaded else provisional_key(interaction.id)
    question = question_from_interaction(interaction, text, key)
    drafts = deferred_drafts(interaction) if core.writer is not None else None
    try:
        answer = await (core.answer(question, on_draft=drafts) if drafts else core.answer(question))
        if drafts is not None and drafts.sent:  # the deferred reply shows a draft: the verified answer replaces it
            message: Any = await interaction.edit_original_response(
                **_payload(render_answer(answer)), view=answer_view(answer))
        else:
            message = await interaction.followup.send(
                **_payload(render_answer(answer)), view=answer_view(answer), wait=True
            )
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord /ask failed question=%s", question.id)
        await apologize(interaction, discard_placeholder=True)
        return
    if not threaded:
        await _open_thread(core, interaction.channel, message.id, question.text, key)


async def search(core: Citewise, interaction: discord.Interaction[Any], query: str) -> None:
    """`/search`: the best-matching papers, like a search page."""
    await interaction.response.defer(thinking=True)
    try:
        hits = await core.search(query, k=SEARCH_RESULTS)
        await interaction.followup.send(**_payload(render_hits(query, hits)))
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord /search failed interaction=%s", interaction.id)
        await apologize(interaction, discard_placeholder=True)


async def handle_message(core: Citewise, library: Library, message: discord.Message, bot_id: int) -> None:
    """A mention works like `/ask` (or, with files or `paper …`, adds papers); a message in a Citewise thread is a follow-up."""
    if message.author.bot or message.author.id == bot_id:
        return
    if mentions_bot(message, bot_id) and await add_from_message(core, library, message, bot_id):
        return
    try:
        question = await _question_for(core, message, bot_id)
    except Exception:  # noqa: BLE001 - e.g. the store is unavailable: log, stay quiet in chat
        logger.exception("discord message %s could not be considered", message.id)
        return
    if question is None:
        return
    threaded = in_thread(message.channel)
    try:
        async with message.channel.typing():
            answer = await core.answer(question)
        sent = await message.channel.send(
            **_payload(render_answer(answer)), view=answer_view(answer),
            reference=None if threaded else message, mention_author=False,
        )
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord message answer failed question=%s", question.id)
        await apologize_in_channel(message)
        return
    if not threaded:
        await _open_thread(core, message.channel, sent.id, question.text, question.conversation_id)


async def _question_for(core: Citewise, message: discord.Message, bot_id: int) -> Question | None:
    """The question this message asks Citewise, or None when it is not addressed to it."""
    threaded = in_thread(message.channel)
    key = conversation_key(message.channel.id)
    addressed = mentions_bot(message, bot_id)
    if not addressed and not (threaded and question_text(message.content, bot_id)):
        return None  # without the message-content intent, thread messages arrive empty: nothing to answer
    if not addressed and not await core.has_conversation(key):
        return None  # someone else's thread
    if not await core.claim_event(f"discord:message:{message.id}"):
        return None  # a replayed event (e.g. after a gateway resume) we already answered
    return question_from_message(message, bot_id, key if threaded else provisional_key(message.id))


async def _open_thread(core: Citewise, channel: Any, message_id: int, question: str, provisional: str) -> None:
    """Open the follow-up thread on the answer and re-key the conversation to it.

    Discord gives a thread started on a message that message's id, so the
    conversation is re-keyed *before* the thread exists: a follow-up posted the
    instant the thread appears already finds its context. The thread goes through
    the (cached) channel: a follow-up sent through the interaction webhook comes back
    without the guild a thread needs. The answer is already visible, so a failure
    here (no permission, a DM) is logged, not apologised for; follow-ups then start
    a fresh conversation.
    """
    expected = conversation_key(message_id)
    await core.move_conversation(provisional, expected)
    try:
        message = channel.get_partial_message(message_id)
        thread = await message.create_thread(name=thread_name(question), auto_archive_duration=_THREAD_ARCHIVE_MINUTES)
    except (discord.HTTPException, ValueError, AttributeError) as exc:
        logger.warning("could not open a thread on message %s: %s", message_id, exc)
        return
    if thread.id != message_id:  # not what Discord documents, but keep the context if it ever happens
        await core.move_conversation(expected, conversation_key(thread.id))
