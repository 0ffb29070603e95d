"""Growing the team's store from Discord: `/paper add|search` and files shared with a mention.

The verbs live in `bot.papers`; this module downloads attachments (checking type and
size first, so a 2 GB video is never fetched), runs the `PaperService`, and posts its
reply. Additions are public, since the store is shared and the team should see what
landed; searches answer only the asker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord

from adapters.discord.render import render_paper_reply
from adapters.discord.replies import NO_PINGS, apologize, apologize_in_channel
from bot.messages import new_reference
from bot.models import PaperReply, UploadedFile
from bot.papers import PaperService
from bot.router import AddPapers, Search
from bot.uploads import upload_refusal

__all__ = [
    "paper_add",
    "paper_search",
    "reply_to_message",
    "read_attachments",
    "discord_user",
]

logger = logging.getLogger(__name__)


def discord_user(user_id: int) -> str:
    """Who added a paper, as the store records it."""
    return f"discord:{user_id}"


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


async def _grow_store(service: PaperService, user: str, command: str,
                      attachments: Sequence[discord.Attachment]) -> PaperReply:
    """What was added, already there, refused."""
    uploads, problems = await read_attachments(attachments)
    return await service.add_shared(command, user, uploads, problems, shared=bool(attachments))


async def paper_add(
    service: PaperService, interaction: discord.Interaction[Any], refs: str | None, file: discord.Attachment | None
) -> None:
    """`/paper add`: public "thinking…", then what was added, for the whole channel to see."""
    await interaction.response.defer(thinking=True)
    try:
        command = f"add {refs}" if refs and refs.strip() else ("" if file else "add")  # bare "add": usage
        reply = await _grow_store(service, discord_user(interaction.user.id), command, [file] if file else [])
        await interaction.followup.send(render_paper_reply(reply), allowed_mentions=NO_PINGS)
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        reference = new_reference()
        logger.exception("discord /paper add failed interaction=%s reference=%s", interaction.id, reference)
        await apologize(interaction, reference, discard_placeholder=True)


async def paper_search(service: PaperService, interaction: discord.Interaction[Any], query: str) -> None:
    """`/paper search`: the store's best matches, only for the asker."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        reply = await service.paper_search(query)
        await interaction.followup.send(render_paper_reply(reply), ephemeral=True, allowed_mentions=NO_PINGS)
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        reference = new_reference()
        logger.exception("discord /paper search failed interaction=%s reference=%s", interaction.id, reference)
        await apologize(interaction, reference, discard_placeholder=True)


async def reply_to_message(service: PaperService, message: discord.Message, decision: AddPapers | Search) -> None:
    """A mention that adds papers (files, `paper add …`) or searches them (`paper search …`)."""
    try:
        async with message.channel.typing():
            if isinstance(decision, Search):
                reply = await service.paper_search(decision.query)
            else:
                reply = await _grow_store(service, decision.added_by, decision.command, message.attachments)
        await message.channel.send(render_paper_reply(reply), reference=message, mention_author=False,
                                   allowed_mentions=NO_PINGS)
    except Exception:  # noqa: BLE001 - one catch-all per adapter edge
        reference = new_reference()
        logger.exception("discord paper message %s failed reference=%s", message.id, reference)
        await apologize_in_channel(message, reference)
