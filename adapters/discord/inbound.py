"""Discord interactions and messages → `Question`s, and the conversation keys they belong to.

A conversation is keyed by the Discord channel it continues in: the thread opened on
the answer. Until that thread exists the answer's conversation has a provisional key,
which the core re-keys (`move_conversation`) once the thread is created.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.models import Question

__all__ = [
    "PLATFORM",
    "conversation_key",
    "provisional_key",
    "in_thread",
    "mentions_bot",
    "question_text",
    "question_from_interaction",
    "question_from_message",
]

logger = logging.getLogger(__name__)

PLATFORM = "discord"
_THREAD_TYPES = {discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread}


def conversation_key(channel_id: int) -> str:
    """The conversation that follow-ups in this thread (channel) continue."""
    return f"{PLATFORM}:{channel_id}"


def provisional_key(event_id: int) -> str:
    """Where an answer's conversation lives until its thread exists."""
    return f"{PLATFORM}:pending:{event_id}"


def in_thread(channel: Any) -> bool:
    """True for threads, including partial channels built from an interaction payload."""
    return isinstance(channel, discord.Thread) or getattr(channel, "type", None) in _THREAD_TYPES


def mentions_bot(message: discord.Message, bot_id: int) -> bool:
    """Direct mentions only: @everyone and role mentions are not questions for the bot."""
    return any(user.id == bot_id for user in message.mentions)


def question_text(content: str, bot_id: int) -> str:
    """The message text without the bot's own mention, whitespace collapsed."""
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())


def question_from_interaction(interaction: discord.Interaction[Any], text: str, conversation_id: str) -> Question:
    return Question(
        text=" ".join(text.split()),
        conversation_id=conversation_id,
        user_id=str(interaction.user.id),
        platform=PLATFORM,
    )


def question_from_message(message: discord.Message, bot_id: int, conversation_id: str) -> Question:
    return Question(
        text=question_text(message.content, bot_id),
        conversation_id=conversation_id,
        user_id=str(message.author.id),
        platform=PLATFORM,
    )
