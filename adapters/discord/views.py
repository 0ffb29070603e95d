"""Persistent buttons under an answer: Sources (N), 👍, 👎.

Each button is a `DynamicItem` whose `custom_id` carries the answer id, and each
press reads the answer back from the store, so buttons on old messages keep
working after a restart without re-registering a view per message.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord import inbound
from adapters.discord.render import render_answer
from adapters.discord.replies import NO_PINGS, apologize
from bot.messages import ANSWER_GONE, new_reference
from bot.models import Answer
from knowledge.tenancy import team_scope

if TYPE_CHECKING:
    from bot.core import Citewise

__all__ = ["SourcesButton", "FeedbackButton", "answer_view", "CUSTOM_ID_LIMIT"]

logger = logging.getLogger(__name__)

CUSTOM_ID_LIMIT = 100
_ID = r"(?P<answer_id>[A-Za-z0-9_-]{1,64})"  # keeps every custom_id well under 100 characters
_ID_PATTERN = re.compile(_ID)
_THANKS = {"up": "Thanks, noted your 👍.", "down": "Thanks, noted your 👎. Follow up in the thread to say what was off."}


def _core(interaction: discord.Interaction[Any]) -> Citewise:
    """The core hangs off the client (`CitewiseClient.core`); buttons are built without it."""
    return interaction.client.core  # type: ignore[no-any-return]


class SourcesButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"citewise:src:{_ID}"):
    """Shows the source embed, or hides it when it is already shown."""

    def __init__(self, answer_id: str, count: int = 0, *, shown: bool = False) -> None:
        self.answer_id = answer_id
        label = f"Hide sources ({count})" if shown else f"Sources ({count})"
        style = discord.ButtonStyle.primary if shown else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"citewise:src:{answer_id}"))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Any, /
    ) -> SourcesButton:
        return cls(match["answer_id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            with team_scope(inbound.team_of(interaction)):
                answer = await _core(interaction).stored_answer(self.answer_id)
            if answer is None:
                await interaction.response.send_message(ANSWER_GONE, ephemeral=True, allowed_mentions=NO_PINGS)
                return
            # The message itself says whether sources are showing: no state to lose on restart.
            show = not (interaction.message is not None and interaction.message.embeds)
            reply = render_answer(answer, show_sources=show)
            await interaction.response.edit_message(
                content=reply.content, embeds=reply.embeds, view=answer_view(answer, shown=show),
                allowed_mentions=NO_PINGS,
            )
        except Exception:  # noqa: BLE001 - one catch-all per adapter edge
            reference = new_reference()
            logger.exception("sources button failed answer=%s reference=%s", self.answer_id, reference)
            await apologize(interaction, reference)


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"citewise:fb:{_ID}:(?P<value>up|down)"):
    """Records a 👍 or 👎 for the answer (one vote per user; a second press replaces it)."""

    def __init__(self, answer_id: str, value: str) -> None:
        self.answer_id, self.value = answer_id, value
        emoji = "👍" if value == "up" else "👎"
        super().__init__(
            discord.ui.Button(
                emoji=emoji, style=discord.ButtonStyle.secondary, custom_id=f"citewise:fb:{answer_id}:{value}"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Any, /
    ) -> FeedbackButton:
        return cls(match["answer_id"], match["value"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            with team_scope(inbound.team_of(interaction)):
                await _core(interaction).record_feedback(self.answer_id, str(interaction.user.id), self.value,
                                                         "discord")
            await interaction.response.send_message(_THANKS[self.value], ephemeral=True, allowed_mentions=NO_PINGS)
        except Exception:  # noqa: BLE001 - one catch-all per adapter edge
            reference = new_reference()
            logger.exception("feedback button failed answer=%s reference=%s", self.answer_id, reference)
            await apologize(interaction, reference)


def answer_view(answer: Answer, *, shown: bool = False) -> discord.ui.View:
    """Buttons for one answer; none when its id cannot fit a custom_id (the answer still shows)."""
    view = discord.ui.View(timeout=None)
    if not _ID_PATTERN.fullmatch(answer.id):
        logger.warning("answer %s: id does not fit a custom_id; sending it without buttons", answer.id)
        return view
    if answer.sources_cited:
        view.add_item(SourcesButton(answer.id, answer.sources_cited, shown=shown))
    view.add_item(FeedbackButton(answer.id, "up"))
    view.add_item(FeedbackButton(answer.id, "down"))
    # Presses reach the registered DynamicItems; a live view per message would only pile up in memory.
    view.stop()
    return view
