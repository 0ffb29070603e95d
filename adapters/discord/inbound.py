"""Discord messages → the router's `InboundMessage`, and the conversation keys they belong to.

A conversation continues in a Discord channel: the thread a message was posted in, or
the thread opened on the answer (whose key the adapter gives `Router.continue_at`
once it exists; Discord names a thread on a message by that message's id).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.models import InboundFile, InboundMessage

__all__ = [
    "team_of",
    "PLATFORM",
    "conversation_key",
    "in_thread",
    "mentions_bot",
    "question_text",
    "to_inbound",
]

logger = logging.getLogger(__name__)

PLATFORM = "discord"
_THREAD_TYPES = {discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread}


def team_of(source: Any) -> str:
    """The guild an interaction or message came from, as the team its work runs for ('' in DMs)."""
    guild_id = getattr(source, "guild_id", None)
    if guild_id is None:
        guild = getattr(source, "guild", None)
        guild_id = getattr(guild, "id", None)
    return "" if guild_id is None else str(guild_id)


def conversation_key(channel_id: int) -> str:
    """The conversation that follow-ups in this thread (channel) continue."""
    return f"{PLATFORM}:{channel_id}"


def in_thread(channel: Any) -> bool:
    """True for threads, including partial channels built from an interaction payload."""
    return isinstance(channel, discord.Thread) or getattr(channel, "type", None) in _THREAD_TYPES


def mentions_bot(message: discord.Message, bot_id: int) -> bool:
    """Direct mentions only: @everyone and role mentions are not questions for the bot."""
    return any(user.id == bot_id for user in message.mentions)


def question_text(content: str, bot_id: int) -> str:
    """The message text without the bot's own mention, whitespace collapsed."""
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())


def to_inbound(message: discord.Message, bot_id: int) -> InboundMessage:
    """A message as the router reads it; outside a thread its conversation opens with the reply."""
    threaded = in_thread(message.channel)
    guild = getattr(message, "guild", None)
    return InboundMessage(
        platform=PLATFORM,
        text=question_text(message.content, bot_id),
        user=str(message.author.id),
        team=str(guild.id) if guild is not None else "",
        conversation_key=conversation_key(message.channel.id) if threaded else None,
        in_thread=threaded,
        mentioned=mentions_bot(message, bot_id),
        from_self=message.author.id == bot_id,
        from_bot=message.author.bot,
        files=[InboundFile(name=a.filename, size=a.size) for a in message.attachments],
        message_id=str(message.id),
    )
