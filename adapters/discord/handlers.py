"""What Citewise does for `/ask`, `/search`, a mention, and a message in one of its threads.

`bot.router` decides what a message asks for; adding papers (and `/paper`) lives in
`papers`. Every entry point acknowledges first (a deferred "thinking…" or the typing
indicator), then asks the core, then renders; each has one catch-all that logs with
the question id and leaves the user a short apology carrying it.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from adapters.discord import papers
from adapters.discord.drafts import deferred_drafts
from adapters.discord.inbound import PLATFORM, conversation_key, in_thread, to_inbound
from adapters.discord.render import Reply, render_answer, render_hits, thread_name
from adapters.discord.replies import NO_PINGS, apologize, apologize_in_channel
from adapters.discord.views import answer_view
from bot.core import Citewise
from bot.messages import new_reference
from bot.models import Question
from bot.papers import PaperService
from bot.router import Ask, Ignore, Router

__all__ = ["ask", "search", "handle_message", "SEARCH_RESULTS"]

logger = logging.getLogger(__name__)

SEARCH_RESULTS = 10
_THREAD_ARCHIVE_MINUTES = 1440


def _payload(reply: Reply) -> dict[str, Any]:
    return {"content": reply.content or None, "embeds": reply.embeds, "allowed_mentions": NO_PINGS}


async def ask(core: Citewise, router: Router, interaction: discord.Interaction[Any], text: str) -> None:
    """`/ask`: defer at once, answer as the follow-up, open a thread on it (unless already in one)."""
    await interaction.response.defer(thinking=True)
    threaded = in_thread(interaction.channel)
    reference = str(interaction.id)
    try:
        routed = await router.ask(
            platform=PLATFORM, text=" ".join(text.split()), user=str(interaction.user.id),
            conversation_key=conversation_key(interaction.channel_id or 0) if threaded else None,
            message_id=str(interaction.id),
        )
        question = routed.question
        reference = question.id
        drafts = deferred_drafts(interaction) if core.writer is not None else None
        answer = await core.answer(question, on_draft=drafts)
        if drafts is not None and drafts.sent:  # the deferred reply shows a draft: the verified answer replaces it
            message: Any = await interaction.edit_original_response(
                **_payload(render_answer(answer)), view=answer_view(answer))
        else:
            message = await interaction.followup.send(
                **_payload(render_answer(answer)), view=answer_view(answer), wait=True
            )
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord /ask failed question=%s", reference)
        await apologize(interaction, reference, discard_placeholder=True)
        return
    if not threaded:
        await _open_thread(router, interaction.channel, message.id, question)


async def search(core: Citewise, interaction: discord.Interaction[Any], query: str) -> None:
    """`/search`: the best-matching papers, like a search page."""
    await interaction.response.defer(thinking=True)
    try:
        hits = await core.search(query, k=SEARCH_RESULTS)
        await interaction.followup.send(**_payload(render_hits(query, hits)))
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        reference = new_reference()
        logger.exception("discord /search failed interaction=%s reference=%s", interaction.id, reference)
        await apologize(interaction, reference, discard_placeholder=True)


async def handle_message(core: Citewise, service: PaperService, router: Router, message: discord.Message,
                         bot_id: int) -> None:
    """A mention works like `/ask` (or, with files or `paper …`, adds papers); a message in a Citewise thread is a follow-up."""
    try:
        decision = await router.route(to_inbound(message, bot_id))
    except Exception:  # noqa: BLE001 - e.g. the store is unavailable: log, stay quiet in chat
        logger.exception("discord message %s could not be considered", message.id)
        return
    if isinstance(decision, Ignore):
        return
    if not isinstance(decision, Ask):
        await papers.reply_to_message(service, message, decision)
        return
    question = decision.question
    threaded = in_thread(message.channel)
    try:
        async with message.channel.typing():
            answer = await core.answer(question)
        sent = await message.channel.send(
            **_payload(render_answer(answer)), view=answer_view(answer),
            # discord.py's overloads leave out the None its send() accepts (and treats as no reply)
            reference=None if threaded else message, mention_author=False,  # type: ignore[arg-type]
        )
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord message answer failed question=%s", question.id)
        await apologize_in_channel(message, question.id)
        return
    if not threaded:
        await _open_thread(router, message.channel, sent.id, question)


async def _open_thread(router: Router, channel: Any, message_id: int, question: Question) -> None:
    """Open the follow-up thread on the answer, and continue the conversation there.

    Discord gives a thread started on a message that message's id, so the router
    learns the thread's key *before* the thread exists: a follow-up posted the
    instant the thread appears already finds its context. The thread goes through
    the (cached) channel: a follow-up sent through the interaction webhook comes back
    without the guild a thread needs. The answer is already visible, so a failure
    here (no permission, a DM) is logged, not apologised for; follow-ups then start
    a fresh conversation.
    """
    expected = conversation_key(message_id)
    await router.continue_at(question, expected)
    try:
        message = channel.get_partial_message(message_id)
        thread = await message.create_thread(name=thread_name(question.text), auto_archive_duration=_THREAD_ARCHIVE_MINUTES)
    except (discord.HTTPException, ValueError, AttributeError) as exc:
        logger.warning("could not open a thread on message %s: %s", message_id, exc)
        return
    if thread.id != message_id:  # not what Discord documents, but keep the context if it ever happens
        await router.continue_at(question, conversation_key(thread.id))
