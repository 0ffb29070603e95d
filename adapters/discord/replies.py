"""Etiquette every reply follows: no pings, and a short apology (with its reference id) instead of a traceback."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.messages import apology

__all__ = ["NO_PINGS", "apologize", "apologize_in_channel"]

logger = logging.getLogger(__name__)

# Paper titles or questions may contain "@everyone" or a role id; nothing the bot sends may ping.
NO_PINGS = discord.AllowedMentions.none()


async def apologize(interaction: discord.Interaction[Any], reference: str, *, discard_placeholder: bool = False) -> None:
    """A short ephemeral apology; best effort, since Discord may be what is failing.

    `discard_placeholder` removes a public "thinking…" message that no answer replaced;
    only the caller knows whether that is what the original response still is.
    """
    text = apology(reference)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        if discard_placeholder:
            # Else the first follow-up would replace "thinking…" publicly, not ephemerally.
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                pass  # already gone: the apology simply becomes a new message
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        logger.warning("could not send the apology for interaction %s", interaction.id)


async def apologize_in_channel(message: discord.Message, reference: str) -> None:
    """The apology for a message the bot failed to handle; best effort, like `apologize`."""
    try:
        await message.channel.send(apology(reference), allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        logger.warning("could not send the apology for message %s", message.id)
