"""Growing the team's store from Discord: `/paper add|search` and files shared with a mention.

The verbs live in `bot.library`; this module downloads attachments (checking type and
size first, so a 2 GB video is never fetched), runs the `Library`, and posts its text.
Additions are public, since the store is shared and the team should see what landed;
searches answer only the asker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord

from adapters.discord.inbound import question_text
from adapters.discord.render import render_paper_reply
from adapters.discord.replies import NO_PINGS, apologize, apologize_in_channel
from bot.core import Citewise
from bot.library import Library, UploadedFile, is_for_the_store, paper_command_in, upload_refusal

__all__ = [
    "paper_add",
    "paper_search",
    "paper_command",
    "add_from_message",
    "read_attachments",
    "discord_user",
]

logger = logging.getLogger(__name__)


def discord_user(user_id: int) -> str:
    """Who added a paper, as the store records it."""
    return f"discord:{user_id}"


def paper_command(content: str, bot_id: int) -> str | None:
    """The `paper …` command in a mention ("@Citewise paper add 10.1000/x"), or None."""
    return paper_command_in(question_text(content, bot_id))


async def read_attachments(
    attachments: Sequence[discord.Attachment],
) -> tuple[list[UploadedFile], list[str]]:
    """The paper files' bytes, and one line per attachment that was refused or not fetched."""
    uploads: list[UploadedFile] = []
    problems: list[str] = []
    for attachment in attachments:
        refusal = upload_refusal(attachment.filename, attachment.size)
        if refusal is None:
            try:
                data = await attachment.read()
            except (discord.HTTPException, aiohttp.ClientError) as exc:  # Discord's CDN, not Citewise, failed
                logger.warning("discord attachment %s download failed: %s", attachment.id, exc)
                refusal = f"{attachment.filename}: the download failed"
            else:
                refusal = upload_refusal(attachment.filename, len(data))  # the size Discord announced may be wrong
        if refusal is None:
            uploads.append(UploadedFile(filename=attachment.filename, data=data))
        else:
            problems.append(refusal)
    return uploads, problems


async def _grow_store(library: Library, user: str, command: str, attachments: Sequence[discord.Attachment]) -> str:
    """The reply's plain text: what was added, already there, refused."""
    uploads, problems = await read_attachments(attachments)
    return await library.add_shared(command, user, uploads, problems, shared=bool(attachments))


async def paper_add(
    library: Library, interaction: discord.Interaction[Any], refs: str | None, file: discord.Attachment | None
) -> None:
    """`/paper add`: public "thinking…", then what was added, for the whole channel to see."""
    await interaction.response.defer(thinking=True)
    try:
        command = f"add {refs}" if refs and refs.strip() else ("" if file else "add")  # bare "add": usage
        text = await _grow_store(library, discord_user(interaction.user.id), command, [file] if file else [])
        await interaction.followup.send(render_paper_reply(text), allowed_mentions=NO_PINGS)
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord /paper add failed interaction=%s", interaction.id)
        await apologize(interaction, discard_placeholder=True)


async def paper_search(library: Library, interaction: discord.Interaction[Any], query: str) -> None:
    """`/paper search`: the store's best matches, only for the asker."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        reply = await library.paper_search(query)
        await interaction.followup.send(render_paper_reply(reply.text), ephemeral=True, allowed_mentions=NO_PINGS)
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord /paper search failed interaction=%s", interaction.id)
        await apologize(interaction, discard_placeholder=True)


async def add_from_message(core: Citewise, library: Library, message: discord.Message, bot_id: int) -> bool:
    """Paper files (or a `paper …` command) in a mention add papers; False when the message is not that."""
    command = paper_command(message.content, bot_id)
    names = [a.filename for a in message.attachments]
    if not is_for_the_store(command, names, question_text(message.content, bot_id)):
        return False
    if not await core.claim_event(f"discord:message:{message.id}"):
        return True  # a replayed event (e.g. after a gateway resume) we already handled
    try:
        async with message.channel.typing():
            text = await _grow_store(library, discord_user(message.author.id), command or "", message.attachments)
        await message.channel.send(render_paper_reply(text), reference=message, mention_author=False,
                                   allowed_mentions=NO_PINGS)
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        logger.exception("discord paper message %s failed", message.id)
        await apologize_in_channel(message)
    return True
